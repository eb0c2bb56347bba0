"""Labels: QR codes (PNG, SVG), the CSV print file, and PDF labels on A4 sheets or rolls.

Every QR code holds the item's GS1 Digital Link URI, with error correction level M and
the four-module quiet zone ISO/IEC 18004 asks for. Tests decode each format back with
zxing-cpp. What a PDF label holds and where is `label_stock`'s; the CJK font it needs
and the QR modules are `compliance.printing`'s.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from fpdf import FPDF
from PIL import Image

from compliance.printing import QUIET_ZONE, CjkFace, CjkFontMissing, cjk_fonts, qr_matrix
from trace_api.codes import label_stock
from trace_api.codes.gs1 import item_uri
from trace_api.errors import ServiceError


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


def pdf_labels(labels: Sequence[Label], stock: label_stock.Stock, title: str) -> bytes:
    """The labels as a PDF on ``stock``: one page per sheet, or per label on a roll."""
    font = cjk_font()
    pdf = FPDF(orientation="P", unit="mm", format=stock.page)
    pdf.set_auto_page_break(False)
    pdf.set_title(title)
    pdf.set_creator("tracechain")
    font.add_to(pdf, label_stock.CJK)
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


def cjk_font() -> CjkFace:
    """The labels' CJK face; LabelFontMissing (503) says what to install if there is none."""
    try:
        return cjk_fonts().regular
    except CjkFontMissing as missing:
        raise LabelFontMissing(str(missing)) from None
