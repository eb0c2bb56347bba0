"""The invoice as XML (``einvoice.xsd``, beside this module), and read back.

`render_xml` writes Canonical XML 1.0 (the bytes the digest is over; no declaration),
validated against the schema before it is returned. `invoice_digest` is SM3 over the
Canonical XML of ``EInvoice`` without its ``TraceProof`` element, so the digest of an
issued invoice is the same before and after its proof is added (`with_proof`).
`read_xml` parses a file safely (no DTD, no entities, no network, bounded size), checks
it against the schema and gives back what it says, as entered and as printed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from lxml import etree

from compliance._wire import format_utc, parse_utc
from compliance.errors import InvalidInvoice
from compliance.invoice.document import (
    KINDS,
    NORMAL,
    RED_REASONS,
    SPECIAL,
    Invoice,
    InvoiceParty,
    RedLetter,
)
from compliance.invoice.lines import Line, LineInput, compute_lines
from compliance.invoice.money import money_text, plain
from compliance.invoice.number import InvoiceNumber
from compliance.invoice.rates import tax_rate
from compliance.invoice.words import amount_in_words
from crypto.sm3 import sm3

SCHEMA_FILE = Path(__file__).with_name("einvoice.xsd")
MAX_XML_BYTES = 16 * 1024 * 1024
PROOF_FORMAT = "tracechain/proof+json"
_VAT_LABELS = {SPECIAL: "01", NORMAL: "02"}
_KIND_OF_LABEL = {v: k for k, v in _VAT_LABELS.items()}
_NATURE = {"line": "0", "discount": "1", "discounted": "2"}


@lru_cache(maxsize=1)
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA_FILE)))


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=True,
    )


def _el(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    child = etree.SubElement(parent, tag)
    if text is not None:
        child.text = text
    return child


def _label(parent: etree._Element, tag: str, code: str, name: str) -> None:
    label = _el(parent, tag)
    _el(label, "LabelCode", code)
    _el(label, "LabelName", name)


def _party(parent: etree._Element, role: str, party: InvoiceParty) -> None:
    info = _el(parent, f"{role}Information")
    if party.credit_code is not None:
        _el(info, f"{role}IdNum", party.credit_code)
    _el(info, f"{role}Name", party.name)
    _el(info, f"{role}Addr", party.address)
    _el(info, f"{role}TelNum", party.phone)
    _el(info, f"{role}BankName", party.bank)
    _el(info, f"{role}BankAccNum", party.account)
    if role == "Buyer":
        _el(info, "BuyerNaturalPerson", "true" if party.individual else "false")


def _line(parent: etree._Element, line: Line) -> None:
    entered = line.entered
    nature = "discount" if entered.discount else "discounted" if line.discounted else "line"
    item = _el(parent, "IssuItemInformation")
    item.set("LineNature", _NATURE[nature])
    _el(item, "ItemName", entered.name)
    _el(item, "SpecMod", entered.specification)
    _el(item, "MeaUnits", entered.unit)
    if entered.quantity is not None and entered.unit_price is not None:
        _el(item, "Quantity", plain(entered.quantity))
        _el(item, "UnPrice", plain(entered.unit_price))
    _el(item, "PriceIncludesTax", "true" if entered.price_includes_tax else "false")
    _el(item, "Amount", money_text(line.amount))
    _el(item, "TaxRate", entered.rate.label)
    _el(item, "ComTaxAm", money_text(line.tax))
    _el(item, "TotaltaxIncludedAmount", money_text(line.total))
    _el(item, "TaxClassificationCode", entered.tax_code)


def build(invoice: Invoice) -> etree._Element:
    root = etree.Element("EInvoice", Version="1")
    header = _el(root, "Header")
    _el(header, "EIid", str(invoice.number))
    labels = _el(header, "InherentLabel")
    if invoice.red is None:
        _label(labels, "InIssuType", "Y", "蓝字发票")
    else:
        _label(labels, "InIssuType", "N", "红字发票")
    _label(labels, "GeneralOrSpecialVAT", _VAT_LABELS[invoice.kind], KINDS[invoice.kind])
    data = _el(root, "EInvoiceData")
    _party(data, "Seller", invoice.seller)
    _party(data, "Buyer", invoice.buyer)
    basic = _el(data, "BasicInformation")
    _el(basic, "TotalAmWithoutTax", money_text(invoice.totals.amount))
    _el(basic, "TotalTaxAm", money_text(invoice.totals.tax))
    _el(basic, "TotalTax-includedAmount", money_text(invoice.total))
    _el(basic, "TotalTax-includedAmountInChinese", amount_in_words(invoice.total))
    _el(basic, "Drawer", invoice.drawer)
    _el(basic, "RequestTime", format_utc(invoice.issued_at))
    for line in invoice.lines:
        _line(data, line)
    if invoice.red is not None:
        red = _el(_el(data, "SpecificInformation"), "RedEInvoice")
        _el(red, "OriginalInvoiceCode", invoice.red.original)
        _label(red, "RedReason", invoice.red.reason, RED_REASONS[invoice.red.reason])
        if invoice.red.confirmation is not None:
            _el(red, "CreditNoteNumber", invoice.red.confirmation)
    _el(_el(data, "AdditionalInformation"), "Remark", invoice.remark)
    supervision = _el(root, "TaxSupervisionInfo")
    _el(supervision, "InvoiceNumber", str(invoice.number))
    _el(supervision, "IssueTime", format_utc(invoice.issued_at))
    _el(supervision, "Tenant", invoice.tenant)
    return root


def _canonical(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root, method="c14n"))


def render_xml(invoice: Invoice) -> bytes:
    """The invoice's Canonical XML, valid against the schema (InvalidInvoice if not:
    that would be a fault here, not the caller's)."""
    root = build(invoice)
    if not schema().validate(root):
        raise InvalidInvoice(f"the invoice XML breaks its schema: {schema().error_log.last_error}")
    return _canonical(root)


