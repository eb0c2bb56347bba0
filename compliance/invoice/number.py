"""The 20-digit 数电票 number: positions 1-2 the year's last two digits, 3-4 the province
code (the first two digits of the issuing organisation's GB/T 2260 division code), 5 the
issuing channel, 6-20 the sequence within the tenant, year and channel, from 1."""

from __future__ import annotations

import re
from dataclasses import dataclass

from compliance.errors import InvalidInvoice

PROVINCES = frozenset(  # GB/T 2260, and 71 Taiwan, 81 Hong Kong, 82 Macao
    (
        *("11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35"),
        *("36", "37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54"),
        *("61", "62", "63", "64", "65", "71", "81", "82"),
    )
)
MAX_SEQUENCE = 10**15 - 1
_NUMBER = re.compile(r"[0-9]{20}")


@dataclass(frozen=True, slots=True, order=True)
class InvoiceNumber:
    year: int  # the full year, e.g. 2026
    province: str  # two digits
    channel: int  # 0-9
    sequence: int  # 1 .. 10**15 - 1

    def __post_init__(self) -> None:
        if not 2000 <= self.year <= 2099:
            raise InvalidInvoice(f"an invoice year lies in 2000-2099, not {self.year}")
        if self.province not in PROVINCES:
            raise InvalidInvoice(f"{self.province!r} is no province code of GB/T 2260")
        if not 0 <= self.channel <= 9:
            raise InvalidInvoice("the issuing channel is one digit")
        if not 1 <= self.sequence <= MAX_SEQUENCE:
            raise InvalidInvoice(f"an invoice sequence lies in 1-{MAX_SEQUENCE}")

    def __str__(self) -> str:
        return f"{self.year % 100:02d}{self.province}{self.channel}{self.sequence:015d}"

    @classmethod
    def parse(cls, text: str) -> InvoiceNumber:
        """The number written as 20 digits (InvalidInvoice otherwise)."""
        if not isinstance(text, str) or _NUMBER.fullmatch(text) is None:
            raise InvalidInvoice("an invoice number is 20 digits")
        return cls(2000 + int(text[:2]), text[2:4], int(text[4]), int(text[5:]))


def province_of(division_code: str) -> str:
    """The province code of a GB/T 2260 division code (six digits, or its prefix)."""
    if not isinstance(division_code, str) or not re.fullmatch(r"[0-9]{2,6}", division_code):
        raise InvalidInvoice("a division code is GB/T 2260 digits")
    province = division_code[:2]
    if province not in PROVINCES:
        raise InvalidInvoice(f"{division_code} lies in no province of GB/T 2260")
    return province
