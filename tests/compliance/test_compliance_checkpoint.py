"""Checkpoints: the stable body format, strict parsing, SM2 signatures, the key fingerprint."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import rfc8785

from compliance.checkpoint import (
    Checkpoint,
    sign_checkpoint,
    signing_key_fingerprint,
    verify_checkpoint,
)
from compliance.errors import InvalidCheckpointSignature, MalformedCheckpoint
from crypto import sm2
from crypto.sm3 import sm3

ROOT = bytes(range(32))
PREVIOUS = bytes(range(32, 64))
AT = datetime(2026, 11, 25, 8, 30, tzinfo=UTC)


def _checkpoint(**overrides: Any) -> Checkpoint:
    fields: dict[str, Any] = {
        "log_id": "tracechain/audit/acme",
        "tenant_id": "acme",
        "size": 1000,
        "root": ROOT,
        "issued_at": AT,
        "previous_size": 900,
        "previous_root": PREVIOUS,
    }
    fields.update(overrides)
    return Checkpoint(**fields)


def test_the_documented_body_byte_for_byte() -> None:
    assert _checkpoint().body() == (
        b'{"at":"2026-11-25T08:30:00.000000Z","log":"tracechain/audit/acme",'
        b'"prev":{"root":"' + PREVIOUS.hex().encode() + b'","size":900},'
        b'"root":"' + ROOT.hex().encode() + b'","size":1000,"tenant":"acme",'
        b'"type":"tracechain/checkpoint","v":1}'
    )
    first = _checkpoint(previous_size=None, previous_root=None)
    assert b'"prev":null' in first.body()


def test_body_round_trips_and_times_are_utc() -> None:
    east8 = timezone(timedelta(hours=8))
    cp = _checkpoint(issued_at=AT.astimezone(east8))
    parsed = Checkpoint.from_body(cp.body())
    assert parsed == _checkpoint()
    assert parsed.issued_at.tzinfo is UTC


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(v=2),
        lambda d: d.update(type="tracechain/other"),
        lambda d: d.update(size=-1),
        lambda d: d.update(size=True),
        lambda d: d.update(size="1000"),
        lambda d: d.update(root=ROOT.hex().upper()),
        lambda d: d.update(root=ROOT.hex()[:-2]),
        lambda d: d.update(at="2026-11-25T08:30:00Z"),
        lambda d: d.update(prev={"size": 1000, "root": PREVIOUS.hex()}),  # not smaller
        lambda d: d.update(prev={"size": 900}),
        lambda d: d.update(tenant=""),
        lambda d: d.update(extra=1),
        lambda d: d.pop("prev"),
    ],
)
def test_from_body_is_strict(mutate: Any) -> None:
    document = json.loads(_checkpoint().body())
    mutate(document)
    with pytest.raises(MalformedCheckpoint):
        Checkpoint.from_body(rfc8785.dumps(document))


def test_non_canonical_or_ambiguous_bodies_are_refused() -> None:
    body = _checkpoint().body()
    with pytest.raises(MalformedCheckpoint, match="canonical"):
        Checkpoint.from_body(json.dumps(json.loads(body), indent=1).encode())
    with pytest.raises(MalformedCheckpoint, match="duplicate"):
        Checkpoint.from_body(body[:-1] + b',"size":5}')
    for garbage in (b"", b"null", b"\xff", b"{"):
        with pytest.raises(MalformedCheckpoint):
            Checkpoint.from_body(garbage)


def test_construction_checks_its_fields() -> None:
    with pytest.raises(MalformedCheckpoint):
        _checkpoint(root=b"short")
    with pytest.raises(MalformedCheckpoint):
        _checkpoint(issued_at=datetime(2026, 1, 1))
    with pytest.raises(MalformedCheckpoint):
        _checkpoint(previous_root=None)
    with pytest.raises(MalformedCheckpoint):
        _checkpoint(previous_size=1000)


def test_signature_verifies_under_its_key_only() -> None:
    key, other = sm2.PrivateKey.generate(), sm2.PrivateKey.generate()
    cp = _checkpoint()
    signature = sign_checkpoint(key, cp)

    assert verify_checkpoint(key.public_key, cp.body(), signature) == cp
    assert verify_checkpoint(key.public_key.to_bytes(), cp.body(), signature) == cp
    with pytest.raises(InvalidCheckpointSignature):
        verify_checkpoint(other.public_key, cp.body(), signature)
    with pytest.raises(InvalidCheckpointSignature):
        verify_checkpoint(key.public_key, replace(cp, size=1001).body(), signature)
    with pytest.raises(InvalidCheckpointSignature):
        verify_checkpoint(key.public_key, cp.body(), signature[:-1])
    with pytest.raises(InvalidCheckpointSignature):
        verify_checkpoint(b"\x04" + bytes(64), cp.body(), signature)


def test_a_signed_but_malformed_body_is_still_refused() -> None:
    key = sm2.PrivateKey.generate()
    body = b'{"v":1}'
    with pytest.raises(MalformedCheckpoint):
        verify_checkpoint(key.public_key, body, key.sign(body))


def test_fingerprint_is_sm3_of_the_uncompressed_key() -> None:
    key = sm2.PrivateKey.generate().public_key
    assert signing_key_fingerprint(key) == sm3(key.to_bytes())
    assert signing_key_fingerprint(key.to_bytes()) == signing_key_fingerprint(key)
    assert len(signing_key_fingerprint(key)) == 32
