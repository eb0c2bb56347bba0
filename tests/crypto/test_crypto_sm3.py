"""SM3: the GB/T 32905 vectors, and agreement between independent implementations."""

import json
from pathlib import Path

import pytest
from gmssl import sm3 as gmssl_sm3
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.sm3 import _cryptography_sm3, sm3, sm3_hex

VECTORS = json.loads((Path(__file__).parent / "vectors" / "sm3.json").read_text())["vectors"]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_gbt32905_examples_hash_to_the_published_digests(vector: dict[str, str]) -> None:
    message = bytes.fromhex(vector["message_hex"])
    assert sm3(message).hex() == vector["digest"]
    assert sm3_hex(message) == vector["digest"]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_fallback_path_matches_the_published_digests(vector: dict[str, str]) -> None:
    assert _cryptography_sm3(bytes.fromhex(vector["message_hex"])).hex() == vector["digest"]


def test_digest_is_32_bytes_even_for_empty_input() -> None:
    assert len(sm3(b"")) == 32
    assert sm3(b"") != sm3(b"\x00")


@settings(max_examples=60)
@given(st.binary(max_size=300))
def test_openssl_cryptography_and_gmssl_agree(data: bytes) -> None:
    expected = gmssl_sm3.sm3_hash(list(data))  # pure-Python implementation, hex
    assert sm3_hex(data) == expected
    assert _cryptography_sm3(data).hex() == expected


def test_repeated_calls_do_not_share_state() -> None:
    first = sm3(b"abc")
    sm3(b"something else")
    assert sm3(b"abc") == first
