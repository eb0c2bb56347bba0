"""The label stock we print on, and how one label is laid out on it.

A stock is the paper: an A4 sheet of die-cut stickers, or a thermal roll with one label per
PDF page at the label's exact size. Every label, whatever the stock, holds the same things
in the same places, inside the label's safe area (the label less its inner margin, which
absorbs the printer's registration error):

- the QR code at the top left, its four-module quiet zone clear of any other printing;
- beside it, the product name (shrunk, wrapped to two lines, then ellipsized: never past
  the label), the prompt 扫码验真 / Scan to verify, the expiry where there is room, and on a
  PIN batch a boxed field, 刮开涂层 验证码 / Scratch for PIN, where the scratch-off PIN goes
  (the PIN itself is only in pins.csv);
- under it, the GS1 human-readable interpretation of what the QR code holds, one element
  string ``(01)...``, ``(10)...``, ``(21)...`` after another, as many to a line as fit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from fpdf import FPDF

from compliance.printing import draw_qr

StockName = Literal["a4-3x7-63.5x38.1", "thermal-40x30", "thermal-50x30"]
DEFAULT_STOCK: StockName = "a4-3x7-63.5x38.1"
CJK = "cjk"  # the family name the PDF knows the CJK font by
_LATIN = "helvetica"  # PDF core font: nothing to embed; holds every GS1 set-82 character
_PT = 25.4 / 72  # mm per point
_QUIET_MODULES = 4  # ISO/IEC 18004
PROMPT = ("扫码验真", "Scan to verify")
PIN_CAPTION = ("刮开涂层 验证码", "Scratch for PIN")


@dataclass(frozen=True)
class Stock:
    """A label stock: the page, where its labels sit, and the label's type sizes (pt)."""

    name: StockName
    title: str
    page: tuple[float, float]  # mm, width x height
    label: tuple[float, float]
    grid: tuple[int, int]  # columns, rows
    origin: tuple[float, float]  # the first label's top left corner on the page
    pitch: tuple[float, float]  # from one label's corner to the next one's
    safe: float  # the label's inner margin, mm
    qr: float  # the QR symbol's side without its quiet zone, mm
    name_pt: tuple[float, float]  # nominal, smallest
    prompt_pt: tuple[float, float]  # Chinese, English
    small_pt: float  # expiry and PIN caption
    hri_pt: tuple[float, float]  # largest, smallest
    pin_box: tuple[float, float, float]  # widest, tallest, lowest, mm

    def slots(self) -> list[tuple[float, float]]:
        """Each label's top left corner on a page, row by row."""
        (columns, rows), (x, y), (dx, dy) = self.grid, self.origin, self.pitch
        return [(x + c * dx, y + r * dy) for r in range(rows) for c in range(columns)]


def _thermal(
    name: StockName,
    width: float,
    name_pt: tuple[float, float],
    prompt_pt: tuple[float, float],
    pin_box: tuple[float, float, float],
) -> Stock:
    return Stock(
        name=name,
        title=f"Thermal roll, {width:g} x 30 mm labels, one per page",
        page=(width, 30.0),
        label=(width, 30.0),
        grid=(1, 1),
        origin=(0.0, 0.0),
        pitch=(width, 30.0),
        safe=1.5,
        qr=18.0,
        name_pt=name_pt,
        prompt_pt=prompt_pt,
        small_pt=5.0,
        hri_pt=(6.0, 4.5),
        pin_box=pin_box,
    )


STOCKS: dict[StockName, Stock] = {
    s.name: s
    for s in (
        Stock(
            name="a4-3x7-63.5x38.1",
            title="A4 sheet, 21 labels of 63.5 x 38.1 mm (Avery L7160 / J8160 and equivalents)",
            page=(210.0, 297.0),
            label=(63.5, 38.1),
            grid=(3, 7),
            origin=(7.25, 15.15),  # the sheet's own margins: 7.25 mm sides, 15.15 mm top
            pitch=(66.04, 38.1),
            safe=3.0,
            qr=22.0,
            name_pt=(8.0, 6.0),
            prompt_pt=(8.5, 6.5),
            small_pt=6.0,
            hri_pt=(6.5, 5.0),
            pin_box=(26.0, 8.0, 5.0),
        ),
        _thermal("thermal-40x30", 40.0, (6.5, 5.0), (7.0, 5.0), (16.0, 6.0, 4.0)),
        _thermal("thermal-50x30", 50.0, (7.0, 5.0), (7.5, 5.5), (22.0, 6.0, 4.0)),
    )
}


