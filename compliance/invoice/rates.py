"""The tax rates a 数电票 line may carry: 13, 9, 6, 5, 3, 1 and 0 percent, exempt (免税)
and non-taxable (不征税). An exempt or non-taxable line has no tax; what tells them from
0% is the 零税率标识 they print as (免税, 不征税) and, for 不征税, a tax classification code
of category 6 (未发生销售行为的不征税项目)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from compliance.errors import InvalidInvoice


@dataclass(frozen=True, slots=True)
class TaxRate:
    """A rate as the invoice writes it (``label``) and as it computes (``rate``)."""

    label: str  # "13%" ... "0%", "免税", "不征税"
    rate: Decimal

    @property
    def exempt(self) -> bool:
        return self.label == EXEMPT.label

    @property
    def non_taxable(self) -> bool:
        return self.label == NON_TAXABLE.label


PERCENTAGES = (13, 9, 6, 5, 3, 1, 0)
EXEMPT = TaxRate("免税", Decimal(0))
NON_TAXABLE = TaxRate("不征税", Decimal(0))
RATES: dict[str, TaxRate] = {
    **{f"{p}%": TaxRate(f"{p}%", Decimal(p) / 100) for p in PERCENTAGES},
    EXEMPT.label: EXEMPT,
    NON_TAXABLE.label: NON_TAXABLE,
}
_ALIASES = {"exempt": EXEMPT.label, "non-taxable": NON_TAXABLE.label}


def tax_rate(text: str) -> TaxRate:
    """The rate named ``13%`` ... ``0%``, ``免税`` (or ``exempt``), ``不征税`` (or
    ``non-taxable``)."""
    found = RATES.get(_ALIASES.get(text, text)) if isinstance(text, str) else None
    if found is None:
        raise InvalidInvoice(f"a tax rate is one of {', '.join(RATES)}, not {text!r}")
    return found
