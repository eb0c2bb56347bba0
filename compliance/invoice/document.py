"""An issued invoice as a value: its number, kind, parties, lines and, for a red-letter
invoice, the blue one it reverses. Who must be named how:

- the seller always by name and credit code;
- the buyer of a 专票 (``special``) by name, credit code, address, phone, bank and
  account; the buyer of a 普票 (``normal``) by name, with a credit code unless an
  individual (``individual=True``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from compliance.credit_code import is_valid_credit_code
from compliance.errors import InvalidInvoice
from compliance.invoice.lines import Line, Totals, sum_lines
from compliance.invoice.number import InvoiceNumber

SPECIAL = "special"  # 增值税专用发票
NORMAL = "normal"  # 普通发票
KINDS = {SPECIAL: "增值税专用发票", NORMAL: "普通发票"}
TYPE_CODES = {SPECIAL: "31", NORMAL: "32"}  # as the invoice's QR code names them
RED_REASONS = {
    "01": "开票有误",
    "02": "销货退回",
    "03": "服务中止",
    "04": "销售折让",
}
MAX_FIELD = 200


@dataclass(frozen=True, slots=True)
class InvoiceParty:
    name: str
    credit_code: str | None = None
    address: str = ""
    phone: str = ""
    bank: str = ""
    account: str = ""
    individual: bool = False  # a natural person buying on a 普票


@dataclass(frozen=True, slots=True)
class RedLetter:
    """What a red-letter invoice reverses: the blue invoice's number, why, and the
    red-letter confirmation (红字确认单) its buyer confirmed, if one was needed."""

    original: str
    reason: str
    confirmation: str | None = None


@dataclass(frozen=True, slots=True)
class Invoice:
    tenant: str
    number: InvoiceNumber
    kind: str
    issued_at: datetime
    seller: InvoiceParty
    buyer: InvoiceParty
    lines: tuple[Line, ...]
    drawer: str = ""  # 开票人
    remark: str = ""
    red: RedLetter | None = None
    totals: Totals = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "totals", sum_lines(self.lines))

    @property
    def total(self) -> Decimal:
        return self.totals.total


def check_parties(kind: str, seller: InvoiceParty, buyer: InvoiceParty) -> None:
    """The rules on who the invoice names (InvalidInvoice saying which one is broken)."""
    if kind not in KINDS:
        raise InvalidInvoice(f"an invoice is {' or '.join(KINDS)}, not {kind!r}")
    for role, party in (("seller", seller), ("buyer", buyer)):
        if not party.name.strip():
            raise InvalidInvoice(f"{role}.name is required")
        for name in ("name", "address", "phone", "bank", "account"):
            if len(getattr(party, name)) > MAX_FIELD:
                raise InvalidInvoice(f"{role}.{name} is at most {MAX_FIELD} characters")
        if party.credit_code is not None and not is_valid_credit_code(party.credit_code):
            raise InvalidInvoice(
                f"{role}.credit_code {party.credit_code!r} is no unified social credit code "
                "(18 characters, check character per GB 32100)"
            )
    if seller.credit_code is None:
        raise InvalidInvoice("seller.credit_code is required")
    if seller.individual:
        raise InvalidInvoice("the seller is an organisation")
    if kind == SPECIAL:
        if buyer.individual:
            raise InvalidInvoice("a 专票 is issued to an organisation, not an individual")
        missing = [
            name
            for name in ("credit_code", "address", "phone", "bank", "account")
            if not getattr(buyer, name)
        ]
        if missing:
            raise InvalidInvoice(f"a 专票 names the buyer's {', '.join(missing)}")
    elif buyer.credit_code is None and not buyer.individual:
        raise InvalidInvoice("buyer.credit_code is required unless the buyer is an individual")
