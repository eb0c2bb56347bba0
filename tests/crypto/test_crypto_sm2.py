"""SM2 signatures: the standard's example, cross-checks with gmssl, and rejection of forgeries."""

import json
import secrets
from pathlib import Path
from typing import Any

import pytest
from Cryptodome.Util.asn1 import DerSequence
from gmssl.sm2 import CryptSM2
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.errors import InvalidKey, InvalidSignature, InvalidUserId
from crypto.sm2 import DEFAULT_USER_ID, PrivateKey, PublicKey, _encode_signature

EXAMPLE = json.loads((Path(__file__).parent / "vectors" / "sm2.json").read_text())
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF


@pytest.fixture(scope="module")
def key() -> PrivateKey:
    return PrivateKey.generate()


def _example_key() -> PrivateKey:
    return PrivateKey.from_bytes(bytes.fromhex(EXAMPLE["private_key"]))


def test_standard_example_public_key_and_z_value() -> None:
    public = _example_key().public_key
    assert public.hex() == "04" + EXAMPLE["public_key_x"] + EXAMPLE["public_key_y"]
    assert public.z_value(bytes.fromhex(EXAMPLE["user_id"])).hex() == EXAMPLE["z_a"]


def test_standard_example_signature_with_its_k() -> None:
    key = _example_key()
    signature = key._sign_digest(int(EXAMPLE["e"], 16), int(EXAMPLE["k"], 16))
    assert signature == _encode_signature(int(EXAMPLE["r"], 16), int(EXAMPLE["s"], 16))


def test_standard_example_signature_verifies() -> None:
    signature = _encode_signature(int(EXAMPLE["r"], 16), int(EXAMPLE["s"], 16))
    public = _example_key().public_key
    message = bytes.fromhex(EXAMPLE["message"])
    public.verify(signature, message, bytes.fromhex(EXAMPLE["user_id"]))
    with pytest.raises(InvalidSignature):
        public.verify(signature, message + b".", bytes.fromhex(EXAMPLE["user_id"]))


def test_default_user_id_is_the_gmt0009_default() -> None:
    assert DEFAULT_USER_ID == b"1234567812345678"


def test_sign_then_verify_round_trips(key: PrivateKey) -> None:
    signature = key.sign(b"checkpoint 42")
    key.public_key.verify(signature, b"checkpoint 42")


def test_signatures_use_a_fresh_nonce(key: PrivateKey) -> None:
    assert key.sign(b"same message") != key.sign(b"same message")


def test_signature_is_a_der_sequence_of_two_integers(key: PrivateKey) -> None:
    signature = key.sign(b"m")
    decoded = DerSequence()
    decoded.decode(signature, strict=True)  # pycryptodome parses DER independently of us
    assert len(decoded) == 2
    r, s = decoded[0], decoded[1]
    assert isinstance(r, int) and isinstance(s, int)
    assert 0 < r < N and 0 < s < N


def _gmssl_safe_key() -> PrivateKey:
    # gmssl strips a leading "04" with str.lstrip("04"), which also eats any
    # leading '0' or '4' of x; pick keys whose x hex starts with neither.
    while True:
        key = PrivateKey.generate()
        if key.public_key.hex()[2] not in "04":
            return key


def _gmssl(key: PrivateKey) -> CryptSM2:
    return CryptSM2(
        private_key=key.to_bytes().hex(), public_key=key.public_key.hex()[2:], asn1=True
    )


def test_gmssl_signature_verifies_in_ours() -> None:
    for message in (b"", b"abc", b"audit bundle manifest" * 10):
        key = _gmssl_safe_key()
        k = "%064x" % (secrets.randbelow(N - 1) + 1)
        signature = bytes.fromhex(_gmssl(key).sign_with_sm3(message, k))
        key.public_key.verify(signature, message)  # gmssl hard-codes the default user id
        with pytest.raises(InvalidSignature):
            key.public_key.verify(signature, message + b"x")


def test_our_signature_verifies_in_gmssl() -> None:
    for message in (b"", b"abc", b"audit bundle manifest" * 10):
        key = _gmssl_safe_key()
        signature = key.sign(message)
        assert _gmssl(key).verify_with_sm3(signature.hex(), message)
        assert not _gmssl(key).verify_with_sm3(signature.hex(), message + b"x")


def test_tampered_message_is_rejected(key: PrivateKey) -> None:
    signature = key.sign(b"genuine")
    with pytest.raises(InvalidSignature, match="does not verify"):
        key.public_key.verify(signature, b"genuinE")


def test_every_tampered_signature_byte_is_rejected(key: PrivateKey) -> None:
    signature = key.sign(b"genuine")
    for i in range(len(signature)):
        for flip in (0x01, 0x80):
            altered = signature[:i] + bytes([signature[i] ^ flip]) + signature[i + 1 :]
            with pytest.raises(InvalidSignature):
                key.public_key.verify(altered, b"genuine")


def test_wrong_key_is_rejected(key: PrivateKey) -> None:
    signature = key.sign(b"genuine")
    with pytest.raises(InvalidSignature):
        PrivateKey.generate().public_key.verify(signature, b"genuine")


