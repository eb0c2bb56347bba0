"""Labels: QR codes (PNG, SVG), the CSV print file, and a PDF label sheet.

Every QR code holds the item's GS1 Digital Link URI, with error correction level M and
the four-module quiet zone ISO/IEC 18004 asks for. Tests decode each format back with
zxing-cpp.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date

import qrcode
from fpdf import FPDF
from PIL import Image

from trace_api.codes.gs1 import item_uri

QUIET_ZONE = 4


@dataclass(frozen=True)
class Label:
    """What goes on one item's label."""

    gtin: str
    lot: str
    serial: str
    expiry: date | None
    uri: str

    @property
    def hri(self) -> str:
        """The human-readable interpretation under the symbol: ``(01)...(10)...(21)...``."""
        return f"(01){self.gtin}(10){self.lot}(21){self.serial}"


def label(base: str, gtin: str, lot: str, serial: str, expiry: date | None) -> Label:
    """The label of one code under the public base URL."""
    return Label(gtin, lot, serial, expiry, item_uri(base, gtin, lot, serial))


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


# A4 portrait, 3 columns x 7 rows of 70 x 42.3 mm labels (a common sticker sheet).
_COLUMNS, _ROWS = 3, 7
_LABEL_W, _LABEL_H = 70.0, 297.0 / 7


def pdf_sheet(labels: list[Label], title: str) -> bytes:
    """A PDF sheet of labels: QR code and human-readable text on each."""
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_title(title)
    pdf.set_creator("tracechain")
    per_page = _COLUMNS * _ROWS
    for at, item in enumerate(labels):
        if at % per_page == 0:
            pdf.add_page()
        column, row = at % _COLUMNS, (at % per_page) // _COLUMNS
        x, y = column * _LABEL_W, row * _LABEL_H
        side = 30.0
        png = io.BytesIO(qr_png(item.uri, scale=6))
        pdf.image(png, x=x + 3, y=y + 3, w=side, h=side)
        pdf.set_font("Helvetica", size=6.5)
        text_x, text_w = x + side + 5, _LABEL_W - side - 6
        lines = [f"(01) {item.gtin}", f"(10) {item.lot}", f"(21) {item.serial}"]
        if item.expiry:
            lines.append(f"(17) {item.expiry.strftime('%y%m%d')}")
        for n, line in enumerate(lines):
            pdf.set_xy(text_x, y + 8 + n * 4)
            pdf.cell(text_w, 4, line)
    return bytes(pdf.output())
