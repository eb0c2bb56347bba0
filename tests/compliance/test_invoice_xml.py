"""The invoice XML: valid against our XSD, read back to the same invoice, its digest
unchanged by its proof, and nothing unsafe parsed."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from xml.etree import ElementTree

import pytest
from lxml import etree

from compliance.errors import InvalidInvoice
from compliance.invoice.document import (
    NORMAL,
    SPECIAL,
    Invoice,
    InvoiceParty,
    RedLetter,
    check_parties,
)
from compliance.invoice.lines import LineInput, compute_lines
from compliance.invoice.number import InvoiceNumber
from compliance.invoice.rates import tax_rate
from compliance.invoice.xml import invoice_digest, read_xml, render_xml, schema, with_proof

SELLER = InvoiceParty("杭州西湖茶业有限公司", "91350100M000100Y43", "杭州市西湖区", "0571-1234567",
                      "工商银行杭州分行", "1202000000000000000")  # fmt: skip
BUYER = InvoiceParty("上海某贸易有限公司", "91110000100000000R", "上海市黄浦区", "021-7654321",
                     "建设银行上海分行", "3100000000000000000")  # fmt: skip
TEA = "1010115010000000000"


def _invoice(**changes: object) -> Invoice:
    lines = compute_lines(
        [
            LineInput("*茶*龙井", TEA, tax_rate("9%"), Decimal("3"), Decimal("128.5"), True,
                      "250g", "盒"),
            LineInput("*茶*龙井", TEA, tax_rate("9%"), price_includes_tax=True, discount=True,
                      amount=Decimal("-20.00")),
            LineInput("*茶*红茶", TEA, tax_rate("免税"), Decimal("1.5"), Decimal("60"), False,
                      "", "千克"),
        ]
    )  # fmt: skip
    fields: dict[str, object] = {
        "tenant": "tenant-1",
        "number": InvoiceNumber(2026, "33", 2, 41),
        "kind": SPECIAL,
        "issued_at": datetime(2026, 12, 7, 8, 30, tzinfo=UTC),
        "seller": SELLER,
        "buyer": BUYER,
        "lines": lines,
        "drawer": "王会计",
        "remark": "合同号 HT-2026-007 <&>",
    }
    fields.update(changes)
    return Invoice(**fields)  # type: ignore[arg-type]


def test_the_xml_is_valid_against_the_schema_and_reads_back_the_same() -> None:
    invoice = _invoice()
    data = render_xml(invoice)
    assert schema().validate(etree.fromstring(data))
    read = read_xml(data)
    assert read.invoice == invoice
    assert read.printed_totals == (invoice.totals.amount, invoice.totals.tax, invoice.total)
    assert read.printed_words == "肆佰伍拾伍元伍角"  # 3 x 128.50 - 20 + 1.5 x 60
    assert [p.nature for p in read.printed_lines] == ["2", "1", "0"]
    assert read.digest == invoice_digest(data)


def test_a_red_letter_invoice_names_its_original_and_prints_negative() -> None:
    blue = _invoice()
    red_lines = compute_lines(
        [LineInput("*茶*龙井", TEA, tax_rate("9%"), Decimal("-1"), Decimal("128.5"), True,
                   "250g", "盒")],
        red=True,
    )  # fmt: skip
    red = _invoice(
        number=InvoiceNumber(2026, "33", 2, 42),
        lines=red_lines,
        red=RedLetter(str(blue.number), "02", "HZ-0001"),
    )
    read = read_xml(render_xml(red))
    assert read.invoice.red == RedLetter("26332000000000000041", "02", "HZ-0001")
    assert read.printed_words == "负壹佰贰拾捌元伍角"


def test_the_digest_is_the_same_with_the_proof_and_changes_with_any_figure() -> None:
    data = render_xml(_invoice())
    proven = with_proof(data, '{"v":1}')
    assert b"TraceProof" in proven
    assert invoice_digest(proven) == invoice_digest(data)
    assert read_xml(proven).proof_json == '{"v":1}'
    changed = data.replace(b"<TotalTaxAm>", b"<TotalTaxAm>1", 1)
    assert invoice_digest(changed) != invoice_digest(data)


@pytest.mark.parametrize(
    "data",
    [
        b"<EInvoice/>",  # not the schema
        b"<EInvoice Version='1'><Header/></EInvoice>",
        b"not xml",
        b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><EInvoice>&e;</EInvoice>',
        b'<?xml version="1.0"?><!DOCTYPE EInvoice SYSTEM "http://example.com/x.dtd"><EInvoice/>',
        b"<a>" * 300 + b"</a>" * 300,
    ],
)
def test_an_unsafe_or_foreign_file_is_refused(data: bytes) -> None:
    with pytest.raises(InvalidInvoice):
        read_xml(data)


def test_a_changed_amount_breaks_the_schema_or_reads_back_otherwise() -> None:
    data = render_xml(_invoice())
    bad_money = data.replace(b"<TotalTaxAm>", b"<TotalTaxAm>x", 1)
    with pytest.raises(InvalidInvoice, match="schema"):
        read_xml(bad_money)


def test_a_special_invoice_names_the_buyer_in_full() -> None:
    check_parties(SPECIAL, SELLER, BUYER)
    for missing in ("credit_code", "address", "phone", "bank", "account"):
        partial = replace(BUYER, **{missing: None if missing == "credit_code" else ""})
        with pytest.raises(InvalidInvoice, match=missing):
            check_parties(SPECIAL, SELLER, partial)


def test_a_normal_invoice_takes_an_individual_without_a_credit_code() -> None:
    check_parties(NORMAL, SELLER, InvoiceParty("张三", individual=True))
    with pytest.raises(InvalidInvoice, match="credit_code is required"):
        check_parties(NORMAL, SELLER, InvoiceParty("某公司"))
    with pytest.raises(InvalidInvoice, match="no unified social credit code"):
        check_parties(NORMAL, SELLER, InvoiceParty("某公司", "91110000100000000X"))
    with pytest.raises(InvalidInvoice, match="organisation"):
        check_parties(SPECIAL, SELLER, InvoiceParty("张三", individual=True))


def test_the_standard_librarys_canonical_form_is_the_files_own() -> None:
    data = render_xml(_invoice())  # what docs/invoices.md tells a verifier by hand to do
    assert ElementTree.canonicalize(data.decode()).encode() == data


def test_nothing_may_stand_outside_the_invoice_element() -> None:
    data = render_xml(_invoice())
    forged = [
        b'<?xml-stylesheet type="text/xsl" href="fake.xsl"?>' + data,  # shows other figures
        b"<!-- total 9113.00 -->" + data,
        data + b"<!-- <TotalTax-includedAmount>9113.00</TotalTax-includedAmount> -->",
        data + b"<?x y?>",
        '<!DOCTYPE EInvoice [<!ENTITY t "1">]>'.encode("utf-16") ,  # a DTD in UTF-16
        ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE EInvoice [<!ATTLIST EInvoice a CDATA'
         ' "x">]>' + data.decode()).encode("utf-16"),
    ]  # fmt: skip
    for bad in forged:
        with pytest.raises(InvalidInvoice):
            read_xml(bad)
    assert (
        read_xml(b'<?xml version="1.0" encoding="UTF-8"?>\n' + data).digest == read_xml(data).digest
    )
