"""Identifiers in EPCIS events, reduced to one key so a query matches either spelling.

An item may be written as an EPC URN (``urn:epc:id:sgtin:0614141.107346.2017``) or as a
GS1 Digital Link URI on any domain (``https://brand.example/01/10614141073464/21/2017``,
with or without a ``/10/{lot}`` qualifier). Both become the canonical Digital Link
``https://id.gs1.org/01/10614141073464/21/2017``: the GS1 key and, for an instance, its
serial; lot and CPV qualifiers and query strings are dropped because they do not identify
the item. Locations and parties get the same treatment (SGLN <-> ``/414/{gln}/254/{ext}``,
PGLN <-> ``/417/{gln}``, SSCC <-> ``/00/{sscc}``, ...). An identifier that is not a GS1 key
(``urn:uuid:...``, a private URL) is its own key.

CBV vocabulary values are compared in their bare form: ``shipping``,
``urn:epcglobal:cbv:bizstep:shipping`` and ``https://ref.gs1.org/cbv/BizStep-shipping``
are all ``shipping``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote

from epcpy.utils.parsers import epc_pure_identity_to_gs1_element_string, get_gs1_key

from trace_api.codes.errors import InvalidDigitalLink
from trace_api.codes.gs1 import gtin_check_digit, parse_link_key
from trace_api.errors import InvalidInput

CANONICAL_BASE = "https://id.gs1.org"
_SSCC_DIGITS = re.compile(r"[0-9]{18}")  # ASCII only: \d also matches other scripts
_SSCC_KEY = re.compile(re.escape(CANONICAL_BASE) + r"/00/([0-9]{18})")
# The AIs whose values identify a thing (GS1 Digital Link primary keys with the qualifiers
# that belong to the identity: 21 for an instance of a GTIN, 10 for a lot-level class).
_IDENTITY_AIS = {"00", "01", "21", "10", "253", "254", "255", "401", "402", "414", "417"}
_IDENTITY_AIS |= {"8003", "8004", "8006", "8010", "8011", "8017", "8018"}
# epcpy's element strings: one AI, or a key of digits (or CPI characters, which hold no
# "(") followed by one qualifier whose value runs to the end and may itself hold "(".
_KEYS_WITH_QUALIFIER = ("01", "414", "8006", "8010")
_QUALIFIER_MARK = re.compile(r"\((10|21|235|254|8011)\)")
_CBV_URN = re.compile(r"urn:epcglobal:cbv:(?:bizstep|disp|btt|sdt|er):(.+)")
_CBV_WEB = re.compile(r"https?://ref\.gs1\.org/cbv/(?:BizStep|Disp|BTT|SDT|ER)-(.+)")


class IdentifierPatternError(ValueError):
    """A query pattern this repository cannot evaluate."""


@dataclass(frozen=True)
class Match:
    """How to match stored keys: equal to ``key``, or starting with it when ``prefix``."""

    key: str
    prefix: bool = False


def _check_digit(payload: str) -> str:
    return str(gtin_check_digit(payload))


def _dl(*pairs: tuple[str, str]) -> str:
    return CANONICAL_BASE + "".join(f"/{ai}/{quote(value, safe='')}" for ai, value in pairs)


def _element_pairs(element_string: str) -> list[tuple[str, str]]:
    """(AI, value) of an element string as epcpy writes it (``(01)…(21)…``, ``(8004)…``)."""
    ai, _, rest = element_string[1:].partition(")")
    if ai in _KEYS_WITH_QUALIFIER and (m := _QUALIFIER_MARK.search(rest)):
        return [(ai, rest[: m.start()]), (m[1], rest[m.end() :])]
    return [(ai, rest)]


def _from_urn(uri: str) -> str | None:
    if uri.startswith("urn:epc:idpat:") and not uri.endswith("*"):
        uri = uri.replace(":idpat:", ":id:", 1)  # a pattern without a wildcard is one EPC
    try:
        element_string = epc_pure_identity_to_gs1_element_string(uri)
    except Exception:  # epcpy raises bare ValueErrors and its own types alike
        return None
    pairs = [(ai, v) for ai, v in _element_pairs(element_string) if ai in _IDENTITY_AIS]
    return _dl(*pairs) if pairs else None


def _sgtin_pattern_gtin(pattern: str) -> str | None:
    """The GTIN of ``urn:epc:idpat:sgtin:C.R.*`` (every serial of one GTIN), else None."""
    if not pattern.startswith("urn:epc:idpat:sgtin:") or "*" in pattern[:-2]:
        return None
    if not pattern.endswith(".*"):
        return None
    try:
        return str(get_gs1_key(pattern))
    except Exception:  # epcpy's ConvertException, or a ValueError from its parts
        return None


def _from_digital_link(uri: str) -> str | None:
    try:
        pairs = [(ai, v) for ai, v in parse_link_key(uri) if ai in _IDENTITY_AIS]
    except InvalidDigitalLink:
        return None
    if any(ai == "21" for ai, _ in pairs):  # an instance: the lot does not identify it
        pairs = [(ai, value) for ai, value in pairs if ai != "10"]
    return _dl(*pairs) if pairs else None


@lru_cache(maxsize=65536)
def canonical(uri: str) -> str:
    """The key an identifier is stored and matched under (see the module docstring)."""
    text = uri.strip()
    if text.startswith("urn:epc:"):
        return _from_urn(text) or text
    if text.startswith(("http://", "https://")) and re.search(r"/(0[01]|\d{3,4})/", text):
        return _from_digital_link(text) or text
    return text


def sscc_key(text: str) -> str | None:
    """The key of an SSCC given as 18 digits, an SSCC EPC URN or a ``/00/`` Digital Link.

    None when ``text`` is none of these, so a caller can try item forms; InvalidInput when
    it is one with a wrong check digit.
    """
    value = text.strip()
    if _SSCC_DIGITS.fullmatch(value):
        sscc = value
    elif m := _SSCC_KEY.fullmatch(canonical(value)):
        sscc = m[1]
    else:
        return None
    expected = _check_digit(sscc[:17])
    if sscc[17] != expected:
        raise InvalidInput(f"SSCC {sscc} has check digit {sscc[17]}, expected {expected}")
    return _dl(("00", sscc))


def match_for(pattern: str) -> Match:
    """How a query value matches stored keys: an identifier in any form, or an EPC pattern.

    Patterns with a wildcard in the last component only (``urn:epc:idpat:sgtin:C.R.*``,
    ``urn:epc:idpat:sscc:C.*``) are supported; others raise IdentifierPatternError.
    """
    text = pattern.strip()
    if not text.startswith("urn:epc:idpat:"):
        return Match(canonical(text))
    if gtin := _sgtin_pattern_gtin(text):
        return Match(_dl(("01", gtin)) + "/21/", prefix=True)
    if text.startswith("urn:epc:idpat:sscc:") and text.endswith(".*"):
        raise IdentifierPatternError(
            f"{pattern}: an SSCC pattern without a serial reference cannot be matched "
            "(the extension digit is unknown); list the SSCCs instead"
        )
    raise IdentifierPatternError(
        f"{pattern}: only EPC patterns whose last component is '*' are supported"
    )


def class_key(uri: str) -> str:
    """The key of a class-level identifier (``epcClass``): LGTIN, GTIN pattern or DL."""
    text = uri.strip()
    if gtin := _sgtin_pattern_gtin(text):
        return _dl(("01", gtin))
    return canonical(text)


def cbv_term(value: str) -> str:
    """A CBV vocabulary value in its bare form; anything else unchanged."""
    text = value.strip()
    for pattern in (_CBV_URN, _CBV_WEB):
        if m := pattern.fullmatch(text):
            return m[1]
    return text
