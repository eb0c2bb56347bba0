"""GTINs and GS1 Digital Link URIs for items (GS1 Digital Link URI syntax 1.2).

We print one form, ``{base}/01/{GTIN-14}/10/{lot}/21/{serial}``, and read every form the
standard allows for an item identified by a GTIN:

- an optional path prefix before ``/01/`` (``https://brand.example/dl/01/...``);
- GTIN-8, -12 and -13 in the path, padded to GTIN-14 (the check digit must hold);
- the key qualifiers of AI 01 in the path, each at most once and in the standard order
  ``22`` (consumer product variant), ``10`` (batch/lot), ``21`` (serial);
- data attributes in the query string (``?17=271231`` expiry, ``11`` production date, ...);
- other query parameters (``linkType``, ``context``, ...) passed through untouched.

Values are percent-decoded after the path is split on ``/``, so a lot ``A/1`` travels as
``A%2F1``. On the way out every character outside RFC 3986's unreserved set is
percent-encoded. Out-of-order or repeated qualifiers, unknown AIs, AIs in the wrong place,
values outside GS1's character set 82 and a wrong GTIN check digit are refused with an
error that says which.

`parse_link_key` reads the key of a Digital Link with any primary key (SSCC, GLN, GIAI, ...)
for EPCIS identifiers: item links through the parser above, every other link through biip's
``GS1DigitalLinkURI``, which is lenient where this resolver must be strict.

Why the item parser is ours and not biip (5.2) underneath: biip reads the same pairs from
every link we accept (the property tests check it), but it accepts what a resolver must
refuse: a wrong GTIN check digit (it only notes ``gtin_error``), GTINs in other scripts'
digits, AI 235 after the serial, key qualifiers and unknown AIs in the query string, a
repeated query AI (it keeps the last) and malformed percent-escapes (``%zz`` stays as it
is). Its errors do not say which rule failed ("Expected one of (235) as qualifier, got
'10'" for a lot after the serial). Checking our rules first and then letting biip parse
again would run every rule twice, and biip is slower: ``bench/gs1_parse_bench.py`` prints
both, and measured ``parse_item_path`` at 5 to 12 times biip's links per second on the same
links (2 shared cores). The GS1 mod-10 check digit is biip's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from urllib.parse import parse_qsl, quote, unquote, urlsplit, urlunsplit

from biip import ParseError
from biip.checksums import gs1_standard_check_digit
from biip.gs1_digital_link_uris import GS1DigitalLinkURI

from trace_api.codes.errors import InvalidDigitalLink, InvalidGtin

# GS1 General Specifications, figure 7.11-1: the characters an AI of format X may hold.
_CSET82 = re.compile(r"[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]+")
_QUALIFIERS = ("22", "10", "21")  # of AI 01, in the order the standard fixes
_QUALIFIER_NAMES = {"22": "consumer product variant", "10": "batch/lot", "21": "serial"}
_DATE_AIS = {
    "11": "production date",
    "12": "due date",
    "13": "packaging date",
    "15": "best before date",
    "16": "sell by date",
    "17": "expiration date",
}
_ATTRIBUTES: dict[str, tuple[str, re.Pattern[str]]] = {
    **{ai: (name, re.compile(r"\d{6}")) for ai, name in _DATE_AIS.items()},
    "7003": ("expiration date and time", re.compile(r"\d{10}")),
    "30": ("variable count", re.compile(r"\d{1,8}")),
    **{f"310{d}": ("net weight, kg", re.compile(r"\d{6}")) for d in "012345"},
    **{f"315{d}": ("net volume, litres", re.compile(r"\d{6}")) for d in "012345"},
}
_UNRESERVED = re.compile(r"[A-Za-z0-9._~-]*")  # RFC 3986 section 2.3
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_OTHER_PRIMARY_KEYS = {"00", "253", "255", "401", "402", "414", "417", "8003", "8004", "8006"}
_SHORT_NAMES = {"gtin": "01", "cpv": "22", "lot": "10", "ser": "21", "exp": "17"}


def gtin_check_digit(payload: str) -> int:
    """The GS1 mod-10 check digit of the digits before it (weights 3, 1, ... from the right)."""
    return gs1_standard_check_digit(payload)


def normalise_gtin(text: str) -> str:
    """A GTIN-8, -12, -13 or -14 as GTIN-14; InvalidGtin says what is wrong otherwise."""
    digits = text.strip()
    if not digits.isascii() or not digits.isdigit():
        raise InvalidGtin(f"a GTIN has only digits, got {text!r}")
    if len(digits) not in (8, 12, 13, 14):
        raise InvalidGtin(f"a GTIN has 8, 12, 13 or 14 digits, got {len(digits)}")
    expected = gtin_check_digit(digits[:-1])
    if int(digits[-1]) != expected:
        raise InvalidGtin(f"GTIN {digits} has check digit {digits[-1]}, expected {expected}")
    return digits.zfill(14)


def check_ai_value(ai: str, value: str, *, max_length: int = 20) -> str:
    """A value for an AI of format X..20 (lot, serial, variant): 1-20 characters of set 82."""
    if not value or len(value) > max_length:
        raise InvalidDigitalLink(
            f"AI {ai} holds 1 to {max_length} characters, got {len(value)}", ai=ai
        )
    if not _CSET82.fullmatch(value):
        bad = next(c for c in value if not _CSET82.fullmatch(c))
        raise InvalidDigitalLink(f"AI {ai} may not contain {bad!r} (GS1 character set 82)", ai=ai)
    return value


def encode_value(value: str) -> str:
    """Percent-encode an AI value for a URI path segment (all but RFC 3986 unreserved)."""
    if _UNRESERVED.fullmatch(value):  # serials always: skip the general encoder
        return value
    return quote(value, safe="")


def item_uri(base: str, gtin: str, lot: str, serial: str) -> str:
    """The GS1 Digital Link URI printed on an item's label."""
    return f"{base}/01/{gtin}/10/{encode_value(lot)}/21/{encode_value(serial)}"


