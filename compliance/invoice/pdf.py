"""An issued invoice as a printable PDF laid out like a 数电票 (全面数字化的电子发票).

Pure: an `Invoice` value in, PDF bytes out (no database). A4 landscape; every page has
the invoice's head: the QR code at the top left, the title 电子发票（增值税专用发票）or
电子发票（普通发票）(a red-letter invoice also a red 红字 mark; its figures are negative as
its lines are), 发票号码, 开票日期 (the Beijing date, UTC+8) and 第 n 页 / 共 N 页. The first
page names the buyer (购买方信息) and the seller (销售方信息): 名称 and 统一社会信用代码/
纳税人识别号, for a 专票 also 地址、电话 and 开户行及账号. Then the lines (项目名称, 规格型号,
单位, 数量, 单价, 金额, 税率/征收率, 税额), a discount line marked （折扣）, continue on more
pages with the table head repeated; then 合计 (金额, 税额), 价税合计（大写）in capitals
(`amount_in_words`) and （小写）¥, 备注 (for a red-letter invoice first the blue invoice it
reverses, 被红冲蓝字数电票号码, the reason and the 红字发票信息确认单编号 if any, then the
remark) and 开票人; with ``verify_url``, that URL in small print.

单价 is printed without tax, as the platform prints it: a price entered with tax is 金额 ÷
数量 (to 13 decimals, half up). 税额 of an exempt (免税) or non-taxable (不征税) line is ***.

The QR code holds the platform's comma-separated fields::

    01,<type>,,<number>,<total>,<date>,<check code>,

version ``01``; the type code, 31 for a 专票 and 32 for a 普票 (`TYPE_CODES`); the invoice
code, empty on a 数电票; the 20-digit number; 价税合计 with two decimals (``-128.50`` on a
red-letter invoice); the Beijing date as ``YYYYMMDD``; the check code; an empty last field.
e.g. ``01,31,,26332000000000000041,455.50,20261207,12345678901234567890,``.

Text is drawn in `compliance.printing`'s CJK font (`CjkFontMissing` when none is
installed) and is made printable first: NFC-normalised, control characters as spaces,
invisible format characters and combining marks the font lacks dropped, and any other
character the font lacks (an emoji, a script it does not cover) printed as U+FFFD or ``?``,
so no glyph is ever missing. Long text wraps; the parties' fields shrink (8.5 to 5.5 pt)
to fit the first page, and are cut (…) only if they still do not, as a table cell is at
`MAX_CELL_LINES` lines: both far beyond what the invoice rules allow. The remark flows
onto more pages. The output is deterministic: the PDF's
creation date is the invoice's issue time.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import cast

from fpdf import FPDF
from fpdf.enums import MethodReturnValue, WrapMode

from compliance.errors import InvalidInvoice
from compliance.invoice.document import KINDS, RED_REASONS, SPECIAL, TYPE_CODES, Invoice
from compliance.invoice.lines import Line
from compliance.invoice.money import QUANTITY_PLACES, money_text, plain
from compliance.invoice.words import amount_in_words
from compliance.printing import cjk_fonts, draw_qr, qr_matrix

__all__ = ["BEIJING", "MAX_CELL_LINES", "invoice_pdf", "qr_text"]

BEIJING = timezone(timedelta(hours=8))
MAX_CELL_LINES = 12  # a table cell's lines at most (the rules allow about 4)
QR_VERSION = "01"
_CHECK_CODE = re.compile(r"[!-+\--~]{0,64}")  # printable ASCII without a comma or space

_FAMILY = "cjk"
_BROWN = (140, 60, 30)  # the title, frames and labels, as the platform prints them
_RED = (200, 0, 0)
_LEFT, _TOP, _BOTTOM = 12.0, 10.0, 12.0
_QR_SIZE = 26.0
_BODY_TOP = 40.0  # below the head
_SIDE_LABEL = 7.0  # the vertical 购买方信息 / 销售方信息 / 备注 column
_PAD = 1.2
_TEXT_PT = 8.5
_LINE = 4.0  # mm per line of _TEXT_PT text
_PARTY_SIZES = (8.5, 7.5, 6.5, 5.5)  # points, tried in turn until the parties fit
_FIELD_GAP = 0.6  # mm between a party's fields
_HEAD_ROW = 7.0
_TOTAL_ROW = 6.5
_WORDS_ROW = 8.0
# (title, width mm, alignment) of the lines table: 273 mm, the page less its margins.
_COLUMNS = (
    ("项目名称", 80.0, "L"),
    ("规格型号", 30.0, "L"),
    ("单位", 16.0, "C"),
    ("数量", 26.0, "R"),
    ("单价", 30.0, "R"),
    ("金额", 32.0, "R"),
    ("税率/征收率", 27.0, "C"),
    ("税额", 32.0, "R"),
)
_PRICE_PLACES = Decimal(1).scaleb(-QUANTITY_PLACES)
_CONTROL = {"Cc", "Zl", "Zp"}
_INVISIBLE = {"Cf"}
_MARKS = {"Mn", "Me", "Mc"}


def qr_text(invoice: Invoice, check_code: str) -> str:
    """The text of the invoice's QR code (the module docstring gives its fields)."""
    if not isinstance(check_code, str) or _CHECK_CODE.fullmatch(check_code) is None:
        raise InvalidInvoice(
            "a check code is at most 64 printable ASCII characters, no comma or space"
        )
    fields = (
        QR_VERSION,
        TYPE_CODES[invoice.kind],
        "",
        str(invoice.number),
        money_text(invoice.total),
        f"{_beijing(invoice.issued_at):%Y%m%d}",
        check_code,
        "",
    )
    return ",".join(fields)


