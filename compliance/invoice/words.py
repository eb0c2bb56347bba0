"""The total in Chinese capitals (大写金额), by the payment-settlement rules.

`cn2an.an2cn(x, "rmb")` writes the digits, units and zeros (零 inside and across the 万 and
亿 groups, 整 after 元, none after 角 or 分, which the rules allow); this wraps it: the
amount is rounded half up to the fen first (cn2an would cut the third decimal off), and a
negative amount, a red-letter invoice's, is 负 before the capitals of its magnitude.
"""

from __future__ import annotations

from decimal import Decimal

import cn2an

from compliance.errors import InvalidInvoice
from compliance.invoice.money import MAX_AMOUNT, fen, money_text

NEGATIVE = "负"


def amount_in_words(amount: Decimal) -> str:
    """``amount`` in 大写, e.g. ``Decimal("100100")`` -> 壹拾万零壹佰元整."""
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise InvalidInvoice("the amount in words needs a finite Decimal")
    rounded = fen(amount)
    if abs(rounded) > MAX_AMOUNT:
        raise InvalidInvoice(f"an invoice amount is at most {MAX_AMOUNT}")
    words: str = cn2an.an2cn(money_text(abs(rounded)), "rmb")
    return NEGATIVE + words if rounded < 0 else words