@dataclass(frozen=True)
class ItemLink:
    """What a GS1 Digital Link URI says about an item."""

    gtin: str
    lot: str | None = None
    serial: str | None = None
    variant: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)  # data attributes by AI
    prefix: str = ""  # the path before /01/, without a trailing slash
    params: dict[str, str] = field(default_factory=dict)  # non-GS1 query parameters

    def uri(self, base: str) -> str:
        """The link under ``base``, qualifiers in the path and attributes in the query."""
        path = f"{base}/01/{self.gtin}"
        for ai, value in (("22", self.variant), ("10", self.lot), ("21", self.serial)):
            if value is not None:
                path += f"/{ai}/{encode_value(value)}"
        if self.attributes:
            path += "?" + "&".join(
                f"{ai}={encode_value(v)}" for ai, v in sorted(self.attributes.items())
            )
        return path


def parse_item_link(text: str) -> ItemLink:
    """Parse a GS1 Digital Link URI (or its path and query) for an item identified by a GTIN."""
    parts = urlsplit(text)
    if parts.scheme not in ("", "http", "https"):
        raise InvalidDigitalLink(f"a GS1 Digital Link is http or https, got {parts.scheme!r}")
    return parse_item_path(parts.path, parts.query)


def parse_item_path(path: str, query: str = "") -> ItemLink:
    """`parse_item_link` of a URI's path and query as they are, still percent-encoded."""
    if not path.startswith("/"):
        raise InvalidDigitalLink("a GS1 Digital Link path starts with '/'")
    segments = path.split("/")[1:]
    try:
        start = segments.index("01")
    except ValueError:
        raise InvalidDigitalLink(_no_gtin_reason(segments)) from None
    prefix = "/".join(segments[:start])
    pairs = segments[start:]
    if len(pairs) % 2:
        raise InvalidDigitalLink(f"AI {pairs[-1]} has no value: the path ends after its key")
    values = [_decode(segment) for segment in pairs[1::2]]
    gtin = _gtin(values[0])
    qualifiers: dict[str, str] = {}
    expected = list(_QUALIFIERS)
    for key, value in zip(pairs[2::2], values[1:], strict=True):
        _check_qualifier(key, expected, qualifiers)
        expected = expected[expected.index(key) + 1 :]
        qualifiers[key] = check_ai_value(key, value)
    attributes, params = _query(query) if query else ({}, {})
    return ItemLink(
        gtin=gtin,
        lot=qualifiers.get("10"),
        serial=qualifiers.get("21"),
        variant=qualifiers.get("22"),
        attributes=attributes,
        prefix=f"/{prefix}" if prefix else "",
        params=params,
    )


def parse_link_key(uri: str) -> tuple[tuple[str, str], ...]:
    """The primary key and key qualifiers in a GS1 Digital Link URI's path, as (AI, value).

    Any primary key biip knows (00, 01, 414, 417, 8004, ...), pairs in path order, values
    percent-decoded, a GTIN as GTIN-14 with its check digit verified. The query string is not
    read: it holds data attributes, not the key. InvalidDigitalLink when it is no such link.
    """
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https"):
        raise InvalidDigitalLink(f"a GS1 Digital Link is http or https, got {parts.scheme!r}")
    try:  # an item link as we print it: the fast parser, which reads what biip would
        link = parse_item_path(parts.path)
    except InvalidDigitalLink:
        pass
    else:
        qualifiers = (("22", link.variant), ("10", link.lot), ("21", link.serial))
        return (("01", link.gtin), *((ai, v) for ai, v in qualifiers if v is not None))
    try:
        parsed = GS1DigitalLinkURI.parse(urlunsplit((*parts[:3], "", "")))
    except ParseError as exc:
        raise InvalidDigitalLink(str(exc)) from None
    pairs = [(e.ai.ai, e.value) for e in parsed.element_strings]
    if pairs[0][0] == "01":  # biip notes a wrong check digit but takes the GTIN
        pairs[0] = ("01", _gtin(pairs[0][1]))
    return tuple(pairs)