def _parse(data: bytes) -> etree._Element:
    """The root of a file that is one ``EInvoice`` element and nothing else: no DTD (in
    any encoding), no comment or processing instruction around it (the digest covers the
    element only, so nothing outside it may show), valid against the schema."""
    if not isinstance(data, bytes) or len(data) > MAX_XML_BYTES:
        raise InvalidInvoice(f"an invoice file is at most {MAX_XML_BYTES} bytes")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise InvalidInvoice("an invoice file holds no DTD or entity declarations")
    try:
        root = etree.fromstring(data, _parser())
        tree = root.getroottree()
        if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
            raise InvalidInvoice("an invoice file holds no DTD or entity declarations")
        if (
            next(root.itersiblings(preceding=True), None) is not None
            or next(root.itersiblings(), None) is not None
        ):
            raise InvalidInvoice(
                "an invoice file is its EInvoice element alone: no comment or processing "
                "instruction (such as a stylesheet) before or after it"
            )
        valid = schema().validate(root)
    except etree.Error as exc:  # XMLSyntaxError, and libxml2's own validation faults
        raise InvalidInvoice(f"not a well-formed invoice file: {exc}") from None
    if not valid:
        raise InvalidInvoice(f"the XML breaks the invoice schema: {schema().error_log.last_error}")
    return root


def invoice_digest(data: bytes) -> bytes:
    """SM3 of the Canonical XML of the invoice without its TraceProof."""
    root = _parse(data)
    for proof in root.findall("TraceProof"):
        root.remove(proof)
    return sm3(_canonical(root))


def with_proof(data: bytes, proof_json: str) -> bytes:
    """The issued invoice with its proof document added (its digest unchanged)."""
    root = _parse(data)
    for old in root.findall("TraceProof"):
        root.remove(old)
    proof = _el(root, "TraceProof", proof_json)
    proof.set("format", PROOF_FORMAT)
    return _canonical(root)


@dataclass(frozen=True)
class PrintedLine:
    """A line's figures as the file prints them, to compare with what they compute to."""

    nature: str
    amount: Decimal
    tax: Decimal
    total: Decimal


@dataclass(frozen=True)
class ReadInvoice:
    """What an invoice file says: the invoice recomputed from its entered figures, the
    figures it prints, and its proof document, if any."""

    invoice: Invoice
    entered: tuple[LineInput, ...]
    printed_lines: tuple[PrintedLine, ...]
    printed_totals: tuple[Decimal, Decimal, Decimal]
    printed_words: str
    proof_json: str | None
    digest: bytes


def _text(node: etree._Element, path: str) -> str:
    found = node.find(path)
    return "" if found is None or found.text is None else str(found.text)


def _optional(node: etree._Element, path: str) -> str | None:
    found = node.find(path)
    return None if found is None else "" if found.text is None else str(found.text)


