"""The invoice PDF: its QR code decodes (zxing-cpp) to the platform's fields, its text is real
text, many lines and odd text flow onto more pages without overflowing.

As for the evidence certificate, pages are rendered with pdfium at 200 dpi and every QR code
on them decoded; the text layer is read back with pdfium; fpdf2, which logs each glyph its
font lacks, must log none. Without a CJK font the rendering tests skip, except in CI
(``CI`` set), where they fail: a CI run must not pass by skipping them.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from decimal import Decimal

import pypdfium2
import pytest

from compliance import printing
from compliance.errors import InvalidInvoice
from compliance.invoice.document import NORMAL, SPECIAL, Invoice, InvoiceParty, RedLetter
from compliance.invoice.lines import Line, LineInput, compute_lines
from compliance.invoice.number import InvoiceNumber
from compliance.invoice.pdf import invoice_pdf, qr_text
from compliance.invoice.rates import tax_rate
from compliance.printing import CjkFontMissing
from fixtures.ci import in_ci
from fixtures.pdf_reading import assert_has, page_texts, pages, pdf_text, qr_codes

CHECK = "12345678901234567890"
URL = "https://trace.example.com/invoices/verify/26332000000000000041"
SELLER = InvoiceParty("杭州西湖茶业有限公司", "91350100M000100Y43", "杭州市西湖区", "0571-1234567",
                      "工商银行杭州分行", "1202000000000000000")  # fmt: skip
BUYER = InvoiceParty("上海某贸易有限公司", "91110000100000000R", "上海市黄浦区", "021-7654321",
                     "建设银行上海分行", "3100000000000000000")  # fmt: skip
TEA = "1010115010000000000"
ODD = ("Emoji 😀👨‍👩‍👧 and ✈️, RTL שלום עולם مرحبا, e\u0301 Z\u0335a\u0337l\u0338g\u0336o, "
       "\x00\t\r\u200f\u202e\ufeff{nb}")  # fmt: skip

HEAD = (
    r"电子发票（增值税专用发票）(红字)?发票号码：[0-9]{20}开票日期：[0-9]{4}年[0-9]{2}月[0-9]{2}日"
)
PAGE_NUMBER = r"第[0-9]+页/共[0-9]+页"


@pytest.fixture(scope="module", autouse=True)
def cjk_font() -> None:
    """Skip without a CJK font (say what to install); in CI fail instead."""
    try:
        printing.cjk_fonts()
    except CjkFontMissing as exc:
        if in_ci():
            pytest.fail(f"{exc} (CI is set, so this is an error, not a skip)", pytrace=False)
        pytest.skip(str(exc))


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _render(invoice: Invoice, check_code: str = CHECK, verify_url: str | None = URL) -> bytes:
    """The PDF, with no glyph missing from its font (fpdf2 logs each one it lacks)."""
    records, logger = _Records(), logging.getLogger("fpdf")
    logger.addHandler(records)
    try:
        pdf = invoice_pdf(invoice, check_code=check_code, verify_url=verify_url)
    finally:
        logger.removeHandler(records)
    assert not records.messages, records.messages
    assert pdf.startswith(b"%PDF-")
    return pdf


def _inside_the_pages(pdf: bytes) -> None:
    """Every glyph lies within its page and inside the margins (10 mm, 28.35 pt)."""
    for page in pages(pdf):
        width, height = page.get_size()
        textpage = page.get_textpage()
        for index in range(textpage.count_chars()):
            left, bottom, right, top = textpage.get_charbox(index)
            if right > left:  # a drawn glyph, not a space or a line break
                assert left > 28 and right < width - 28, (index, left, right)
                assert bottom > 28 and top < height - 28, (index, bottom, top)


def _lines(red: bool = False) -> tuple[Line, ...]:
    if red:
        return compute_lines(
            [LineInput("*茶*龙井", TEA, tax_rate("9%"), Decimal("-1"), Decimal("128.5"), True,
                       "250g", "盒")],
            red=True,
        )  # fmt: skip
    return compute_lines(
        [
            LineInput("*茶*龙井", TEA, tax_rate("9%"), Decimal("3"), Decimal("128.5"), True,
                      "250g", "盒"),
            LineInput("*茶*龙井", TEA, tax_rate("9%"), price_includes_tax=True, discount=True,
                      amount=Decimal("-20.00")),
            LineInput("*茶*红茶", TEA, tax_rate("免税"), Decimal("1.5"), Decimal("60"), False,
                      "", "千克"),
        ]
    )  # fmt: skip


def _invoice(**changes: object) -> Invoice:
    fields: dict[str, object] = {
        "tenant": "tenant-1",
        "number": InvoiceNumber(2026, "33", 2, 41),
        "kind": SPECIAL,
        # 17:30 UTC on the 6th is 01:30 on the 7th in Beijing: the date printed and encoded
        "issued_at": datetime(2026, 12, 6, 17, 30, tzinfo=UTC),
        "seller": SELLER,
        "buyer": BUYER,
        "lines": _lines(),
        "drawer": "王会计",
        "remark": "合同号 HT-2026-007 <&>",
    }
    fields.update(changes)
    return Invoice(**fields)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def special() -> bytes:
    return _render(_invoice())


def test_the_qr_code_of_a_special_invoice_reads_back_as_the_platform_fields(
    special: bytes,
) -> None:
    expected = "01,31,,26332000000000000041,455.50,20261207,12345678901234567890,"
    assert qr_text(_invoice(), CHECK) == expected
    assert qr_codes(special) == [expected]


def test_a_special_invoice_prints_its_number_parties_lines_and_totals(special: bytes) -> None:
    text = pdf_text(special)
    assert_has(text, "电子发票（增值税专用发票）", "发票号码：26332000000000000041")
    assert_has(text, "开票日期：2026年12月07日", "第1页/共1页")
    assert_has(text, "购", "买", "方", "信", "息", "名称：上海某贸易有限公司")
    assert_has(text, "统一社会信用代码/纳税人识别号：91110000100000000R")
    assert_has(text, "地址、电话：上海市黄浦区021-7654321")
    assert_has(text, "开户行及账号：建设银行上海分行3100000000000000000")
    assert_has(text, "名称：杭州西湖茶业有限公司", "91350100M000100Y43", "工商银行杭州分行")
    assert_has(text, "项目名称", "规格型号", "单位", "数量", "单价", "金额", "税率/征收率", "税额")
    # 3 x 128.50 with tax at 9%: 385.50 = 353.67 + 31.83, 117.89 a box without tax
    assert_has(text, "*茶*龙井250g盒3117.89353.679%31.83")
    assert_has(text, "*茶*龙井（折扣）-18.359%-1.65", "*茶*红茶千克1.56090.00免税***")
    assert_has(text, "合计¥425.32¥30.18")
    assert_has(text, "价税合计（大写）⊗肆佰伍拾伍元伍角（小写）¥455.50")
    assert_has(text, "备", "注", "合同号HT-2026-007<&>", "开票人：王会计", URL)
    assert "红字" not in text


def test_a_normal_invoice_to_an_individual_names_the_buyer_only() -> None:
    invoice = _invoice(kind=NORMAL, buyer=InvoiceParty("张三", individual=True), remark="")
    pdf = _render(invoice, check_code="", verify_url=None)
    assert qr_codes(pdf) == ["01,32,,26332000000000000041,455.50,20261207,,"]
    text = pdf_text(pdf)
    assert_has(
        text, "电子发票（普通发票）", "名称：张三", "肆佰伍拾伍元伍角", "26332000000000000041"
    )
    assert "地址、电话" not in text and "开户行及账号" not in text
    assert "增值税专用发票" not in text and "查验" not in text


def test_a_red_letter_invoice_is_marked_red_prints_negative_and_names_the_blue_one() -> None:
    red = _invoice(
        number=InvoiceNumber(2026, "33", 2, 42),
        lines=_lines(red=True),
        red=RedLetter("26332000000000000041", "02", "HZ-0001"),
        remark="退货",
    )
    pdf = _render(red)
    assert qr_codes(pdf) == [f"01,31,,26332000000000000042,-128.50,20261207,{CHECK},"]
    text = pdf_text(pdf)
    assert_has(text, "电子发票（增值税专用发票）红字", "发票号码：26332000000000000042")
    assert_has(text, "*茶*龙井250g盒-1117.89-117.899%-10.61", "合计¥-117.89¥-10.61")
    assert_has(text, "价税合计（大写）⊗负壹佰贰拾捌元伍角（小写）¥-128.50")
    assert_has(text, "被红冲蓝字数电票号码：26332000000000000041", "红冲原因：销货退回")
    assert_has(text, "红字发票信息确认单编号：HZ-0001", "退货")


def test_sixty_lines_continue_on_more_pages_with_the_table_head_repeated() -> None:
    entered = [
        LineInput(f"*茶*龙井第{n}号" + "特级明前" * (n % 4), TEA, tax_rate("13%"),
                  Decimal(n + 1), Decimal("9.99"), n % 2 == 0, "250g" * (n % 3), "盒")
        for n in range(60)
    ]  # fmt: skip
    invoice = _invoice(lines=compute_lines(entered))
    pdf = _render(invoice)

    pages = page_texts(pdf)
    assert len(pages) >= 3
    total = f"{invoice.total:.2f}"
    expected = f"01,31,,26332000000000000041,{total},20261207,{CHECK},"
    assert qr_codes(pdf) == [expected] * len(pages)  # the head is on every page
    for n, page in enumerate(pages, 1):
        assert_has(page, "26332000000000000041", f"第{n}页/共{len(pages)}页", "项目名称")
    assert "名称：上海某贸易有限公司" in pages[0] and "上海某贸易有限公司" not in pages[1]
    text = "".join(pages)
    for line in entered:
        assert_has(text, line.name)
    assert text.count("合计¥") == 1
    assert_has(pages[-1], f"（小写）¥{total}", "开票人：王会计")


def test_odd_and_very_long_text_wraps_and_flows_without_overflowing_or_missing_glyphs() -> None:
    long_name = ODD + "很长的名称" * 40 + "X" * 300
    buyer = InvoiceParty(long_name, "91110000100000000R", long_name, long_name, long_name, ODD)
    # beyond the line rules (100 characters), as an Invoice value may be: a cell is cut
    odd = LineInput("*茶*" + ODD + "龙井" * 300, TEA, tax_rate("9%"), Decimal("1"),
                    Decimal("10"), False, ODD + "规格" * 60, ODD * 3)  # fmt: skip
    lines = (Line(odd, Decimal("10.00"), Decimal("0.90"), False), *_lines())
    remark = ("说明内容很长，" * 400) + ODD * 20 + "Y" * 3000 + "\n第二段\n\n" + "\ud800"
    invoice = _invoice(buyer=buyer, lines=lines, remark=remark, drawer=ODD + "王" * 300)
    pdf = _render(invoice, verify_url=URL + "?" + "q" * 2000 + ODD)

    document = pypdfium2.PdfDocument(pdf)
    assert len(document) >= 3  # the remark flows onto more pages
    _inside_the_pages(pdf)
    assert qr_codes(pdf) == [qr_text(invoice, CHECK)] * len(document)
    # the remark read across the pages, without the head, page numbers and 备注 labels
    text = re.sub(HEAD + "|" + PAGE_NUMBER + "|备注", "", pdf_text(pdf))
    assert_has(text, "很长的名称" * 20, "说明内容很长，" * 400, "Y" * 3000, "第二段", "Emoji")
    assert "{nb}" in text  # the invoice's text is no page-count placeholder


def test_parties_far_beyond_the_rules_are_cut_to_fit_the_first_page() -> None:
    huge = "很长的地址" * 1000
    party = InvoiceParty(huge, "91110000100000000R", huge, huge, huge, huge)
    pdf = _render(_invoice(buyer=party, seller=party))
    _inside_the_pages(pdf)
    first, *rest = page_texts(pdf)
    assert_has(
        first, "名称：很长的地址", "…", "项目名称", "*茶*龙井250g"
    )  # the parties, then lines
    assert len(rest) <= 1 and "很长的地址" not in "".join(rest)
    assert_has("".join([first, *rest]), "合计¥425.32¥30.18", "开票人：王会计")


def test_the_pdf_is_the_same_for_the_same_invoice(special: bytes) -> None:
    assert _render(_invoice()) == special
    assert b"D:20261207013000+08'00'" in special  # the creation date is the issue time


def test_a_check_code_that_cannot_go_in_the_qr_code_or_a_naive_time_is_refused() -> None:
    for bad in ("12,34", "12 34", "校验码", "1" * 65):
        with pytest.raises(InvalidInvoice, match="check code"):
            invoice_pdf(_invoice(), check_code=bad)
    with pytest.raises(InvalidInvoice, match="timezone"):
        invoice_pdf(_invoice(issued_at=datetime(2026, 12, 7, 8, 30)), check_code=CHECK)


def test_without_a_cjk_font_it_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(printing, "FONT_FILES", ("/nonexistent/font.ttc",))
    monkeypatch.setattr(printing, "_fontconfig_chinese", lambda: [])
    printing.cjk_fonts.cache_clear()
    try:
        with pytest.raises(CjkFontMissing, match="fonts-noto-cjk"):
            invoice_pdf(_invoice(), check_code=CHECK)
    finally:
        printing.cjk_fonts.cache_clear()
