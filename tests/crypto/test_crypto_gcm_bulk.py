"""Bulk SM4-GCM (`crypto._gcm_bulk`): the same bytes as one OpenSSL GCM context per message."""

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import _gcm_bulk, sm4
from crypto.envelope import Keyring
from crypto.errors import DecryptionFailed
from crypto.sm4 import open_sealed, seal_many

GCM = json.loads((Path(__file__).parent / "vectors" / "sm4.json").read_text())["gcm"]
KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f")


def test_bulk_sealing_is_available_here() -> None:
    # Without it every code's seal pays for a GCM context of its own (about 40% more).
    assert _gcm_bulk.AVAILABLE


def test_a_bulk_path_that_seals_wrong_bytes_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _gcm_bulk._self_check()
    real = _gcm_bulk._seal_group
    monkeypatch.setattr(
        _gcm_bulk, "_seal_group", lambda *args: [b[:-1] + b"?" for b in real(*args)]
    )
    assert not _gcm_bulk._self_check()
    monkeypatch.setattr(_gcm_bulk, "_GHASH", None)
    assert not _gcm_bulk._self_check()


def test_the_self_check_seals_edge_lengths_and_associated_data() -> None:
    lengths = {length for length, _ in _gcm_bulk._CHECKED_SHAPES}
    ad_lengths = {
        len(prefix) + ad
        for _, ad in _gcm_bulk._CHECKED_SHAPES
        for prefix in _gcm_bulk._CHECKED_PREFIXES
    }
    assert {0, 1, 15, 16, 17} <= lengths and max(lengths) >= 64
    assert 0 in ad_lengths and 16 in ad_lengths
    assert any(0 < ad < 16 for ad in ad_lengths) and any(ad > 16 for ad in ad_lengths)


@pytest.mark.parametrize("length", [0, 1, 15, 16, 17, 64])
def test_a_bulk_path_wrong_for_one_length_only_is_not_used(
    monkeypatch: pytest.MonkeyPatch, length: int
) -> None:
    real = _gcm_bulk._seal_group

    def wrong_at_one_length(*args: Any) -> list[bytes]:
        sealed = real(*args)
        return [b[:-1] + bytes([b[-1] ^ 1]) for b in sealed] if args[6] == length else sealed

    monkeypatch.setattr(_gcm_bulk, "_seal_group", wrong_at_one_length)
    assert not _gcm_bulk._self_check()


def test_a_bulk_path_that_reuses_the_first_nonce_is_not_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every message but the first goes wrong: a check of one message would miss it.
    real = _gcm_bulk._seal_group

    def first_nonce_for_all(*args: Any) -> list[bytes]:
        rows = args[4]
        return real(*args[:4], np.repeat(rows[:1], len(rows), axis=0), *args[5:])

    monkeypatch.setattr(_gcm_bulk, "_seal_group", first_nonce_for_all)
    assert not _gcm_bulk._self_check()


def test_falling_back_warns_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _gcm_bulk._available()
    monkeypatch.setattr(_gcm_bulk, "_self_check", lambda: False)
    with pytest.warns(RuntimeWarning, match="differ from cryptography"):
        assert not _gcm_bulk._available()
    monkeypatch.setattr(_gcm_bulk, "_GHASH", None)
    with pytest.warns(RuntimeWarning, match="could not be loaded"):
        assert not _gcm_bulk._available()


