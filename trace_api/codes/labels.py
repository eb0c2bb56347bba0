"""Labels: QR codes (PNG, SVG), the CSV print file, and PDF labels on A4 sheets or rolls.

Every QR code holds the item's GS1 Digital Link URI, with error correction level M and
the four-module quiet zone ISO/IEC 18004 asks for. Tests decode each format back with
zxing-cpp. What a PDF label holds and where is `label_stock`'s; the CJK font it needs is
found here.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import qrcode
from fontTools.ttLib import TTCollection, TTFont, TTLibError  # type: ignore[import-untyped]
from fpdf import FPDF
from PIL import Image

from trace_api.codes import label_stock
from trace_api.codes.gs1 import item_uri
from trace_api.errors import ServiceError

QUIET_ZONE = 4


@dataclass(frozen=True)
class Label:
    """What goes on one item's label."""

    gtin: str
    lot: str
    serial: str
    expiry: date | None
    uri: str
    product: str = ""  # the product's name, as the brand gave it
    has_pin: bool = False  # a scratch-off PIN goes on this label

    @property
    def hri_elements(self) -> tuple[str, str, str]:
        """The element strings the QR code's URI holds, each ``(AI)value``."""
        return f"(01){self.gtin}", f"(10){self.lot}", f"(21){self.serial}"

    @property
    def hri(self) -> str:
        """The human-readable interpretation under the symbol: ``(01)...(10)...(21)...``."""
        return "".join(self.hri_elements)


def label(
    base: str,
    gtin: str,
    lot: str,
    serial: str,
    expiry: date | None,
    *,
    product: str = "",
    has_pin: bool = False,
) -> Label:
    """The label of one code under the public base URL."""
    uri = item_uri(base, gtin, lot, serial)
    return Label(gtin, lot, serial, expiry, uri, product=product, has_pin=has_pin)


def qr_matrix(text: str) -> list[list[bool]]:
    """The QR modules of ``text`` (error correction M), quiet zone included."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=QUIET_ZONE)
    code.add_data(text)
    code.make(fit=True)
    return [list(row) for row in code.get_matrix()]


def qr_image(text: str, scale: int = 8) -> Image.Image:
    """The QR code as a black-and-white image, ``scale`` pixels per module."""
    matrix = qr_matrix(text)
    size = len(matrix)
    image = Image.new("1", (size, size), 1)
    image.putdata([0 if dark else 1 for row in matrix for dark in row])
    return image.resize((size * scale, size * scale), Image.Resampling.NEAREST)


def qr_png(text: str, scale: int = 8) -> bytes:
    """The QR code as a PNG."""
    out = io.BytesIO()
    qr_image(text, scale).save(out, format="PNG", optimize=True)
    return out.getvalue()


def qr_svg(text: str, size_px: int = 264) -> str:
    """The QR code as a standalone SVG: one path, one unit per module."""
    matrix = qr_matrix(text)
    n = len(matrix)
    path = "".join(
        f"M{x},{y}h1v1h-1z" for y, row in enumerate(matrix) for x, dark in enumerate(row) if dark
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size_px}" height="{size_px}" '
        f'viewBox="0 0 {n} {n}" shape-rendering="crispEdges">'
        f'<rect width="{n}" height="{n}" fill="#fff"/>'
        f'<path d="{path}" fill="#000"/></svg>\n'
    )


CSV_HEADER = ("gtin", "lot", "serial", "expiry", "uri", "hri")


def csv_lines(labels: Iterable[Label]) -> Iterator[str]:
    """The print file for industrial printers, line by line (header first)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    yield out.getvalue()
    for item in labels:
        out.seek(0)
        out.truncate()
        expiry = item.expiry.isoformat() if item.expiry else ""
        writer.writerow((item.gtin, item.lot, item.serial, expiry, item.uri, item.hri))
        yield out.getvalue()


class LabelFontMissing(ServiceError):
    """No font with Chinese glyphs is installed, so no PDF label can be printed."""

    status = 503
    slug = "label-font-missing"
    title = "No CJK font for labels"