def _read_party(data: etree._Element, role: str) -> InvoiceParty:
    info = data.find(f"{role}Information")
    assert info is not None  # the schema requires it
    return InvoiceParty(
        name=_text(info, f"{role}Name"),
        credit_code=_optional(info, f"{role}IdNum"),
        address=_text(info, f"{role}Addr"),
        phone=_text(info, f"{role}TelNum"),
        bank=_text(info, f"{role}BankName"),
        account=_text(info, f"{role}BankAccNum"),
        individual=_text(info, "BuyerNaturalPerson") == "true",
    )


def read_xml(data: bytes) -> ReadInvoice:
    """Parse and check an invoice file against the schema; recompute its lines from what
    they entered (the caller compares them with what it prints)."""
    root = _parse(data)
    data_node = root.find("EInvoiceData")
    assert data_node is not None
    red_node = data_node.find("SpecificInformation/RedEInvoice")
    red = None
    if red_node is not None:
        reason = _text(red_node, "RedReason/LabelCode")
        if reason not in RED_REASONS:
            raise InvalidInvoice(
                f"red-letter reason {reason!r} is none of {', '.join(RED_REASONS)}"
            )
        red = RedLetter(
            _text(red_node, "OriginalInvoiceCode"),
            reason,
            _optional(red_node, "CreditNoteNumber"),
        )
    entered, printed = [], []
    for item in data_node.findall("IssuItemInformation"):
        discount = item.get("LineNature") == "1"
        quantity, price = _optional(item, "Quantity"), _optional(item, "UnPrice")
        amount, tax = Decimal(_text(item, "Amount")), Decimal(_text(item, "ComTaxAm"))
        includes = _text(item, "PriceIncludesTax") == "true"
        entered.append(
            LineInput(
                name=_text(item, "ItemName"),
                tax_code=_text(item, "TaxClassificationCode"),
                rate=tax_rate(_text(item, "TaxRate")),
                quantity=None if quantity is None else Decimal(quantity),
                unit_price=None if price is None else Decimal(price),
                price_includes_tax=includes,
                specification=_text(item, "SpecMod"),
                unit=_text(item, "MeaUnits"),
                discount=discount,
                amount=(amount + tax if includes else amount) if discount else None,
            )
        )
        printed.append(
            PrintedLine(
                str(item.get("LineNature")),
                amount,
                tax,
                Decimal(_text(item, "TotaltaxIncludedAmount")),
            )
        )
    kind = _KIND_OF_LABEL.get(_text(root, "Header/InherentLabel/GeneralOrSpecialVAT/LabelCode"))
    if kind is None:
        raise InvalidInvoice("GeneralOrSpecialVAT is 01 (专票) or 02 (普票)")
    is_red = _text(root, "Header/InherentLabel/InIssuType/LabelCode") == "N"
    if is_red != (red is not None):
        raise InvalidInvoice("a red-letter invoice (InIssuType N) names the invoice it reverses")
    number = _text(root, "Header/EIid")
    if _text(root, "TaxSupervisionInfo/InvoiceNumber") != number:
        raise InvalidInvoice("the number in the header and in TaxSupervisionInfo differ")
    try:
        issued: datetime = parse_utc(_text(root, "TaxSupervisionInfo/IssueTime"))
    except ValueError as exc:
        raise InvalidInvoice(f"IssueTime: {exc}") from None
    if _text(data_node, "BasicInformation/RequestTime") != format_utc(issued):
        raise InvalidInvoice("RequestTime and IssueTime differ")
    invoice = Invoice(
        tenant=_text(root, "TaxSupervisionInfo/Tenant"),
        number=InvoiceNumber.parse(number),
        kind=kind,
        issued_at=issued,
        seller=_read_party(data_node, "Seller"),
        buyer=_read_party(data_node, "Buyer"),
        lines=compute_lines(entered, red=is_red),
        drawer=_text(data_node, "BasicInformation/Drawer"),
        remark=_text(data_node, "AdditionalInformation/Remark"),
        red=red,
    )
    basic = "BasicInformation/"
    proof = root.find("TraceProof")
    if proof is not None:
        root.remove(proof)
    return ReadInvoice(
        invoice=invoice,
        entered=tuple(entered),
        printed_lines=tuple(printed),
        printed_totals=(
            Decimal(_text(data_node, basic + "TotalAmWithoutTax")),
            Decimal(_text(data_node, basic + "TotalTaxAm")),
            Decimal(_text(data_node, basic + "TotalTax-includedAmount")),
        ),
        printed_words=_text(data_node, basic + "TotalTax-includedAmountInChinese"),
        proof_json=None if proof is None else (proof.text or ""),
        digest=sm3(_canonical(root)),
    )
