"""SM4-GCM sealing: published vectors, round trips, and rejection of every kind of tampering."""

import json
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from gmssl.sm4 import SM4_ENCRYPT, CryptSM4
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import sm4
from crypto.errors import CryptoError, DecryptionFailed, InvalidKey, MalformedCiphertext
from crypto.sm4 import generate_key, open_sealed, seal, seal_many

VECTORS = json.loads((Path(__file__).parent / "vectors" / "sm4.json").read_text())
BLOCK = VECTORS["block"]
GCM = VECTORS["gcm"]
KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f")


def test_gbt32907_block_vector_through_cryptography_ecb() -> None:
    encryptor = Cipher(algorithms.SM4(bytes.fromhex(BLOCK["key"])), modes.ECB()).encryptor()
    block = encryptor.update(bytes.fromhex(BLOCK["plaintext"])) + encryptor.finalize()
    assert block.hex() == BLOCK["ciphertext"]


def test_gbt32907_block_vector_through_gmssl() -> None:
    cipher = CryptSM4(padding_mode=0)  # gmssl is an independent, pure-Python SM4
    cipher.set_key(bytes.fromhex(BLOCK["key"]), SM4_ENCRYPT)
    block = cipher.crypt_ecb(bytes.fromhex(BLOCK["plaintext"]))
    assert block[:16].hex() == BLOCK["ciphertext"]


def test_gbt32907_million_iteration_vector() -> None:
    encryptor = Cipher(algorithms.SM4(bytes.fromhex(BLOCK["key"])), modes.ECB()).encryptor()
    block = bytes.fromhex(BLOCK["plaintext"])
    update = encryptor.update
    for _ in range(1_000_000):
        block = update(block)
    assert block.hex() == BLOCK["ciphertext_after_1000000_iterations"]


def _rfc8998_sealed() -> bytes:
    return bytes.fromhex(GCM["iv"] + GCM["ciphertext"] + GCM["tag"])


def test_rfc8998_gcm_vector_opens() -> None:
    plaintext = open_sealed(bytes.fromhex(GCM["key"]), _rfc8998_sealed(), bytes.fromhex(GCM["aad"]))
    assert plaintext.hex() == GCM["plaintext"]


