"""Entries of a tenant's append-only audit log, and their canonical bytes.

An entry is the RFC 8785 canonical JSON of

    {"v":1,"log":<log id>,"tenant":<tenant id>,"seq":<int>,"kind":<e.g. "api_key.created">,
     "at":<RFC 3339 UTC, microseconds, Z>,"actor":<key id or "system">,"org":<org id or null>,
     "items":[<item ids>],"data":{...}}

Those exact bytes are what the log hashes: its leaf is ``SM3(0x00 || body)``
(`entry_leaf_hash`), and they are one line of an audit bundle's
``entries.jsonl`` (canonical JSON holds no raw newline).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from compliance._wire import canonical_json, format_utc, loads_strict, parse_utc
from compliance.errors import MalformedEntry
from crypto.merkle import leaf_hash

__all__ = [
    "ENTRY_VERSION",
    "LogEntry",
    "entry_body",
    "entry_leaf_hash",
    "entry_position",
    "parse_entry",
]

ENTRY_VERSION = 1
_KEYS = frozenset(("v", "log", "tenant", "seq", "kind", "at", "actor", "org", "items", "data"))
_MAX_SAFE_INT = 2**53 - 1  # RFC 8785 numbers are IEEE 754 doubles


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One parsed log entry."""

    log_id: str
    tenant_id: str
    seq: int
    kind: str
    at: datetime
    actor: str
    org: str | None
    items: tuple[str, ...]
    data: Mapping[str, Any]

    def body(self) -> bytes:
        """The entry's canonical bytes (what `parse_entry` was given, if that was canonical)."""
        return entry_body(
            log_id=self.log_id,
            tenant_id=self.tenant_id,
            seq=self.seq,
            kind=self.kind,
            at=self.at,
            actor=self.actor,
            org=self.org,
            items=self.items,
            data=self.data,
        )


def _string(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise MalformedEntry(f"{what} must be a string")
    return value


def _jcs_string(value: str) -> str:
    # json.dumps escapes exactly what RFC 8785 §3.2.2.2 escapes, the same way
    # (\b \f \n \r \t, \" \\, other controls as lowercase \u00xx), and
    # ensure_ascii=False leaves the rest as is; it is several times faster.
    return json.dumps(value, ensure_ascii=False)


def entry_body(
    *,
    log_id: str,
    tenant_id: str,
    seq: int,
    kind: str,
    at: datetime,
    actor: str,
    org: str | None,
    items: Sequence[str],
    data: Mapping[str, Any],
) -> bytes:
    """The canonical bytes of an entry; raises MalformedEntry for values the format does not allow.

    The envelope's keys are fixed, so their order is too: only `data` goes
    through the general RFC 8785 canonicaliser.
    """
    for name, value in (("log", log_id), ("tenant", tenant_id), ("kind", kind), ("actor", actor)):
        if not _string(value, name):
            raise MalformedEntry(f"{name} must not be empty")
    if org is not None:
        _string(org, "org")
    if isinstance(items, str) or not all(isinstance(item, str) for item in items):
        raise MalformedEntry("items must be a list of strings")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= _MAX_SAFE_INT:
        raise MalformedEntry(f"seq must be an integer in 0..2**53-1, got {seq!r}")
    if not isinstance(data, Mapping):
        raise MalformedEntry("data must be a JSON object")
    try:
        moment = format_utc(at)
        data_json = canonical_json(dict(data)).decode("utf-8")
        text = "".join(
            (
                '{"actor":',
                _jcs_string(actor),
                ',"at":"',
                moment,
                '","data":',
                data_json,
                ',"items":[',
                ",".join(_jcs_string(item) for item in items),
                '],"kind":',
                _jcs_string(kind),
                ',"log":',
                _jcs_string(log_id),
                ',"org":',
                "null" if org is None else _jcs_string(org),
                ',"seq":',
                str(seq),
                ',"tenant":',
                _jcs_string(tenant_id),
                ',"v":1}',
            )
        )
        return text.encode("utf-8")
    except (ValueError, AttributeError) as exc:  # UnicodeEncodeError is a ValueError
        raise MalformedEntry(f"entry cannot be canonicalised: {exc}") from exc


def entry_leaf_hash(body: bytes) -> bytes:
    """The entry's Merkle leaf, ``SM3(0x00 || body)``."""
    return leaf_hash(bytes(body))


def _checked(body: bytes) -> tuple[dict[str, Any], datetime]:
    """The entry's JSON object and time, after every check `parse_entry` promises."""
    try:
        value = loads_strict(body)
    except ValueError as exc:  # UnicodeDecodeError too
        raise MalformedEntry(f"not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise MalformedEntry("an entry is a JSON object")
    if value.keys() != _KEYS:
        missing = sorted(_KEYS - value.keys())
        extra = sorted(value.keys() - _KEYS)
        raise MalformedEntry(f"wrong keys (missing {missing}, unexpected {extra})")
    if value["v"] != ENTRY_VERSION or isinstance(value["v"], bool):
        raise MalformedEntry(f"unsupported entry version {value['v']!r}")
    seq = value["seq"]
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        raise MalformedEntry("seq must be a non-negative integer")
    for name in ("log", "tenant", "kind", "actor"):
        _string(value[name], name)
    if value["org"] is not None:
        _string(value["org"], "org")
    items = value["items"]
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise MalformedEntry("items must be a list of strings")
    if not isinstance(value["data"], dict):
        raise MalformedEntry("data must be a JSON object")
    try:
        at = parse_utc(value["at"])
    except ValueError as exc:
        raise MalformedEntry(str(exc)) from exc
    return value, at


def parse_entry(body: bytes) -> LogEntry:
    """Parse an entry strictly (exact keys and types, no duplicate keys); MalformedEntry else.

    It does not insist on canonical form (compare ``parse_entry(b).body() == b``
    for that): the leaf hash binds the exact bytes either way.
    """
    value, at = _checked(body)
    return LogEntry(
        log_id=value["log"],
        tenant_id=value["tenant"],
        seq=value["seq"],
        kind=value["kind"],
        at=at,
        actor=value["actor"],
        org=value["org"],
        items=tuple(value["items"]),
        data=value["data"],
    )


def entry_position(body: bytes) -> tuple[str, str, int]:
    """``(log id, tenant id, seq)`` of an entry, checked as strictly as by `parse_entry`.

    For verifiers going through many entries: it skips building the `LogEntry`.
    """
    value, _ = _checked(body)
    return value["log"], value["tenant"], value["seq"]