def _sealed_in_bulk(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the size of every group `_seal_group` seals."""
    sizes: list[int] = []
    real = _gcm_bulk._seal_group

    def spy(*args: object) -> list[bytes]:
        sizes.append(len(args[2]))  # type: ignore[arg-type]
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(_gcm_bulk, "_seal_group", spy)
    return sizes


def test_bulk_seals_the_rfc8998_vector_to_the_published_ciphertext(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sizes = _sealed_in_bulk(monkeypatch)
    monkeypatch.setattr(os, "urandom", lambda n: bytes.fromhex(GCM["iv"]) * (n // 12))
    item = (bytes.fromhex(GCM["plaintext"]), bytes.fromhex(GCM["aad"]))
    sealed = seal_many(bytes.fromhex(GCM["key"]), [item] * 20)
    assert sizes == [20]
    assert set(sealed) == {bytes.fromhex(GCM["iv"] + GCM["ciphertext"] + GCM["tag"])}


def _per_context(items: list[tuple[bytes, bytes]], nonces: bytes, prefix: bytes) -> list[bytes]:
    """What `cryptography` gives, one GCM context per message, for the same nonces."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_gcm_bulk, "AVAILABLE", False)
        patch.setattr(os, "urandom", lambda n: nonces[:n])
        return sm4._seal_batch(sm4._algorithm(KEY), items, prefix)


def _bulk(items: list[tuple[bytes, bytes]], nonces: bytes, prefix: bytes) -> list[bytes]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "urandom", lambda n: nonces[:n])
        return sm4._seal_batch(sm4._algorithm(KEY), items, prefix)


@settings(max_examples=60, deadline=None)
@given(
    shapes=st.lists(
        st.tuples(st.integers(0, 700), st.integers(0, 40), st.integers(1, 3 * _gcm_bulk.MIN_GROUP)),
        min_size=1,
        max_size=4,
    ),
    prefix=st.sampled_from([b"", b"\x01\x08dk-bench", bytes(range(30))]),
    seed=st.binary(min_size=32, max_size=32),
    interleave=st.booleans(),
)
def test_bulk_seals_byte_for_byte_what_one_context_per_message_seals(
    shapes: list[tuple[int, int, int]], prefix: bytes, seed: bytes, interleave: bool
) -> None:
    items = [
        (os.urandom(length), os.urandom(ad_length))
        for length, ad_length, count in shapes
        for _ in range(count)
    ]
    if interleave:  # groups of one length that are not contiguous in the batch
        items = items[::2] + items[1::2]
    nonces = (seed * (len(items) * 12 // 32 + 1))[: 12 * len(items)]
    nonces = bytes(b ^ (i % 251) for i, b in enumerate(nonces))
    assert _bulk(items, nonces, prefix) == _per_context(items, nonces, prefix)


def test_groups_larger_than_a_slice_and_long_messages_seal_right(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sizes = _sealed_in_bulk(monkeypatch)
    step = _gcm_bulk.slice_size(329)
    many = [(os.urandom(329), os.urandom(17)) for _ in range(step + 100)]
    long = [(os.urandom(_gcm_bulk.MAX_PLAINTEXT + 1), b"ad")] * _gcm_bulk.MIN_GROUP
    items = many[:50] + long + many[50:]
    nonces = os.urandom(12 * len(items))
    assert _bulk(items, nonces, b"") == _per_context(items, nonces, b"")
    assert sizes == [step, 100]  # the long messages each had a context of their own


def test_bulk_sealed_envelopes_open_and_reject_tampering() -> None:
    keyring = Keyring.new("dk-test")
    items = [(f"payload {i:04d}".encode(), f"serial-{i:04d}".encode()) for i in range(300)]
    sealed = keyring.seal_many(items)
    assert [keyring.open(s, ad) for s, (_, ad) in zip(sealed, items, strict=True)] == [
        p for p, _ in items
    ]
    flipped = bytearray(sealed[7])
    flipped[-20] ^= 1
    with pytest.raises(DecryptionFailed):
        keyring.open(bytes(flipped), items[7][1])
    with pytest.raises(DecryptionFailed):
        keyring.open(sealed[7], items[8][1])


def test_bulk_nonces_are_fresh_per_message() -> None:
    sealed = seal_many(KEY, [(b"same payload", b"same ad")] * 1000)
    assert len({s[: sm4.NONCE_SIZE] for s in sealed}) == 1000
    assert {open_sealed(KEY, s, b"same ad") for s in sealed} == {b"same payload"}
