"""GB/T 2260 administrative divisions: the code table, and which code covers which.

The table is the Ministry of Civil Affairs' list of county-level-and-above division codes
(中华人民共和国县以上行政区划代码), shipped as package data (``data/gbt2260.csv``; its source
and date are in ``data/SOURCE.md``). Codes are six digits: ``XX0000`` is a province,
``XXYY00`` a prefecture-level city, anything else a county-level unit.

`covers` and its helpers work on the code's shape alone, so territory checks in hot loops
never touch the table; `lookup` and `display_name` read it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Literal

TABLE_VERSION = "MCA 2024, as at 2024-12-31"
_DATA_FILE = "gbt2260.csv"
_CODE = re.compile(r"[0-9]{6}")
# Grouping rows older lists carry (110100 市辖区, 429000 省直辖县级行政区划): they are
# kept as divisions but left out of display names, where they say nothing.
_PLACEHOLDER_NAMES = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})

Level = Literal["province", "city", "county"]


class InvalidDivision(ValueError):
    """A code that is not six digits (``malformed``) or is not in the table (``unknown``)."""

    def __init__(self, code: str, reason: Literal["malformed", "unknown"], message: str) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class Division:
    """One row of the table, with its level and the nearest listed division above it."""

    code: str
    name: str
    level: Level
    parent: str | None


def check_code(code: str) -> str:
    """The code if it has the shape of a GB/T 2260 code (six ASCII digits); raises otherwise."""
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        raise InvalidDivision(
            str(code),
            "malformed",
            f"{code!r} is not a GB/T 2260 division code: a code is six digits, like '330106'",
        )
    return code


def level_of(code: str) -> Level:
    """The level the code's shape says: ``XX0000`` province, ``XXYY00`` city, else county."""
    check_code(code)
    if code[2:] == "0000":
        return "province"
    if code[4:] == "00":
        return "city"
    return "county"


def coverage_prefix(authorised: str) -> str:
    """The prefix a territory's codes share: two digits for a province, four for a city.

    A county's prefix is the whole code. ``observed.startswith(prefix)`` is then `covers`
    for a well-formed six-digit ``observed``; "" (covering nothing) for a malformed code.
    """
    if len(authorised) != 6:
        return ""
    if authorised.endswith("0000"):
        return authorised[:2]
    if authorised.endswith("00"):
        return authorised[:4]
    return authorised


def territory_prefixes(authorised: Iterable[str]) -> tuple[str, ...]:
    """The coverage prefixes of several territories, for ``observed.startswith(prefixes)``.

    Precompute this once per territory set in hot loops; malformed codes are dropped.
    """
    return tuple(p for p in map(coverage_prefix, authorised) if p)


def covers(authorised: str, observed: str) -> bool:
    """Whether a territory ``authorised`` includes the division ``observed``.

    A province covers every code with its two-digit prefix, a city every code with its
    four-digit prefix, a county only itself. Shape only (no table look-up); a string that
    is not six characters long covers and is covered by nothing.
    """
    if len(authorised) != 6 or len(observed) != 6:
        return False
    if authorised.endswith("0000"):
        return observed.startswith(authorised[:2])
    if authorised.endswith("00"):
        return observed.startswith(authorised[:4])
    return observed == authorised


def covered_by_any(authorised: Iterable[str], observed: str) -> bool:
    """Whether any of the ``authorised`` territories covers ``observed``."""
    return any(covers(territory, observed) for territory in authorised)


def province_of(code: str) -> str:
    """The province-level code (``XX0000``) a well-formed code belongs to."""
    return check_code(code)[:2] + "0000"


def same_province(a: str, b: str) -> bool:
    """Whether two well-formed codes belong to the same province-level division."""
    return check_code(a)[:2] == check_code(b)[:2]


class DivisionTable:
    """An immutable table of divisions, indexed by code."""

    def __init__(self, rows: Iterable[tuple[str, str]], version: str) -> None:
        names: dict[str, str] = {}
        for code, name in rows:
            check_code(code)
            if not name:
                raise ValueError(f"division {code} has no name")
            if code in names:
                raise ValueError(f"division {code} is listed twice")
            names[code] = name
        self.version = version
        self._divisions = {code: _division(code, name, names) for code, name in names.items()}

    def __len__(self) -> int:
        return len(self._divisions)

    def __iter__(self) -> Iterator[Division]:
        return iter(self._divisions.values())

    def is_known(self, code: str) -> bool:
        """Whether the code is a row of the table (a malformed code is not)."""
        return code in self._divisions

    def lookup(self, code: str) -> Division:
        """The division with this code; InvalidDivision if malformed or not in the table."""
        division = self._divisions.get(check_code(code))
        if division is not None:
            return division
        raise InvalidDivision(code, "unknown", self._unknown_message(code))

    def display_name(self, code: str) -> str:
        """The full path of names for reports, like ``浙江省 杭州市 西湖区``."""
        names: list[str] = []
        division: Division | None = self.lookup(code)
        while division is not None:
            if division.name not in _PLACEHOLDER_NAMES or division.code == code:
                names.append(division.name)
            division = self._divisions[division.parent] if division.parent else None
        return " ".join(reversed(names))

    def _unknown_message(self, code: str) -> str:
        message = f"{code} is not a division in the GB/T 2260 table ({self.version})"
        province = self._divisions.get(province_of(code))
        if province is None:
            return f"{message}; there is no province {code[:2]}0000"
        listed_below = code[4:] == "00" and any(c.startswith(code[:4]) for c in self._divisions)
        if listed_below:
            return (
                f"{message}; the counties {code[:4]}xx are listed directly under "
                f"{province.code} {province.name}"
            )
        return message


def _division(code: str, name: str, names: dict[str, str]) -> Division:
    level = level_of(code)
    if level == "province":
        return Division(code, name, level, None)
    province = code[:2] + "0000"
    if province not in names:
        raise ValueError(f"division {code} {name} has no province {province} in the table")
    if level == "city":
        return Division(code, name, level, province)
    city = code[:4] + "00"
    # Counties run directly by a province (429004 仙桃市) or a municipality's districts
    # in lists without 市辖区 rows (110101 东城区) have no city row: the province is next.
    return Division(code, name, level, city if city in names else province)


@lru_cache(maxsize=1)
def table() -> DivisionTable:
    """The shipped table, read once on first use."""
    text = resources.files("trace_api.channels").joinpath("data", _DATA_FILE).read_text("utf-8")
    reader = csv.DictReader(io.StringIO(text))
    return DivisionTable(((row["code"], row["name"]) for row in reader), TABLE_VERSION)


def lookup(code: str) -> Division:
    """The division with this code in the shipped table; InvalidDivision otherwise."""
    return table().lookup(code)


def is_known(code: str) -> bool:
    """Whether the code is in the shipped table."""
    return table().is_known(code)


def display_name(code: str) -> str:
    """The full path of names for reports, like ``浙江省 杭州市 西湖区``."""
    return table().display_name(code)