@dataclass(frozen=True)
class LabelText:
    """What a label says besides its QR code."""

    product: str
    hri: Sequence[str]  # GS1 element strings, each "(AI)value"
    expiry: str | None
    has_pin: bool


@dataclass(frozen=True)
class _Run:
    text: str
    family: str
    pt: float


@dataclass(frozen=True)
class _Line:
    runs: tuple[_Run, ...]

    @property
    def height(self) -> float:  # mm; CJK and Latin both sit inside 1.1 em
        return max(r.pt for r in self.runs) * _PT * 1.1


def draw_label(
    pdf: FPDF, stock: Stock, corner: tuple[float, float], symbol: list[list[bool]], text: LabelText
) -> None:
    """Lay one label out with its top left corner at ``corner`` (mm on the current page)."""
    x, y = corner
    left, top = x + stock.safe, y + stock.safe
    right, bottom = x + stock.label[0] - stock.safe, y + stock.label[1] - stock.safe
    quiet = _QUIET_MODULES * stock.qr / len(symbol)
    qx, qy = x + max(stock.safe, quiet), y + max(stock.safe, quiet)
    draw_qr(pdf, symbol, qx, qy, stock.qr / len(symbol))
    below = qy + stock.qr + quiet
    _draw_hri(pdf, stock, text.hri, left, below, right - left, bottom - below)
    _draw_column(pdf, stock, text, qx + stock.qr + quiet, top, right, below)


def _draw_hri(
    pdf: FPDF, stock: Stock, elements: Sequence[str], x: float, y: float, w: float, h: float
) -> None:
    largest, smallest = stock.hri_pt
    pt = largest
    while True:
        lines = _pack(pdf, elements, pt, w)
        if _height(lines) <= h or pt <= smallest:
            break
        pt = max(smallest, pt - 0.25)
    for line in lines:
        _draw_line(pdf, line, x, y)
        y += line.height


def _pack(pdf: FPDF, elements: Sequence[str], pt: float, width: float) -> list[_Line]:
    """The element strings, as many to a line as fit (an element is never split)."""
    texts: list[str] = []
    for element in elements:
        if texts and _width(pdf, _Run(texts[-1] + element, _LATIN, pt)) <= width:
            texts[-1] += element
        else:
            texts.append(element)
    return [_fitted(pdf, (_Run(t, _LATIN, pt),), width) for t in texts]


def _draw_column(
    pdf: FPDF, stock: Stock, text: LabelText, x: float, top: float, right: float, bottom: float
) -> None:
    width, height, gap = right - x, bottom - top, 0.6
    prompt = _pair(pdf, PROMPT, stock.prompt_pt, width)
    expiry = [_fitted(pdf, (_Run(f"EXP {text.expiry}", CJK, stock.small_pt),), width)]
    caption = _pair(pdf, PIN_CAPTION, (stock.small_pt, stock.small_pt), width)
    box_w, box_h, box_min = stock.pin_box
    pin_h = _height(caption) + gap + box_min if text.has_pin else 0.0
    # What gives way when the column is short: first the expiry, then the name's second line.
    for name_lines, with_expiry in ((2, True), (2, False), (1, False)):
        blocks = [_name(pdf, text.product, stock.name_pt, width, name_lines), prompt]
        if with_expiry and text.expiry:
            blocks.append(expiry)
        if sum(_height(b) + gap for b in blocks) + pin_h <= height:
            break
    y = top
    for block in blocks:
        for line in block:
            _draw_line(pdf, line, x, y)
            y += line.height
        y += gap
    if not text.has_pin:
        return
    # The box takes what room is left below the caption, within the stock's bounds.
    box_h = min(box_h, max(box_min, bottom - y - _height(caption) - gap))
    y = bottom - box_h - gap - _height(caption)
    for line in caption:
        _draw_line(pdf, line, x, y)
        y += line.height
    pdf.set_draw_color(0)
    pdf.set_line_width(0.3)
    pdf.rect(x + 0.15, bottom - box_h + 0.15, min(box_w, width) - 0.3, box_h - 0.3)