# Where the CJK font is looked for, in order; then among fontconfig's fonts for Chinese.
CJK_FONT_FILES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # Debian, Ubuntu: fonts-noto-cjk
    "/usr/share/fonts/google-noto-sans-cjk-fonts/NotoSansCJK-Regular.ttc",  # Fedora
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",  # Arch: noto-fonts-cjk
    "/usr/share/fonts/noto/NotoSansCJK-Regular.ttc",  # Alpine: font-noto-cjk
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # Debian, Ubuntu: fonts-wqy-microhei
)
_MUST_HAVE = "扫码验真刮开涂层证…"  # every label prints these


@dataclass(frozen=True)
class CjkFont:
    """A font file, and the face in it when it is a collection."""

    path: str
    index: int


def pdf_labels(labels: Sequence[Label], stock: label_stock.Stock, title: str) -> bytes:
    """The labels as a PDF on ``stock``: one page per sheet, or per label on a roll."""
    font = cjk_font()
    pdf = FPDF(orientation="P", unit="mm", format=stock.page)
    pdf.set_auto_page_break(False)
    pdf.set_title(title)
    pdf.set_creator("tracechain")
    pdf.add_font(label_stock.CJK, fname=font.path, collection_font_number=font.index)
    slots = stock.slots()
    for at, item in enumerate(labels):
        if at % len(slots) == 0:
            pdf.add_page()
        matrix = qr_matrix(item.uri)[QUIET_ZONE:-QUIET_ZONE]
        symbol = [row[QUIET_ZONE:-QUIET_ZONE] for row in matrix]  # label_stock keeps it clear
        text = label_stock.LabelText(
            product=item.product,
            hri=item.hri_elements,
            expiry=item.expiry.isoformat() if item.expiry else None,
            has_pin=item.has_pin,
        )
        label_stock.draw_label(pdf, stock, slots[at % len(slots)], symbol, text)
    return bytes(pdf.output())


@lru_cache(maxsize=1)  # a miss raises, and is looked for again on the next call
def cjk_font() -> CjkFont:
    """The first CJK font of `CJK_FONT_FILES`, else of fontconfig; LabelFontMissing if none."""
    for path in CJK_FONT_FILES:
        found = _face(path, None)
        if found:
            return found
    for path, index in _fontconfig_chinese():
        found = _face(path, index)
        if found:
            return found
    raise LabelFontMissing(
        "PDF labels need a font with Chinese glyphs and none is installed "
        f"(looked at {', '.join(CJK_FONT_FILES)} and fontconfig's fonts for zh-cn): "
        "install fonts-noto-cjk"
    )


def _face(path: str, index: int | None) -> CjkFont | None:
    """The face of ``path`` that prints every label's characters, Simplified Chinese first."""
    if not Path(path).is_file():
        return None
    try:
        if index is None and path.lower().endswith((".ttc", ".otc")):
            with TTCollection(path, lazy=True) as collection:
                names = [str(face["name"].getDebugName(1)) for face in collection.fonts]
                faces = [i for i, face in enumerate(collection.fonts) if _covers(face)]
            # Collections hold a face per region (JP, KR, SC, TC, HK): pick the SC one.
            faces.sort(key=lambda i: ("Mono" in names[i], not names[i].endswith(" SC")))
            return CjkFont(path, faces[0]) if faces else None
        with TTFont(path, fontNumber=index or 0, lazy=True) as font:
            return CjkFont(path, index or 0) if _covers(font) else None
    except (OSError, TTLibError, KeyError):
        return None


def _covers(font: TTFont) -> bool:
    cmap = font.getBestCmap() or {}
    return all(ord(char) in cmap for char in _MUST_HAVE)


def _fontconfig_chinese() -> list[tuple[str, int]]:
    """Fontconfig's fonts for Chinese, sans-serif first; none when fontconfig is absent."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return []
    try:
        listed = subprocess.run(  # noqa: S603 (a fixed argument list, no shell)
            [fc_list, ":lang=zh-cn", "--format", "%{file}\t%{index}\n"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    faces = [
        (path, int(index))
        for path, _, index in (line.partition("\t") for line in listed.splitlines())
        if index.isdigit()
    ]
    return sorted(faces, key=lambda face: ("Sans" not in face[0], face))