def test_rfc8998_gcm_vector_seals_to_the_published_ciphertext(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(os, "urandom", lambda n: bytes.fromhex(GCM["iv"]))
    sealed = seal(
        bytes.fromhex(GCM["key"]), bytes.fromhex(GCM["plaintext"]), bytes.fromhex(GCM["aad"])
    )
    assert sealed == _rfc8998_sealed()


def test_seal_many_seals_the_rfc8998_vector_to_the_published_ciphertext(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(os, "urandom", lambda n: bytes.fromhex(GCM["iv"]) * (n // 12))
    item = (bytes.fromhex(GCM["plaintext"]), bytes.fromhex(GCM["aad"]))
    assert seal_many(bytes.fromhex(GCM["key"]), [item, item]) == [_rfc8998_sealed()] * 2


def test_bulk_sealing_skips_the_public_wrapper_of_cryptography() -> None:
    # Losing the direct constructor (a new `cryptography`) costs a quarter of each seal.
    assert sm4._encryptor is not sm4._public_encryptor


@settings(max_examples=50)
@given(
    items=st.lists(st.tuples(st.binary(max_size=400), st.binary(max_size=40)), max_size=5),
    nonce_seed=st.binary(min_size=12, max_size=12),
)
def test_direct_and_public_context_constructors_seal_the_same_bytes(
    items: list[tuple[bytes, bytes]], nonce_seed: bytes
) -> None:
    fixed = nonce_seed * len(items)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "urandom", lambda n: fixed[:n])
        direct = seal_many(KEY, items)
        patch.setattr(sm4, "_encryptor", sm4._public_encryptor)
        public = seal_many(KEY, items)
    assert direct == public


@settings(max_examples=100)
@given(plaintext=st.binary(max_size=500), associated_data=st.binary(max_size=100))
def test_seal_then_open_round_trips(plaintext: bytes, associated_data: bytes) -> None:
    sealed = seal(KEY, plaintext, associated_data)
    assert len(sealed) == len(plaintext) + sm4.OVERHEAD
    assert open_sealed(KEY, sealed, associated_data) == plaintext


def test_each_seal_draws_a_fresh_nonce() -> None:
    nonces = {seal(KEY, b"same")[: sm4.NONCE_SIZE] for _ in range(1000)}
    assert len(nonces) == 1000


def _assert_rejected(sealed: bytes, associated_data: bytes = b"ad", key: bytes = KEY) -> None:
    with pytest.raises(DecryptionFailed, match="authentication failed"):
        open_sealed(key, sealed, associated_data)


@pytest.fixture
def sealed() -> bytes:
    return seal(KEY, b"a payload of some length, 40 bytes long", b"ad")


def test_tampered_nonce_is_rejected(sealed: bytes) -> None:
    for i in range(sm4.NONCE_SIZE):
        _assert_rejected(sealed[:i] + bytes([sealed[i] ^ 0x01]) + sealed[i + 1 :])


def test_tampered_ciphertext_is_rejected(sealed: bytes) -> None:
    for i in range(sm4.NONCE_SIZE, len(sealed) - sm4.TAG_SIZE):
        _assert_rejected(sealed[:i] + bytes([sealed[i] ^ 0x80]) + sealed[i + 1 :])


def test_tampered_tag_is_rejected(sealed: bytes) -> None:
    for i in range(len(sealed) - sm4.TAG_SIZE, len(sealed)):
        _assert_rejected(sealed[:i] + bytes([sealed[i] ^ 0x01]) + sealed[i + 1 :])


def test_altered_associated_data_is_rejected(sealed: bytes) -> None:
    for associated_data in (b"", b"aD", b"ad\x00", b"a"):
        _assert_rejected(sealed, associated_data)


def test_wrong_key_is_rejected(sealed: bytes) -> None:
    _assert_rejected(sealed, key=bytes(16))


def test_truncated_input_is_rejected(sealed: bytes) -> None:
    for length in range(len(sealed)):
        with pytest.raises(DecryptionFailed):
            open_sealed(KEY, sealed[:length], b"ad")
    with pytest.raises(MalformedCiphertext, match="shorter than"):
        open_sealed(KEY, sealed[: sm4.OVERHEAD - 1], b"ad")


def test_appended_bytes_are_rejected(sealed: bytes) -> None:
    _assert_rejected(sealed + b"\x00")


@pytest.mark.parametrize("key", [b"", bytes(15), bytes(17), bytes(32), "0" * 16, bytearray(16)])
def test_key_of_wrong_length_or_type_is_rejected(key: object) -> None:
    with pytest.raises(InvalidKey, match="16 bytes"):
        seal(key, b"x")  # type: ignore[arg-type]
    with pytest.raises(InvalidKey):
        open_sealed(key, bytes(40))  # type: ignore[arg-type]
    with pytest.raises(InvalidKey):
        seal_many(key, [(b"x", b"")])  # type: ignore[arg-type]


def test_generate_key_returns_16_fresh_bytes() -> None:
    keys = {generate_key() for _ in range(100)}
    assert len(keys) == 100
    assert all(len(k) == 16 for k in keys)


def test_seal_many_output_opens_item_by_item_with_its_own_ad() -> None:
    items = [(f"payload {i}".encode(), f"code-{i}".encode()) for i in range(200)]
    sealed = seal_many(KEY, items)
    assert [open_sealed(KEY, s, ad) for s, (_, ad) in zip(sealed, items, strict=True)] == [
        p for p, _ in items
    ]
    assert len({s[: sm4.NONCE_SIZE] for s in sealed}) == len(items)
    with pytest.raises(DecryptionFailed):
        open_sealed(KEY, sealed[0], items[1][1])


def test_seal_many_accepts_a_generator_and_reads_randomness_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []
    real_urandom = os.urandom

    def counting_urandom(n: int) -> bytes:
        calls.append(n)
        return real_urandom(n)

    monkeypatch.setattr(os, "urandom", counting_urandom)
    sealed = seal_many(KEY, ((bytes([i]), b"") for i in range(50)))
    assert calls == [50 * sm4.NONCE_SIZE]
    assert [open_sealed(KEY, s) for s in sealed] == [bytes([i]) for i in range(50)]


def test_seal_many_of_nothing_is_empty() -> None:
    assert seal_many(KEY, []) == []


def test_errors_share_one_base_class() -> None:
    assert issubclass(DecryptionFailed, CryptoError)
    assert issubclass(MalformedCiphertext, DecryptionFailed)
    assert issubclass(InvalidKey, CryptoError)