def invoice_pdf(invoice: Invoice, *, check_code: str, verify_url: str | None = None) -> bytes:
    """The invoice as an A4 landscape PDF (InvalidInvoice for a check code that cannot go
    in the QR code or an issue time without a timezone; CjkFontMissing without a font)."""
    if invoice.kind not in KINDS:
        raise InvalidInvoice(f"an invoice is {' or '.join(KINDS)}, not {invoice.kind!r}")
    code = qr_text(invoice, check_code)
    writer = _Writer(invoice, code)
    writer.parties()
    writer.lines()
    writer.remark()
    writer.footer(verify_url)
    return writer.finish()


def _beijing(moment: datetime) -> datetime:
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise InvalidInvoice("an invoice's issue time carries a timezone")
    return moment.astimezone(BEIJING)


@dataclass(frozen=True)
class _Field:
    label: str
    value: str


class _Writer:
    """The PDF being written, page by page, top to bottom."""

    def __init__(self, invoice: Invoice, code: str) -> None:
        self.invoice = invoice
        self.date = _beijing(invoice.issued_at)
        self.matrix = qr_matrix(code)
        fonts = cjk_fonts()
        pdf = FPDF(orientation="L", unit="mm", format="A4")
        pdf.set_auto_page_break(False)  # every break is made here, with the head repeated
        pdf.set_margins(_LEFT, _TOP, _LEFT)
        pdf.set_creation_date(self.date)
        # No "{nb}" in the invoice's text is replaced (fpdf2 documents None as "off").
        pdf.alias_nb_pages(None)  # type: ignore[arg-type]
        pdf.set_title(f"{self.title} {invoice.number}")
        pdf.set_creator("tracechain")
        fonts.regular.add_to(pdf, _FAMILY)
        fonts.bold.add_to(pdf, _FAMILY, "B")
        regular, bold = pdf.fonts[_FAMILY], pdf.fonts[_FAMILY + "B"]
        self.glyphs = frozenset(getattr(regular, "cmap", {})) & frozenset(getattr(bold, "cmap", {}))
        self.missing = "\ufffd" if 0xFFFD in self.glyphs else "?"
        self.pdf = pdf
        self.width = pdf.w - 2 * _LEFT
        self.bottom = pdf.h - _BOTTOM
        self.new_page()

    @property
    def title(self) -> str:
        return f"电子发票（{KINDS[self.invoice.kind]}）"

    # -- pages -------------------------------------------------------------------------

    def new_page(self) -> None:
        pdf = self.pdf
        pdf.add_page()
        draw_qr(pdf, self.matrix, _LEFT, _TOP, _QR_SIZE / len(self.matrix))
        self.color(_BROWN)
        pdf.set_font(_FAMILY, "B", 17)
        title_width = pdf.get_string_width(self.title)
        title_x = (pdf.w - title_width) / 2
        pdf.set_xy(title_x, _TOP + 3)
        pdf.cell(title_width, 9, self.title)
        pdf.set_draw_color(*_BROWN)
        pdf.set_line_width(0.3)
        for y in (_TOP + 13.0, _TOP + 14.0):
            pdf.line(title_x, y, title_x + title_width, y)
        if self.invoice.red is not None:
            self.color(_RED)
            pdf.set_draw_color(*_RED)
            pdf.set_line_width(0.5)
            pdf.set_font(_FAMILY, "B", 13)
            pdf.rect(title_x + title_width + 5, _TOP + 3.5, 16, 8)
            pdf.set_xy(title_x + title_width + 5, _TOP + 3.5)
            pdf.cell(16, 8, "红字", align="C")
            pdf.set_line_width(0.3)
        right = pdf.w - _LEFT - 72
        for n, (label, value) in enumerate(
            (("发票号码：", str(self.invoice.number)), ("开票日期：", f"{self.date:%Y年%m月%d日}"))
        ):
            self.text(right, _TOP + 3 + 6 * n, 20, label, 9, color=_BROWN)
            self.text(right + 20, _TOP + 3 + 6 * n, 52, value, 9)
        self.y = _BODY_TOP

    def page_numbers(self) -> None:
        """第 n 页 / 共 N 页 on every page, once the number of pages is known."""
        pdf, count = self.pdf, self.pdf.page
        for page in range(1, count + 1):
            pdf.page = page
            # fpdf2 writes a font into a page only when it changes: switch it twice so the
            # page's text state is the one this line is drawn in, whatever the page had.
            pdf.set_font(_FAMILY, "B", 8)
            pdf.set_font(_FAMILY, "", 8)
            self.text(pdf.w - _LEFT - 72, _TOP + 15, 72, f"第 {page} 页 / 共 {count} 页", 8)
        pdf.page = count

    def room(self, height: float) -> bool:
        return self.y + height <= self.bottom

    # -- text --------------------------------------------------------------------------

    def color(self, rgb: tuple[int, int, int] | int) -> None:
        if isinstance(rgb, int):
            self.pdf.set_text_color(rgb)
        else:
            self.pdf.set_text_color(*rgb)

    def clean(self, text: str, *, lines: bool = False) -> str:
        """``text`` the font prints: see the module docstring."""
        out = []
        for char in unicodedata.normalize("NFC", str(text)):
            if char == "\n" and lines:
                out.append(char)
                continue
            category = unicodedata.category(char)
            if category in _CONTROL:
                out.append(" ")
            elif ord(char) in self.glyphs:
                out.append(char)
            elif category in _INVISIBLE or category in _MARKS:
                continue
            elif category == "Zs":
                out.append(" ")
            else:
                out.append(self.missing)
        return "".join(out)

    def wrap(self, text: str, width: float, size: float, *, bold: bool = False) -> list[str]:
        """``text`` (cleaned) in lines that fit ``width`` mm at ``size`` points."""
        pdf = self.pdf
        pdf.set_font(_FAMILY, "B" if bold else "", size)
        if not text:
            return [""]
        wrapped = cast(
            "list[str]",
            pdf.multi_cell(
                width,
                1,
                text,
                dry_run=True,
                output=MethodReturnValue.LINES,
                wrapmode=WrapMode.CHAR,
            ),
        )
        return [str(line) for line in wrapped] or [""]

    def cut(self, lines: list[str], most: int, width: float, size: float) -> list[str]:
        """At most ``most`` lines, the last one ending in … when some were cut."""
        if len(lines) <= most:
            return lines
        last = lines[most - 1]
        self.pdf.set_font(_FAMILY, "", size)
        while last and self.pdf.get_string_width(last + "…") > width - 2 * self.pdf.c_margin:
            last = last[:-1]
        return [*lines[: most - 1], last + "…"]

    def text(
        self,
        x: float,
        y: float,
        width: float,
        text: str,
        size: float,
        *,
        bold: bool = False,
        align: str = "L",
        color: tuple[int, int, int] | int = 0,
        height: float = 5.0,
    ) -> None:
        """One line of text (no wrapping), made printable."""
        pdf = self.pdf
        pdf.set_font(_FAMILY, "B" if bold else "", size)
        self.color(color)
        pdf.set_xy(x, y)
        pdf.cell(width, height, self.clean(text), align=align)

    def block(
        self,
        x: float,
        y: float,
        width: float,
        lines: list[str],
        size: float,
        line: float,
        *,
        align: str = "L",
        bold: bool = False,
    ) -> None:
        for n, text in enumerate(lines):
            self.text(x, y + n * line, width, text, size, bold=bold, align=align, height=line)

    def side_label(self, x: float, y: float, height: float, label: str) -> None:
        """A label written downwards, a character a line, in the middle of its column."""
        pdf = self.pdf
        pdf.line(x + _SIDE_LABEL, y, x + _SIDE_LABEL, y + height)
        step = min(4.0, (height - 2) / len(label))
        top = y + (height - step * len(label)) / 2
        for n, char in enumerate(label):
            self.text(x, top + n * step, _SIDE_LABEL, char, 8, align="C", color=_BROWN, height=step)

    # -- parts -------------------------------------------------------------------------

    def party_fields(self, role: str) -> list[_Field]:
        party = self.invoice.buyer if role == "buyer" else self.invoice.seller
        fields = [
            _Field("名称：", self.clean(party.name)),
            _Field("统一社会信用代码/纳税人识别号：", self.clean(party.credit_code or "")),
        ]
        if self.invoice.kind == SPECIAL:
            joined = (f"{party.address} {party.phone}", f"{party.bank} {party.account}")
            fields.append(_Field("地址、电话：", self.clean(joined[0].strip())))
            fields.append(_Field("开户行及账号：", self.clean(joined[1].strip())))
        return fields

    def parties(self) -> None:
        """The buyer's and the seller's blocks side by side, at the largest size they fit
        (with room for the table's head and a line below)."""
        half = self.width / 2
        room = self.bottom - self.y - 2 * _PAD - _HEAD_ROW - 3 * _LINE
        sides = {role: self.party_fields(role) for role in ("buyer", "seller")}
        for size in _PARTY_SIZES:
            laid = {role: self.lay_party(fields, half, size) for role, fields in sides.items()}
            height = max(_height(rows, size) for rows in laid.values())
            if height <= room:
                break
        else:  # the smallest size and still too long: cut each field evenly
            count = max(len(fields) for fields in sides.values())
            most = max(1, int((room - _FIELD_GAP * count) / _line_height(size)) // count)
            laid = {
                role: self.lay_party(fields, half, size, most) for role, fields in sides.items()
            }
            height = max(_height(rows, size) for rows in laid.values())
        height = max(height, 22.0) + 2 * _PAD
        pdf = self.pdf
        pdf.set_draw_color(*_BROWN)
        pdf.rect(_LEFT, self.y, self.width, height)
        pdf.line(_LEFT + half, self.y, _LEFT + half, self.y + height)
        for n, (role, label) in enumerate((("buyer", "购买方信息"), ("seller", "销售方信息"))):
            x = _LEFT + n * half
            self.side_label(x, self.y, height, label)
            self.draw_party(x + _SIDE_LABEL, self.y + _PAD, laid[role], size)
        self.y += height

    def lay_party(
        self, fields: list[_Field], half: float, size: float, most: int | None = None
    ) -> list[tuple[str, float, list[str]]]:
        """Each field's label, the label's width and the value's lines."""
        self.pdf.set_font(_FAMILY, "", size)
        area = half - _SIDE_LABEL
        rows = []
        for field in fields:
            label_width = self.pdf.get_string_width(field.label) + 2 * self.pdf.c_margin
            value_width = area - label_width
            lines = self.wrap(field.value, value_width, size)
            if most is not None:
                lines = self.cut(lines, most, value_width, size)
            rows.append((field.label, label_width, lines))
        return rows

    def draw_party(
        self, x: float, y: float, rows: list[tuple[str, float, list[str]]], size: float
    ) -> None:
        line = _line_height(size)
        for label, label_width, lines in rows:
            self.text(x, y, label_width, label, size, color=_BROWN, height=line)
            self.block(x + label_width, y, 0, lines, size, line)
            y += line * len(lines) + _FIELD_GAP

    def table_head(self) -> float:
        """The lines table's head at the top of a table segment; its top."""
        top, x = self.y, _LEFT
        for title, width, _ in _COLUMNS:
            self.text(x, top, width, title, 8.5, align="C", color=_BROWN, height=_HEAD_ROW)
            x += width
        self.y += _HEAD_ROW
        return top

    def frame(self, top: float, *, head: bool = True) -> None:
        pdf = self.pdf
        pdf.set_draw_color(*_BROWN)
        pdf.rect(_LEFT, top, self.width, self.y - top)
        if head:
            pdf.line(_LEFT, top + _HEAD_ROW, _LEFT + self.width, top + _HEAD_ROW)

    def row_cells(self, line: Line) -> list[list[str]]:
        entered = line.entered
        name = entered.name + ("（折扣）" if entered.discount else "")
        unit_price = _price_without_tax(line)
        quantity = price = ""
        if entered.quantity is not None and unit_price is not None:
            quantity, price = plain(entered.quantity), plain(unit_price)
        rate = entered.rate
        tax = "***" if rate.exempt or rate.non_taxable else money_text(line.tax)
        texts = (
            self.clean(name),
            self.clean(entered.specification),
            self.clean(entered.unit),
            quantity,
            price,
            money_text(line.amount),
            self.clean(rate.label),
            tax,
        )
        cells = []
        for text, (_, width, _) in zip(texts, _COLUMNS, strict=True):
            lines = self.wrap(text, width, 8)
            cells.append(self.cut(lines, MAX_CELL_LINES, width, 8))
        return cells

    def lines(self) -> None:
        """The lines, on as many pages as they take, the table's head on each; 合计 and
        价税合计 stay on the page of the last line."""
        self.y += 2
        tail = 1 + _TOTAL_ROW + _WORDS_ROW
        top: float | None = None  # the top of the table on this page, once its head is drawn
        rows = self.invoice.lines
        for n, line in enumerate(rows):
            cells = self.row_cells(line)
            height = max(len(c) for c in cells) * _LINE + _PAD
            last = n == len(rows) - 1
            if not self.room(height + (tail if last else 0) + (_HEAD_ROW if top is None else 0)):
                if top is not None:
                    self.frame(top)
                self.new_page()
                top = None
            if top is None:
                top = self.table_head()
            x = _LEFT
            for lines, (_, width, align) in zip(cells, _COLUMNS, strict=True):
                self.block(x, self.y + _PAD / 2, width, lines, 8, _LINE, align=align)
                x += width
            self.y += height
        if top is None:  # no line at all
            if not self.room(_HEAD_ROW + tail):
                self.new_page()
            top = self.table_head()
        self.y += 1
        self.totals()
        self.frame(top)
        self.words()

    def totals(self) -> None:
        totals, y = self.invoice.totals, self.y
        x = _LEFT
        for title, width, _ in _COLUMNS:
            if title == "项目名称":
                self.text(x, y, width, "合　　计", 9, align="C", color=_BROWN, height=_TOTAL_ROW)
            elif title == "金额":
                self.text(x, y, width, f"¥{money_text(totals.amount)}", 8.5, align="R")
            elif title == "税额":
                self.text(x, y, width, f"¥{money_text(totals.tax)}", 8.5, align="R")
            x += width
        self.pdf.set_draw_color(*_BROWN)
        self.pdf.line(_LEFT, y, _LEFT + self.width, y)
        self.y += _TOTAL_ROW

    def words(self) -> None:
        """价税合计（大写）and（小写）, a row of its own below the table."""
        top, total = self.y, self.invoice.total
        label = 42.0
        self.pdf.set_draw_color(*_BROWN)
        self.pdf.rect(_LEFT, top, self.width, _WORDS_ROW)
        self.pdf.line(_LEFT + label, top, _LEFT + label, top + _WORDS_ROW)
        middle = top + (_WORDS_ROW - 5) / 2
        self.text(_LEFT, middle, label, "价税合计（大写）", 9, align="C", color=_BROWN)
        self.text(_LEFT + label + 4, middle, 130, f"⊗ {amount_in_words(total)}", 10, bold=True)
        right = _LEFT + self.width - 80
        self.text(right, middle, 20, "（小写）", 9, color=_BROWN)
        self.text(right + 18, middle, 60, f"¥{money_text(total)}", 10, bold=True)
        self.y += _WORDS_ROW

    def remark_text(self) -> str:
        red, parts = self.invoice.red, []
        if red is not None:
            parts.append(f"被红冲蓝字数电票号码：{red.original}")
            parts.append(f"红冲原因：{RED_REASONS.get(red.reason, red.reason)}")
            if red.confirmation:
                parts.append(f"红字发票信息确认单编号：{red.confirmation}")
        if self.invoice.remark:
            parts.append(self.invoice.remark)
        return self.clean("\n".join(parts), lines=True)

    def remark(self) -> None:
        """备注, a box below 价税合计 that continues on more pages when it is long."""
        area = self.width - _SIDE_LABEL
        lines = self.wrap(self.remark_text(), area, _TEXT_PT)
        least = 14.0
        while True:
            fits = int((self.bottom - self.y - 2 * _PAD) / _LINE)
            if fits < 1:
                self.new_page()
                continue
            part, lines = lines[:fits], lines[fits:]
            height = max(least, len(part) * _LINE + 2 * _PAD)
            if self.y + height > self.bottom:
                self.new_page()
                lines = part + lines
                continue
            self.pdf.set_draw_color(*_BROWN)
            self.pdf.rect(_LEFT, self.y, self.width, height)
            self.side_label(_LEFT, self.y, height, "备注")
            self.block(_LEFT + _SIDE_LABEL, self.y + _PAD, area, part, _TEXT_PT, _LINE)
            self.y += height
            if not lines:
                return
            self.new_page()

    def footer(self, verify_url: str | None) -> None:
        """开票人 below the remark and, in small print, the verification URL."""
        drawer = self.wrap(self.clean(self.invoice.drawer), 120, 9)
        drawer = self.cut(drawer, 3, 120, 9)
        if not self.room(2 + 5 * len(drawer)):
            self.new_page()
        self.y += 2
        self.text(_LEFT, self.y, 16, "开票人：", 9, color=_BROWN)
        self.block(_LEFT + 16, self.y, 120, drawer, 9, 5)
        self.y += 5 * len(drawer)
        if verify_url is None:
            return
        lines = self.wrap(self.clean(f"查验：{verify_url}"), self.width, 6.5)
        for text in lines:
            if not self.room(3):
                self.new_page()
            self.text(_LEFT, self.y, self.width, text, 6.5, color=80, height=3)
            self.y += 3

    def finish(self) -> bytes:
        self.page_numbers()
        return bytes(self.pdf.output())


def _line_height(size: float) -> float:
    return size * 0.47


def _height(rows: list[tuple[str, float, list[str]]], size: float) -> float:
    return sum(len(lines) * _line_height(size) + _FIELD_GAP for _, _, lines in rows)


def _price_without_tax(line: Line) -> Decimal | None:
    """The unit price without tax: as entered, or 金额 ÷ 数量 for a price with tax."""
    quantity, price = line.entered.quantity, line.entered.unit_price
    if quantity is None or price is None:
        return None
    if not line.entered.price_includes_tax or quantity == 0:
        return price
    return (line.amount / quantity).quantize(_PRICE_PLACES, rounding=ROUND_HALF_UP)


def check_code_of(digest: bytes) -> str:
    """The check code printed on an invoice and held in its QR code: 20 decimal digits
    from its SM3 digest, so a paper copy names the exact file that was anchored."""
    return f"{int.from_bytes(digest[:9], 'big') % 10**20:020d}"
