"""Log entries: canonical bytes equal to RFC 8785's, strict parsing, the leaf hash."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.entry import LogEntry, entry_body, entry_leaf_hash, parse_entry
from compliance.errors import MalformedEntry
from crypto.sm3 import sm3

AT = datetime(2026, 11, 25, 8, 30, 0, 123456, tzinfo=UTC)


def _fields(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "log_id": "tracechain/audit/acme",
        "tenant_id": "acme",
        "seq": 42,
        "kind": "api_key.created",
        "at": AT,
        "actor": "key_7f",
        "org": None,
        "items": ["item-1"],
        "data": {"role": "dealer"},
    }
    fields.update(overrides)
    return fields


def test_the_documented_format_byte_for_byte() -> None:
    assert entry_body(**_fields()) == (
        b'{"actor":"key_7f","at":"2026-11-25T08:30:00.123456Z","data":{"role":"dealer"},'
        b'"items":["item-1"],"kind":"api_key.created","log":"tracechain/audit/acme",'
        b'"org":null,"seq":42,"tenant":"acme","v":1}'
    )


def test_leaf_is_sm3_of_zero_and_the_body() -> None:
    body = entry_body(**_fields())
    assert entry_leaf_hash(body) == sm3(b"\x00" + body)


def test_times_are_stored_in_utc() -> None:
    east8 = timezone(timedelta(hours=8))
    body = entry_body(**_fields(at=AT.astimezone(east8)))
    assert b'"at":"2026-11-25T08:30:00.123456Z"' in body
    with pytest.raises(MalformedEntry):
        entry_body(**_fields(at=datetime(2026, 1, 1)))  # naive


_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    # A float of 2**53 or more is written as an integer literal, which reads back as an int
    # that RFC 8785 (and so entry_body) refuses: such values do not round-trip.
    | st.floats(min_value=-(2.0**53), max_value=2.0**53, exclude_min=True, exclude_max=True)
    | st.text()
)
_json = st.recursive(
    _json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    actor=st.text(min_size=1),
    kind=st.text(min_size=1),
    org=st.none() | st.text(),
    items=st.lists(st.text(), max_size=3),
    data=st.dictionaries(st.text(), _json, max_size=5),
    seq=st.integers(0, 2**53 - 1),
)
def test_fast_path_equals_rfc8785_and_round_trips(
    actor: str, kind: str, org: str | None, items: list[str], data: dict[str, Any], seq: int
) -> None:
    fields = _fields(actor=actor, kind=kind, org=org, items=items, data=data, seq=seq)
    try:
        body = entry_body(**fields)
    except MalformedEntry:
        # only text that UTF-8 cannot hold (lone surrogates) is refused
        with pytest.raises(rfc8785.CanonicalizationError):
            rfc8785.dumps([actor, kind, org, items, data])
        return
    document = {
        "v": 1,
        "log": fields["log_id"],
        "tenant": fields["tenant_id"],
        "seq": seq,
        "kind": kind,
        "at": "2026-11-25T08:30:00.123456Z",
        "actor": actor,
        "org": org,
        "items": items,
        "data": data,
    }
    assert body == rfc8785.dumps(document)
    entry = parse_entry(body)
    assert entry.body() == body
    assert (entry.seq, entry.kind, entry.actor, entry.org, entry.items) == (
        seq,
        kind,
        actor,
        org,
        tuple(items),
    )


def test_parse_gives_the_fields_back() -> None:
    entry = parse_entry(entry_body(**_fields(org="org-9", items=["a", "b"])))
    assert entry == LogEntry(
        log_id="tracechain/audit/acme",
        tenant_id="acme",
        seq=42,
        kind="api_key.created",
        at=AT,
        actor="key_7f",
        org="org-9",
        items=("a", "b"),
        data={"role": "dealer"},
    )


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"[]",
        b'{"v":1}',
        b"not json",
        b"\xff\xfe",
        b'{"v":1,"forged":true}',
    ],
)
def test_garbage_is_refused(body: bytes) -> None:
    with pytest.raises(MalformedEntry):
        parse_entry(body)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("v", 2),
        ("v", True),
        ("seq", -1),
        ("seq", "42"),
        ("seq", True),
        ("seq", 1.5),
        ("at", "2026-11-25T08:30:00Z"),
        ("at", "2026-11-25T08:30:00.123456+00:00"),
        ("org", 7),
        ("items", "item-1"),
        ("items", [1]),
        ("data", []),
        ("kind", None),
    ],
)
def test_wrong_types_are_refused(key: str, value: Any) -> None:
    document = json.loads(entry_body(**_fields()))
    document[key] = value
    with pytest.raises(MalformedEntry):
        parse_entry(rfc8785.dumps(document))


def test_duplicate_and_extra_keys_are_refused() -> None:
    body = entry_body(**_fields())
    with pytest.raises(MalformedEntry, match="duplicate"):
        parse_entry(body[:-1] + b',"seq":43}')
    with pytest.raises(MalformedEntry, match="unexpected"):
        parse_entry(body[:-1] + b',"zzz":1}')


@pytest.mark.parametrize(
    "overrides",
    [
        {"seq": -1},
        {"seq": 2**53},
        {"seq": True},
        {"kind": ""},
        {"actor": ""},
        {"items": "item-1"},
        {"data": {"x": float("nan")}},
        {"data": {"x": 2**60}},
        {"data": {1: "x"}},
        {"tenant_id": "\ud800"},
    ],
)
def test_values_the_format_cannot_hold_are_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(MalformedEntry):
        entry_body(**_fields(**overrides))