def _height(lines: list[_Line]) -> float:
    return sum(line.height for line in lines)


def _pair(pdf: FPDF, texts: tuple[str, str], pts: tuple[float, float], width: float) -> list[_Line]:
    """Chinese and English on one line if they fit, else on two."""
    (zh, en), (zh_pt, en_pt) = texts, pts
    one = (_Run(zh + " ", CJK, zh_pt), _Run(en, CJK, en_pt))
    if sum(_width(pdf, r) for r in one) <= width:
        return [_Line(one)]
    return [
        _fitted(pdf, (_Run(zh, CJK, zh_pt),), width),
        _fitted(pdf, (_Run(en, CJK, en_pt),), width),
    ]


# A number and its unit stay together ("250 g"), as do the letters and digits of a word;
# every CJK character is a place to break.
_UNIT = re.compile(r"(?<=\d) (?=[A-Za-zµ%°℃‰]+\b|[克千毫升片粒袋盒瓶罐])")
_TOKENS = re.compile(r"[ \t]+|[^ \t\n\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]+|.")


def _name(pdf: FPDF, name: str, pts: tuple[float, float], width: float, lines: int) -> list[_Line]:
    if not name:
        return []
    nominal, smallest = pts
    pt = nominal
    while True:
        wrapped = _wrap(pdf, name, pt, width)
        if len(wrapped) <= lines or pt <= smallest:
            break
        pt = max(smallest, pt - 0.5)
    if len(wrapped) > lines:
        # The last line holds what the lines before it left, cut to fit with an ellipsis.
        joined, at = _UNIT.sub("\u00a0", name), 0
        for line in wrapped[: lines - 1]:
            at = joined.index(line, at) + len(line)
        wrapped = [*wrapped[: lines - 1], _ellipsized(pdf, joined[at:].strip(), pt, width)]
    return [_Line((_Run(t.replace("\u00a0", " "), CJK, pt),)) for t in wrapped]


def _wrap(pdf: FPDF, text: str, pt: float, width: float) -> list[str]:
    lines = [""]
    for token in _TOKENS.findall(_UNIT.sub("\u00a0", text)):
        candidate = lines[-1] + token
        if _width(pdf, _Run(candidate, CJK, pt)) <= width:
            lines[-1] = candidate
        elif token.isspace():
            lines.append("")
        else:
            if lines[-1].strip():
                lines.append("")
            for char in token:  # a token wider than the line is split where it must be
                if lines[-1] and _width(pdf, _Run(lines[-1] + char, CJK, pt)) > width:
                    lines.append("")
                lines[-1] += char
    return [line.strip() for line in lines if line.strip()]


def _ellipsized(pdf: FPDF, text: str, pt: float, width: float) -> str:
    while text and _width(pdf, _Run(text + "…", CJK, pt)) > width:
        text = text[:-1].rstrip()
    return text + "…"


def _fitted(pdf: FPDF, runs: tuple[_Run, ...], width: float) -> _Line:
    """The runs on one line, shrunk in proportion if they would pass ``width``."""
    used = sum(_width(pdf, r) for r in runs)
    if used <= width:
        return _Line(runs)
    scale = width / used * 0.98
    return _Line(tuple(_Run(r.text, r.family, r.pt * scale) for r in runs))


def _width(pdf: FPDF, run: _Run) -> float:
    pdf.set_font(run.family, size=run.pt)
    return float(pdf.get_string_width(run.text.replace("\u00a0", " ")))


def _draw_line(pdf: FPDF, line: _Line, x: float, top: float) -> None:
    # Both fonts' glyphs rise at most 0.88 em above the baseline (Noto CJK's ascender)
    # and fall at most 0.21 em below it (Helvetica's parentheses).
    baseline = top + max(r.pt for r in line.runs) * _PT * 0.88
    for run in line.runs:
        pdf.set_font(run.family, size=run.pt)
        pdf.text(x, baseline, run.text)
        x += _width(pdf, run)
