"""How request JSON is read: bounded in depth before it is decoded, strict when it is.

Python's JSON decoder recurses in C for each level of nesting and only stops at the
interpreter's recursion limit, which py-ecc raises to 100,000 at import: a body nested that
deep overflows the C stack before the limit is reached. So the nesting is measured on the
raw bytes first, without recursion, and decoding happens only within a small bound. Then
the decode refuses what JSON parsers disagree on or what a database cannot hold: duplicate
member names (RFC 8259 leaves their meaning open; Python keeps the last), NaN and
Infinity (not JSON), NUL characters (PostgreSQL text cannot hold them) and unpaired
surrogates (not encodable as UTF-8).
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import numpy as np

# A sane ceiling for the interpreter, far below what the C stack of a thread can take;
# py-ecc and py-evm raise it at import (see trace_api.app).
SAFE_RECURSION_LIMIT = 3000

_OPENERS = (ord("["), ord("{"))
_CLOSERS = (ord("]"), ord("}"))
_QUOTE = ord('"')
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_DEPTH_CHUNK = 1 << 21


class JsonRefused(ValueError):
    """The body is not JSON this service accepts; ``reason`` says why in a sentence.

    ``unstorable`` sets apart well-formed JSON holding text no database here can keep (a
    NUL, an unpaired surrogate) from JSON that is malformed or ambiguous.
    """

    def __init__(self, reason: str, *, unstorable: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.unstorable = unstorable


def restore_recursion_limit() -> None:
    """Bring the interpreter's recursion limit back down after libraries raised it."""
    if sys.getrecursionlimit() > SAFE_RECURSION_LIMIT:
        sys.setrecursionlimit(SAFE_RECURSION_LIMIT)


def nesting_depth(raw: bytes) -> int:
    """The deepest nesting of arrays and objects in ``raw``, brackets in strings aside.

    Runs in time linear in ``raw``, without recursion, a few megabytes at a time; on text
    that is not JSON the figure is only an estimate (the decoder refuses such text anyway).
    """
    if raw.count(b"[") + raw.count(b"{") <= 1:
        return int(b"[" in raw or b"{" in raw)
    # Without its escapes (\\ and \" first), a string is any run between two quotes, so
    # a bracket is outside every string where an even number of quotes precedes it.
    text = np.frombuffer(raw.replace(b"\\\\", b"").replace(b'\\"', b""), dtype=np.uint8)
    deepest, level, quotes = 0, 0, 0
    for start in range(0, len(text), _DEPTH_CHUNK):
        chunk = text[start : start + _DEPTH_CHUNK]
        quoted = np.cumsum(chunk == _QUOTE, dtype=np.int64) + quotes
        outside = (quoted & 1) == 0
        opens = ((chunk == _OPENERS[0]) | (chunk == _OPENERS[1])) & outside
        closes = ((chunk == _CLOSERS[0]) | (chunk == _CLOSERS[1])) & outside
        levels = np.cumsum(opens.astype(np.int64) - closes, dtype=np.int64) + level
        deepest = max(deepest, int(levels.max()))
        level, quotes = int(levels[-1]), int(quoted[-1])
    return deepest


def loads_strict(raw: bytes, *, max_depth: int) -> Any:
    """Decode ``raw`` as JSON under the rules above; JsonRefused names the first breach."""
    depth = nesting_depth(raw)
    if depth > max_depth:
        raise JsonRefused(f"the JSON is nested {depth} deep; at most {max_depth} levels")
    try:
        value = json.loads(raw, object_pairs_hook=_unique_members, parse_constant=_no_constant)
    except JsonRefused:
        raise
    except RecursionError:  # only if the bound above was set beyond the interpreter's
        raise JsonRefused("the JSON is nested too deep") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise JsonRefused(f"the body is not valid JSON: {exc}") from None
    if _NUL_ESCAPE.search(raw) or _SURROGATE_ESCAPE.search(raw):
        _check_strings(value)
    return value


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise JsonRefused(f"the member name {name!r} appears twice in one object")
            seen.add(name)
    return members


def _no_constant(name: str) -> Any:
    raise JsonRefused(f"{name} is not a JSON number")


def _check_strings(value: Any) -> None:
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            for name, member in item.items():
                _check_text(name)
                pending.append(member)
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str):
            _check_text(item)


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise JsonRefused("a string holds a NUL character (\\u0000)", unstorable=True)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise JsonRefused("a string holds an unpaired UTF-16 surrogate", unstorable=True) from None
