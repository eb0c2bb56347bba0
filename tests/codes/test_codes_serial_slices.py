"""Serials drawn per chunk in slices of the serial space: valid, distinct, in batch order."""

from __future__ import annotations

import json
from datetime import date
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.envelope import Keyring
from crypto.merkle import MerkleTree
from crypto.serials import ALPHABET, check_character, validate_serial
from crypto.sm3 import sm3
from trace_api.codes.issuing import CHUNK
from trace_api.codes.payload import BatchFacts, templates
from trace_api.codes.sealing import SealJob, chunk_root, seal_slice
from trace_api.codes.serial_slices import SPACE, draw_slice, serials_of, slice_of

GTIN = "09506000134352"


def _value(serial: str) -> int:
    """The payload value of a serial (its 16 Crockford symbols, 5 bits each)."""
    value = 0
    for symbol in serial[:16]:
        value = value * 32 + ALPHABET.index(symbol)
    return value


@given(values=st.lists(st.integers(0, SPACE - 1), max_size=40))
def test_serials_of_values_carry_the_value_and_the_crypto_check_character(
    values: list[int],
) -> None:
    serials = serials_of(values)
    assert [_value(s) for s in serials] == values
    for serial in serials:
        assert serial[-1] == check_character(serial[:-1])
        assert validate_serial(serial) == serial


@settings(max_examples=50)
@given(total=st.integers(1, 5 * CHUNK), chunk_bits=st.integers(0, 14))
def test_slices_cut_the_whole_space_in_order_and_in_proportion(total: int, chunk_bits: int) -> None:
    chunk = 1 << chunk_bits
    slices = [slice_of(at, min(chunk, total - at), total) for at in range(0, total, chunk)]
    assert slices[0][0] == 0 and slices[-1][1] == SPACE
    assert all(a[1] == b[0] for a, b in pairwise(slices))
    for (low, high), at in zip(slices, range(0, total, chunk), strict=True):
        size = min(chunk, total - at)
        assert abs((high - low) - size * SPACE / total) <= 1


def test_a_batch_drawn_chunk_by_chunk_is_sorted_distinct_and_valid() -> None:
    total, chunk = 5000, 1024
    serials: list[str] = []
    for at in range(0, total, chunk):
        count = min(chunk, total - at)
        low, high = slice_of(at, count, total)
        drawn = draw_slice(low, high, count)
        assert len(drawn) == count
        assert all(low <= _value(s) < high for s in drawn)
        serials += drawn
    assert serials == sorted(serials) and len(set(serials)) == total
    assert all(validate_serial(s) == s for s in serials)


def test_a_narrow_slice_still_gives_distinct_serials() -> None:
    drawn = draw_slice(1000, 1064, 64)  # every value of the slice, whatever the draws
    assert [_value(s) for s in drawn] == list(range(1000, 1064))


def test_a_sealed_slice_opens_and_its_serials_lie_in_the_slice() -> None:
    keyring = Keyring.new("dk-test")
    transport_key = bytes(16)
    facts = BatchFacts("t", "b", GTIN, "Tea", "", "L1", date(2026, 1, 1), None, "F", None)
    parts = templates(facts)
    job = SealJob(
        transport_key=transport_key,
        wrapped_key=keyring.wrapped_keys(transport_key)["dk-test"],
        key_id="dk-test",
        payload_parts=parts.payload,
        leaf_parts=parts.leaf,
        total=100,
    )
    chunk = seal_slice(job, 64, 36)
    low, high = slice_of(64, 36, 100)
    assert chunk.start == 64 and len(chunk.serials) == 36
    assert chunk.serials == sorted(chunk.serials)
    assert all(low <= _value(s) < high for s in chunk.serials)
    for i, (serial, sealed) in enumerate(zip(chunk.serials, chunk.sealed, strict=True)):
        assert json.loads(keyring.open(sealed, serial.encode()))["item"] == 64 + i


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 300))
def test_chunk_root_is_the_rfc9162_root(n: int) -> None:
    leaves = [sm3(i.to_bytes(4, "big")) for i in range(n)]
    assert chunk_root(leaves) == MerkleTree.from_leaf_hashes(leaves).root()