def test_wrong_user_id_is_rejected(key: PrivateKey) -> None:
    signature = key.sign(b"genuine", user_id=b"tenant-7")
    key.public_key.verify(signature, b"genuine", user_id=b"tenant-7")
    with pytest.raises(InvalidSignature):
        key.public_key.verify(signature, b"genuine")


@pytest.mark.parametrize(
    ("r", "s"),
    [(0, 1), (1, 0), (N, 1), (1, N), (N - 1, 1)],
    ids=["r=0", "s=0", "r=n", "s=n", "r+s=n"],
)
def test_out_of_range_r_or_s_is_rejected(key: PrivateKey, r: int, s: int) -> None:
    with pytest.raises(InvalidSignature):
        key.public_key.verify(_encode_signature(r, s), b"m")


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda sig: sig + b"\x00", "SEQUENCE header or length"),
        (lambda sig: sig[:-1], "SEQUENCE header or length"),
        (lambda sig: b"\x31" + sig[1:], "SEQUENCE header"),
        (lambda sig: b"", "too short"),
        (lambda sig: b"\x30\x06\x02\x01\x01\x02\x01\xff", "negative INTEGER"),
        (lambda sig: b"\x30\x07\x02\x02\x00\x01\x02\x01\x01", "non-minimal"),
        (lambda sig: b"\x30\x06\x02\x01\x01\x04\x01\x01", "expected an INTEGER"),
        (lambda sig: b"\x30\x08\x02\x01\x01\x02\x01\x01\x05\x00", "trailing bytes"),
        (lambda sig: b"\x30\x06\x02\x00\x02\x02\x01\x01", "bad INTEGER length"),
    ],
    ids=[
        "trailing",
        "truncated",
        "set",
        "empty",
        "negative",
        "non-minimal",
        "octet-string",
        "extra-element",
        "zero-length",
    ],
)
def test_malformed_der_is_rejected(key: PrivateKey, mutate: Any, reason: str) -> None:
    with pytest.raises(InvalidSignature, match=reason):
        key.public_key.verify(mutate(key.sign(b"m")), b"m")


@settings(max_examples=15, deadline=None)
@given(message=st.binary(max_size=200), user_id=st.binary(max_size=40))
def test_any_message_and_user_id_round_trip(
    key: PrivateKey, message: bytes, user_id: bytes
) -> None:
    signature = key.sign(message, user_id)
    key.public_key.verify(signature, message, user_id)
    with pytest.raises(InvalidSignature):
        key.public_key.verify(signature, message + b"\x00", user_id)


def test_private_key_bytes_round_trip(key: PrivateKey) -> None:
    again = PrivateKey.from_bytes(key.to_bytes())
    assert again.public_key == key.public_key
    assert len(key.to_bytes()) == 32


@pytest.mark.parametrize("d", [0, N - 1, N, 2**256 - 1])
def test_private_key_outside_1_to_n_minus_2_is_rejected(d: int) -> None:
    with pytest.raises(InvalidKey):
        PrivateKey.from_bytes(d.to_bytes(32, "big"))


def test_private_key_edges_are_accepted() -> None:
    for d in (1, N - 2):
        key = PrivateKey(d)
        key.public_key.verify(key.sign(b"edge"), b"edge")


def test_private_key_of_wrong_length_is_rejected() -> None:
    with pytest.raises(InvalidKey):
        PrivateKey.from_bytes(bytes(31))


def test_private_key_repr_does_not_reveal_the_secret(key: PrivateKey) -> None:
    assert key.to_bytes().hex() not in repr(key)


def test_public_key_bytes_round_trip(key: PrivateKey) -> None:
    encoded = key.public_key.to_bytes()
    assert len(encoded) == 65 and encoded[0] == 4
    assert PublicKey.from_bytes(encoded) == key.public_key
    assert key.public_key.hex() == encoded.hex()


def test_public_key_off_the_curve_is_rejected(key: PrivateKey) -> None:
    encoded = bytearray(key.public_key.to_bytes())
    encoded[-1] ^= 1
    with pytest.raises(InvalidKey, match="not on the SM2 curve"):
        PublicKey.from_bytes(bytes(encoded))


@pytest.mark.parametrize(
    "encoded",
    [
        b"",
        b"\x04" + bytes(63),
        b"\x02" + bytes(64),
        b"\x04" + bytes(64),  # (0, 0) is not on the curve
        b"\x04" + P.to_bytes(32, "big") + bytes(32),  # x out of the field
    ],
)
def test_malformed_public_key_is_rejected(encoded: bytes) -> None:
    with pytest.raises(InvalidKey):
        PublicKey.from_bytes(encoded)


def test_public_key_with_coordinates_shifted_by_p_is_rejected(key: PrivateKey) -> None:
    encoded = key.public_key.to_bytes()
    x = int.from_bytes(encoded[1:33], "big")
    if x + P < 2**256:
        shifted = b"\x04" + (x + P).to_bytes(32, "big") + encoded[33:]
        with pytest.raises(InvalidKey):
            PublicKey.from_bytes(shifted)


def test_user_id_too_long_to_encode_is_rejected(key: PrivateKey) -> None:
    with pytest.raises(InvalidUserId):
        key.sign(b"m", user_id=bytes(8192))
    key.public_key.verify(key.sign(b"m", user_id=bytes(8191)), b"m", user_id=bytes(8191))