def _no_gtin_reason(segments: list[str]) -> str:
    for segment in segments:
        if segment in _OTHER_PRIMARY_KEYS:
            return f"this resolver answers items identified by a GTIN (AI 01), not AI {segment}"
        if segment in _SHORT_NAMES:
            return (
                f"short names such as {segment!r} are not part of GS1 Digital Link 1.2: "
                f"use AI {_SHORT_NAMES[segment]}"
            )
    return "no GTIN: a GS1 Digital Link for an item has '/01/{gtin}' in its path"


def _decode(segment: str) -> str:
    if not segment:
        raise InvalidDigitalLink("empty path segment (two slashes, or a trailing slash)")
    if "%" not in segment:
        return segment
    if _BAD_PERCENT.search(segment):
        raise InvalidDigitalLink(f"bad percent-encoding in {segment!r}")
    try:
        return unquote(segment, errors="strict")
    except UnicodeDecodeError:
        raise InvalidDigitalLink(f"{segment!r} is not percent-encoded UTF-8") from None


@lru_cache(maxsize=4096)  # a resolver sees the same few GTINs over and over
def _gtin(value: str) -> str:
    try:
        return normalise_gtin(value)
    except InvalidGtin as exc:
        raise InvalidDigitalLink(exc.detail, ai="01") from None


def _check_qualifier(key: str, expected: list[str], seen: dict[str, str]) -> None:
    if key in expected:
        return
    if key in seen:
        raise InvalidDigitalLink(f"AI {key} appears twice in the path", ai=key)
    if key in _QUALIFIERS:
        later = next(q for q in seen if _QUALIFIERS.index(q) > _QUALIFIERS.index(key))
        raise InvalidDigitalLink(
            f"AI {key} ({_QUALIFIER_NAMES[key]}) must come before AI {later} "
            f"({_QUALIFIER_NAMES[later]}): the order is 22, 10, 21",
            ai=key,
        )
    if key in _ATTRIBUTES:
        raise InvalidDigitalLink(
            f"AI {key} ({_ATTRIBUTES[key][0]}) is a data attribute: put it in the query "
            f"string as ?{key}=...",
            ai=key,
        )
    if key in _SHORT_NAMES:
        raise InvalidDigitalLink(
            f"short names such as {key!r} are not part of GS1 Digital Link 1.2: "
            f"use AI {_SHORT_NAMES[key]}",
            ai=key,
        )
    raise InvalidDigitalLink(f"unknown or unexpected AI {key!r} after the GTIN", ai=key)


def _query(query: str) -> tuple[dict[str, str], dict[str, str]]:
    attributes: dict[str, str] = {}
    params: dict[str, str] = {}
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=False, errors="strict")
    except UnicodeDecodeError:
        raise InvalidDigitalLink("bad percent-encoding in the query string") from None
    for key, value in pairs:
        if not key.isdigit():
            params[key] = value
            continue
        if key in attributes:
            raise InvalidDigitalLink(f"AI {key} appears twice in the query string", ai=key)
        if key in _QUALIFIERS or key == "01":
            raise InvalidDigitalLink(
                f"AI {key} is part of the item's key and belongs in the path", ai=key
            )
        spec = _ATTRIBUTES.get(key)
        if spec is None:
            raise InvalidDigitalLink(f"unknown AI {key!r} in the query string", ai=key)
        name, pattern = spec
        if not pattern.fullmatch(value):
            raise InvalidDigitalLink(f"AI {key} ({name}) has a malformed value {value!r}", ai=key)
        if key in _DATE_AIS:
            gs1_date(value)
        attributes[key] = value
    return attributes, params


def gs1_date(value: str) -> date:
    """A GS1 YYMMDD date (DD 00 means the month's last day; the century as GS1 fixes it)."""
    if not re.fullmatch(r"\d{6}", value):
        raise InvalidDigitalLink(f"a GS1 date is YYMMDD, got {value!r}")
    yy, mm, dd = int(value[:2]), int(value[2:4]), int(value[4:])
    this_year = datetime.now(UTC).year
    year = this_year // 100 * 100 + yy
    if year - this_year >= 51:  # GS1 General Specifications 7.12
        year -= 100
    elif this_year - year > 49:
        year += 100
    if not 1 <= mm <= 12:
        raise InvalidDigitalLink(f"GS1 date {value}: month {mm:02d} does not exist")
    if dd == 0:
        nxt = date(year + (mm == 12), mm % 12 + 1, 1)
        return date.fromordinal(nxt.toordinal() - 1)
    try:
        return date(year, mm, dd)
    except ValueError:
        raise InvalidDigitalLink(f"GS1 date {value}: day {dd:02d} does not exist") from None
