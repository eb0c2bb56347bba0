"""Money and quantities as `Decimal`, never float, rounded to the fen half up.

金额 and 税额 have two decimals and at most 12 integer digits; a quantity or unit price
up to 13 decimals and 17 characters with its point and sign, as the 数电票 platform takes
them. Rounding is half up (away from zero for negatives, so a red line is the exact
negative of the blue one).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from compliance.errors import InvalidInvoice

FEN = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999999.99")
QUANTITY_PLACES = 13
QUANTITY_CHARS = 17


def fen(value: Decimal) -> Decimal:
    """``value`` rounded half up to the fen."""
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def decimal_of(value: object, what: str) -> Decimal:
    """A finite Decimal from a Decimal, an int or a plain decimal string (no float: its
    binary value is not the number written; no exponent, NaN or infinity)."""
    if isinstance(value, bool | float):
        raise InvalidInvoice(f"{what} must be a decimal string or an integer, not {value!r}")
    if isinstance(value, Decimal | int):
        number = Decimal(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text or any(c not in "0123456789.-+" for c in text):
            raise InvalidInvoice(f"{what} must be a plain decimal number, not {value!r}")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise InvalidInvoice(f"{what} must be a plain decimal number, not {value!r}") from None
    else:
        raise InvalidInvoice(f"{what} must be a decimal string or an integer")
    if not number.is_finite():
        raise InvalidInvoice(f"{what} must be a finite number")
    return number


def amount_of(value: object, what: str) -> Decimal:
    """An amount of money: at most two decimals and 12 integer digits."""
    number = decimal_of(value, what)
    if number != fen(number):
        raise InvalidInvoice(f"{what} has more than two decimals: {number}")
    if abs(number) > MAX_AMOUNT:
        raise InvalidInvoice(f"{what} is beyond {MAX_AMOUNT}")
    return fen(number)


def quantity_of(value: object, what: str) -> Decimal:
    """A quantity or unit price: at most 13 decimals and 17 characters."""
    number = decimal_of(value, what)
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -QUANTITY_PLACES:
        number = number.normalize()
        exponent = number.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -QUANTITY_PLACES:
            raise InvalidInvoice(f"{what} has more than {QUANTITY_PLACES} decimals")
    if len(plain(number)) > QUANTITY_CHARS:
        raise InvalidInvoice(f"{what} is longer than {QUANTITY_CHARS} characters")
    return number


def plain(number: Decimal) -> str:
    """``number`` written out without an exponent and without trailing zeros after the point
    (a whole number without a point)."""
    text = format(number, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def money_text(amount: Decimal) -> str:
    """An amount with exactly two decimals, as invoices print it."""
    return format(fen(amount), "f")
