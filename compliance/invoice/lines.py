"""Invoice lines and totals, exact to the fen.

A line's unit price is entered without tax or with it:

- without tax: 金额 = round(数量 × 单价), 税额 = round(金额 × 税率);
- with tax: 价税合计 = round(数量 × 含税单价), 税额 = round(价税合计 ÷ (1 + 税率) × 税率),
  金额 = 价税合计 − 税额;

each round is half up to the fen (`compliance.invoice.money.fen`). A discount line (折扣行)
follows the line it discounts, with the same name, code and rate, a negative amount in the
same price mode and no quantity or price, and is computed the same way. The totals are
the sums of the lines' 金额 and 税额, and 价税合计 is their sum: the total with tax is the
sum of the lines to the fen by construction.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from compliance.errors import InvalidInvoice
from compliance.invoice.money import MAX_AMOUNT, amount_of, fen, quantity_of
from compliance.invoice.rates import TaxRate

ITEM_NAME = re.compile(r"\*[^*\s][^*]*\*[^*\s][^*]*")  # 「*简称*名称」: *酒*白酒
TAX_CODE = re.compile(r"[0-9]{19}")
NON_TAXABLE_CATEGORY = "6"  # 未发生销售行为的不征税项目
MAX_TEXT = 100


@dataclass(frozen=True, slots=True)
class LineInput:
    """A line as entered. A discount line has ``discount`` set and an ``amount`` (negative,
    with or without tax as ``price_includes_tax`` says) instead of quantity and price."""

    name: str
    tax_code: str
    rate: TaxRate
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    price_includes_tax: bool = False
    specification: str = ""
    unit: str = ""
    discount: bool = False
    amount: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Line:
    """A line computed: 金额 (``amount``, without tax), 税额 (``tax``) and 价税合计
    (``total``), each to the fen."""

    entered: LineInput
    amount: Decimal
    tax: Decimal
    discounted: bool  # a discount line follows this one (被折扣行)

    @property
    def total(self) -> Decimal:
        return self.amount + self.tax


@dataclass(frozen=True, slots=True)
class Totals:
    amount: Decimal  # 合计金额
    tax: Decimal  # 合计税额

    @property
    def total(self) -> Decimal:  # 价税合计
        return self.amount + self.tax


def split_tax(gross: Decimal, rate: TaxRate) -> tuple[Decimal, Decimal]:
    """(金额, 税额) of a 价税合计 already in fen."""
    tax = fen(gross / (1 + rate.rate) * rate.rate)
    return gross - tax, tax


def compute_line(line: LineInput, *, sign: int = 1) -> tuple[Decimal, Decimal]:
    """(金额, 税额) of one line; ``sign`` -1 for a red-letter invoice's lines, whose
    quantities (or a discount's amount) are negative."""
    if line.discount:
        if line.amount is None:
            raise InvalidInvoice("a discount line gives its amount")
        base = line.amount
    else:
        if line.quantity is None or line.unit_price is None:
            raise InvalidInvoice("a line gives its quantity and unit price")
        base = fen(line.quantity * line.unit_price)
    if line.price_includes_tax:
        return split_tax(base, line.rate)
    return base, fen(base * line.rate.rate)


def check_entered(line: LineInput, where: str, *, red: bool) -> None:
    """The rules a line must follow before it is computed (InvalidInvoice naming it)."""
    if not isinstance(line.name, str) or ITEM_NAME.fullmatch(line.name) is None:
        raise InvalidInvoice(f"{where}.name must read *简称*名称 (e.g. *酒*白酒)")
    if len(line.name) > MAX_TEXT or len(line.specification) > MAX_TEXT or len(line.unit) > 20:
        raise InvalidInvoice(
            f"{where}: name and specification are at most {MAX_TEXT} characters, unit 20"
        )
    if not isinstance(line.tax_code, str) or TAX_CODE.fullmatch(line.tax_code) is None:
        raise InvalidInvoice(f"{where}.tax_code must be the 19-digit tax classification code")
    in_category_6 = line.tax_code.startswith(NON_TAXABLE_CATEGORY)
    if line.rate.non_taxable != in_category_6:
        raise InvalidInvoice(
            f"{where}: 不征税 goes with a tax classification code of category 6, and only it"
        )
    negative = -1 if red else 1
    kind, sign = ("a red", "positive") if red else ("a blue", "negative")
    if line.discount:
        if line.quantity is not None or line.unit_price is not None or line.amount is None:
            raise InvalidInvoice(f"{where}: a discount line has an amount, no quantity or price")
        amount = amount_of(line.amount, f"{where}.amount")
        if amount * negative >= 0:
            raise InvalidInvoice(f"{where}.amount: a discount on {kind} invoice is {sign}")
        return
    if line.amount is not None:
        raise InvalidInvoice(f"{where}: a line's amount is computed from its quantity and price")
    if line.quantity is None or line.unit_price is None:
        raise InvalidInvoice(f"{where}: a line gives its quantity and unit price")
    quantity = quantity_of(line.quantity, f"{where}.quantity")
    price = quantity_of(line.unit_price, f"{where}.unit_price")
    if quantity * negative <= 0:
        raise InvalidInvoice(
            f"{where}.quantity on {kind} invoice is {'negative' if red else 'positive'}"
        )
    if price < 0:
        raise InvalidInvoice(f"{where}.unit_price must not be negative")
    if abs(quantity * price) > MAX_AMOUNT:
        raise InvalidInvoice(f"{where}: quantity times unit price is beyond {MAX_AMOUNT}")


def compute_lines(entered: Sequence[LineInput], *, red: bool = False) -> tuple[Line, ...]:
    """Every line computed, after the rules of each and of discount pairs are checked."""
    if not entered:
        raise InvalidInvoice("an invoice has at least one line")
    if len(entered) > 2000:
        raise InvalidInvoice("an invoice has at most 2000 lines")
    computed: list[tuple[Decimal, Decimal]] = []
    for n, line in enumerate(entered):
        where = f"lines[{n}]"
        check_entered(line, where, red=red)
        if line.discount:
            if n == 0 or entered[n - 1].discount:
                raise InvalidInvoice(f"{where}: a discount line follows the line it discounts")
            before = entered[n - 1]
            if (before.name, before.tax_code, before.rate) != (line.name, line.tax_code, line.rate):
                raise InvalidInvoice(
                    f"{where}: a discount line has the name, code and rate of its line"
                )
            if before.price_includes_tax != line.price_includes_tax:
                raise InvalidInvoice(
                    f"{where}: a discount is entered with or without tax as its line"
                )
        computed.append(compute_line(line))
    lines = []
    for n, (line, (amount, tax)) in enumerate(zip(entered, computed, strict=True)):
        followed = n + 1 < len(entered) and entered[n + 1].discount
        if followed:
            off = computed[n + 1][0] + computed[n + 1][1]
            if abs(off) > abs(amount + tax):
                raise InvalidInvoice(f"lines[{n + 1}]: a discount is at most the line it discounts")
        if abs(amount + tax) > MAX_AMOUNT:
            raise InvalidInvoice(f"lines[{n}]: its total with tax is beyond {MAX_AMOUNT}")
        lines.append(Line(line, amount, tax, followed))
    totals = sum_lines(lines)
    if abs(totals.total) > MAX_AMOUNT:
        raise InvalidInvoice(f"an invoice's total with tax is at most {MAX_AMOUNT}")
    return tuple(lines)


def sum_lines(lines: Iterable[Line]) -> Totals:
    amount = tax = Decimal("0.00")
    for line in lines:
        amount += line.amount
        tax += line.tax
    return Totals(amount, tax)
