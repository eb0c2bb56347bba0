"""anchor_id_for: deterministic, unambiguous, stable (ids already on chain must keep matching)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from Crypto.Hash import keccak

from chain import InvalidAnchorInput, anchor_id_for

VECTORS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "data" / "anchor_id_vectors.json").read_text(encoding="utf-8")
)["vectors"]


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: f"{v['kind']}/{v['subject']}")
def test_anchor_id_matches_the_recorded_vectors(vector: dict[str, Any]) -> None:
    anchor_id = anchor_id_for(vector["kind"], vector["tenant_id"], vector["subject"])

    assert "0x" + anchor_id.hex() == vector["anchor_id"]


def test_anchor_id_is_keccak_of_length_prefixed_fields() -> None:
    # Spelled out byte by byte, independently of the implementation.
    encoded = (
        b"\x00\x00\x00\x14tracechain/anchor/v1"
        + b"\x00\x00\x00\x05batch"
        + b"\x00\x00\x00\x08tenant-a"
        + b"\x00\x00\x00\x0clot-2024-001"
    )
    expected = keccak.new(digest_bits=256, data=encoded).digest()

    assert anchor_id_for("batch", "tenant-a", "lot-2024-001") == expected


def test_field_boundaries_change_the_id() -> None:
    assert anchor_id_for("a", "bc", "d") != anchor_id_for("ab", "c", "d")
    assert anchor_id_for("batch", "t1", "x") != anchor_id_for("batch", "t2", "x")
    assert anchor_id_for("batch", "t", "x") != anchor_id_for("checkpoint", "t", "x")


@pytest.mark.parametrize("fields", [("", "t", "s"), ("k", "", "s"), ("k", "t", "")])
def test_empty_fields_are_rejected(fields: tuple[str, str, str]) -> None:
    with pytest.raises(InvalidAnchorInput):
        anchor_id_for(*fields)
