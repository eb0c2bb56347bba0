"""Wire encodings shared by entries, checkpoints and bundles: UTC timestamps, strict JSON, hex."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import rfc8785
from cryptography.hazmat.primitives import hashes

_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")
_HEX32 = re.compile(r"[0-9a-f]{64}")
_HEX = re.compile(r"(?:[0-9a-f]{2})*")


def canonical_json(value: Any) -> bytes:
    """RFC 8785 canonical JSON of `value` (raises ValueError for what JSON cannot hold)."""
    try:
        return rfc8785.dumps(value)
    except rfc8785.CanonicalizationError as exc:
        raise ValueError(f"cannot canonicalise: {exc}") from exc


def format_utc(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds and a Z: ``2026-11-25T08:30:00.000000Z``."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a timestamp must carry a timezone")
    m = moment.astimezone(UTC)
    return (
        f"{m.year:04d}-{m.month:02d}-{m.day:02d}T"
        f"{m.hour:02d}:{m.minute:02d}:{m.second:02d}.{m.microsecond:06d}Z"
    )


def parse_utc(text: object) -> datetime:
    """Parse exactly the `format_utc` form; ValueError for anything else."""
    if not isinstance(text, str) or _TIMESTAMP.fullmatch(text) is None:
        raise ValueError(f"not a UTC timestamp of the form 2026-11-25T08:30:00.000000Z: {text!r}")
    return datetime.fromisoformat(text)  # Python 3.11 reads the Z as UTC


def as_utc(moment: datetime) -> datetime:
    """An aware UTC datetime; a naive one is taken to be UTC already (as SQLite returns them)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        counts = Counter(key for key, _ in pairs)
        duplicate = next(key for key, count in counts.items() if count > 1)
        raise ValueError(f"duplicate key {duplicate!r}")
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_STRICT = json.JSONDecoder(object_pairs_hook=_unique_keys, parse_constant=_no_constant)


MAX_DEPTH = 512  # far past any document here; well inside the C decoder's stack
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKETS = re.compile(r"[\[\]{}]")


def _too_deep(text: str) -> bool:
    """Whether ``text`` nests arrays and objects deeper than MAX_DEPTH (brackets in strings
    aside), found without recursion: a library raising the interpreter's recursion limit
    (py_ecc does) would let the C decoder overflow the stack instead of raising."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:  # the usual case, at C speed
        return False
    depth = 0
    for bracket in _BRACKETS.findall(_STRINGS.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        if depth > MAX_DEPTH:
            return True
    return False


def loads_strict(data: bytes | str) -> Any:
    """Parse JSON, refusing duplicate keys and NaN/Infinity (ValueError for any problem)."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes | bytearray) else data
        if _too_deep(text):
            raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels")
        return _STRICT.decode(text)
    except RecursionError as exc:
        raise ValueError("JSON nested too deeply") from exc


def hex32(value: object, what: str) -> bytes:
    """32 bytes from 64 lowercase hex characters; ValueError naming `what` otherwise."""
    if not isinstance(value, str) or not _HEX32.fullmatch(value):
        raise ValueError(f"{what} must be 64 lowercase hex characters")
    return bytes.fromhex(value)


def hex_bytes(value: object, what: str, length: int | None = None) -> bytes:
    """Bytes from lowercase hex (of `length` bytes when given); ValueError naming `what`."""
    if not isinstance(value, str) or not _HEX.fullmatch(value):
        raise ValueError(f"{what} must be lowercase hex")
    raw = bytes.fromhex(value)
    if length is not None and len(raw) != length:
        raise ValueError(f"{what} must be {length} bytes")
    return raw


def sm3_stream() -> Any:
    """An incremental SM3 hash object (``update``/``digest``)."""
    try:
        return hashlib.new("sm3")
    except ValueError:  # pragma: no cover - depends on how OpenSSL was built
        return _CryptographySm3()


class _CryptographySm3:  # pragma: no cover - depends on how OpenSSL was built
    def __init__(self) -> None:
        self._hash = hashes.Hash(hashes.SM3())

    def update(self, data: bytes) -> None:
        self._hash.update(data)

    def digest(self) -> bytes:
        return self._hash.finalize()
