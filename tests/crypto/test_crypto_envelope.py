"""Envelope encryption: key ids in every ciphertext, rotation, shredding, and wrapping."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import sm4
from crypto.envelope import (
    FORMAT_VERSION,
    Keyring,
    key_id_of,
    unwrap_data_key,
    wrap_data_key,
)
from crypto.errors import (
    CryptoError,
    DecryptionFailed,
    InvalidKey,
    KeyShredded,
    MalformedCiphertext,
    NoActiveKey,
    UnknownKey,
)

MASTER = bytes(range(16))


def test_seal_then_open_round_trips_with_associated_data() -> None:
    keyring = Keyring.new("k1")
    blob = keyring.seal(b'{"gtin":"06901234567892"}', b"code:ABC")
    assert keyring.open(blob, b"code:ABC") == b'{"gtin":"06901234567892"}'


@settings(max_examples=50)
@given(plaintext=st.binary(max_size=300), associated_data=st.binary(max_size=60))
def test_any_payload_round_trips(plaintext: bytes, associated_data: bytes) -> None:
    keyring = Keyring.new("k1")
    assert keyring.open(keyring.seal(plaintext, associated_data), associated_data) == plaintext


def test_ciphertext_layout_is_version_key_id_then_sm4_gcm_output() -> None:
    keyring = Keyring.new("tenant-7.k1")
    blob = keyring.seal(b"12345", b"")
    assert blob[0] == FORMAT_VERSION == 1
    assert blob[1] == len("tenant-7.k1")
    assert blob[2:13] == b"tenant-7.k1"
    assert len(blob) == 2 + 11 + sm4.NONCE_SIZE + 5 + sm4.TAG_SIZE
    assert key_id_of(blob) == "tenant-7.k1"


def test_rotation_seals_new_data_under_the_new_key_and_old_data_stays_readable() -> None:
    keyring = Keyring.new("k1")
    old = keyring.seal(b"old", b"ad")
    new_id = keyring.rotate()
    assert keyring.active_key_id == new_id != "k1"
    new = keyring.seal(b"new", b"ad")
    assert key_id_of(old) == "k1"
    assert key_id_of(new) == new_id
    assert keyring.open(old, b"ad") == b"old"
    assert keyring.open(new, b"ad") == b"new"


def test_generated_key_ids_are_unique() -> None:
    keyring = Keyring()
    ids = {keyring.rotate() for _ in range(50)}
    assert len(ids) == 50
    assert keyring.key_ids == ids


def test_shredded_key_makes_its_data_unreadable_for_good() -> None:
    keyring = Keyring.new("k1")
    blob = keyring.seal(b"personal data", b"ad")
    keyring.rotate("k2")
    keyring.shred("k1")
    for _ in range(3):
        with pytest.raises(KeyShredded, match="shredded"):
            keyring.open(blob, b"ad")
    assert "k1" in keyring.shredded_ids
    assert "k1" not in keyring.key_ids
    with pytest.raises(InvalidKey, match="shredded"):
        keyring.add("k1", sm4.generate_key())


def test_shredding_is_distinct_from_tampering() -> None:
    keyring = Keyring.new("k1")
    blob = keyring.seal(b"data", b"ad")
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(DecryptionFailed) as tampering:
        keyring.open(tampered, b"ad")
    assert not isinstance(tampering.value, KeyShredded)
    keyring.shred("k1")
    with pytest.raises(KeyShredded) as shredded:
        keyring.open(blob, b"ad")
    assert not isinstance(shredded.value, DecryptionFailed)


def test_shred_is_idempotent_and_unknown_ids_are_reported() -> None:
    keyring = Keyring.new("k1")
    keyring.shred("k1")
    keyring.shred("k1")
    with pytest.raises(UnknownKey):
        keyring.shred("never-existed")


def test_sealing_after_shredding_the_active_key_needs_a_rotation() -> None:
    keyring = Keyring.new("k1")
    keyring.shred("k1")
    assert keyring.active_key_id is None
    with pytest.raises(NoActiveKey):
        keyring.seal(b"x")
    with pytest.raises(NoActiveKey):
        keyring.seal_many([(b"x", b"")])
    keyring.rotate("k2")
    assert keyring.open(keyring.seal(b"x")) == b"x"


def _with_key_id(blob: bytes, key_id: bytes) -> bytes:
    return bytes((blob[0], len(key_id))) + key_id + blob[2 + blob[1] :]


def test_swapped_key_id_is_rejected_even_when_both_ids_hold_the_same_key() -> None:
    material = sm4.generate_key()
    keyring = Keyring()
    keyring.add("k1", material, active=True)
    keyring.add("k2", material)
    keyring.add("key-3", sm4.generate_key())
    blob = keyring.seal(b"data", b"ad")
    # Same key material under k2: only the header being authenticated catches it.
    with pytest.raises(DecryptionFailed):
        keyring.open(_with_key_id(blob, b"k2"), b"ad")
    with pytest.raises(DecryptionFailed):
        keyring.open(_with_key_id(blob, b"key-3"), b"ad")


def test_every_altered_byte_is_rejected() -> None:
    keyring = Keyring()
    keyring.add("k1", sm4.generate_key(), active=True)
    keyring.add("k3", sm4.generate_key())
    blob = keyring.seal(b"payload", b"ad")
    for i in range(len(blob)):
        altered = blob[:i] + bytes([blob[i] ^ 0x02]) + blob[i + 1 :]
        with pytest.raises(CryptoError):
            keyring.open(altered, b"ad")


def test_wrong_associated_data_is_rejected() -> None:
    keyring = Keyring.new("k1")
    blob = keyring.seal(b"payload", b"code:A")
    with pytest.raises(DecryptionFailed):
        keyring.open(blob, b"code:B")
    with pytest.raises(DecryptionFailed):
        keyring.open(blob)


@pytest.mark.parametrize(
    ("blob", "reason"),
    [
        (b"", "too short"),
        (b"\x01", "too short"),
        (b"\x02\x02k1" + bytes(28), "unsupported envelope version 2"),
        (b"\x01\x05k1", "truncated"),
        (b"\x01\x02k1" + bytes(27), "truncated"),
        (b"\x01\x02k\xff" + bytes(28), "not ASCII"),
        (b"\x01\x02k/" + bytes(28), "outside"),
    ],
)
def test_malformed_envelopes_are_reported(blob: bytes, reason: str) -> None:
    with pytest.raises(MalformedCiphertext, match=reason):
        Keyring.new("k1").open(blob)
    with pytest.raises(MalformedCiphertext, match=reason):
        key_id_of(blob)


def test_envelope_from_another_keyring_names_an_unknown_key() -> None:
    blob = Keyring.new("elsewhere").seal(b"x")
    with pytest.raises(UnknownKey, match="elsewhere"):
        Keyring.new("k1").open(blob)


def test_seal_many_matches_seal_item_by_item() -> None:
    keyring = Keyring.new("k1")
    items = [(f"payload {i}".encode(), f"code-{i}".encode()) for i in range(100)]
    blobs = keyring.seal_many(items)
    assert [keyring.open(b, ad) for b, (_, ad) in zip(blobs, items, strict=True)] == [
        p for p, _ in items
    ]
    assert {key_id_of(b) for b in blobs} == {"k1"}
    assert all(
        len(b) == 2 + 2 + sm4.OVERHEAD + len(p) for b, (p, _) in zip(blobs, items, strict=True)
    )


def test_wrapped_data_key_unwraps_only_under_its_key_id_and_master_key() -> None:
    data_key = sm4.generate_key()
    wrapped = wrap_data_key(MASTER, "k1", data_key)
    assert data_key not in wrapped
    assert unwrap_data_key(MASTER, "k1", wrapped) == data_key
    with pytest.raises(DecryptionFailed):
        unwrap_data_key(MASTER, "k2", wrapped)
    with pytest.raises(DecryptionFailed):
        unwrap_data_key(bytes(16), "k1", wrapped)


def test_wrapping_validates_keys() -> None:
    with pytest.raises(InvalidKey):
        wrap_data_key(MASTER, "k1", bytes(15))
    with pytest.raises(InvalidKey):
        wrap_data_key(bytes(8), "k1", bytes(16))
    with pytest.raises(InvalidKey):
        wrap_data_key(MASTER, "bad id", bytes(16))


def test_keyring_survives_storage_as_wrapped_keys() -> None:
    keyring = Keyring.new("k1")
    old = keyring.seal(b"old", b"ad")
    keyring.rotate("k2")
    keyring.rotate("k3")
    keyring.shred("k2")
    stored = keyring.wrapped_keys(MASTER)
    assert set(stored) == {"k1", "k3"}
    loaded = Keyring.from_wrapped(
        MASTER, stored, active=keyring.active_key_id, shredded=keyring.shredded_ids
    )
    assert loaded.active_key_id == "k3"
    assert loaded.open(old, b"ad") == b"old"
    assert keyring.open(loaded.seal(b"new"), b"") == b"new"
    shredded_blob = _with_key_id(old, b"k2")
    with pytest.raises(KeyShredded):
        loaded.open(shredded_blob, b"ad")
    with pytest.raises(DecryptionFailed):
        Keyring.from_wrapped(bytes(16), stored, active="k3")
    with pytest.raises(UnknownKey):
        Keyring.from_wrapped(MASTER, stored, active="k2")


@pytest.mark.parametrize("key_id", ["", "a" * 65, "has space", "ключ", "a/b", "k\n"])
def test_invalid_key_ids_are_rejected(key_id: str) -> None:
    with pytest.raises(InvalidKey, match="key id"):
        Keyring().add(key_id, sm4.generate_key())


def test_add_rejects_duplicates_and_bad_material() -> None:
    keyring = Keyring.new("k1")
    with pytest.raises(InvalidKey, match="already"):
        keyring.add("k1", sm4.generate_key())
    with pytest.raises(InvalidKey, match="16 bytes"):
        keyring.add("k2", bytes(32))
    assert keyring.key_ids == {"k1"}


def test_repr_names_keys_but_never_material() -> None:
    keyring = Keyring()
    material = bytes(range(100, 116))
    keyring.add("k1", material, active=True)
    assert "k1" in repr(keyring)
    assert material.hex() not in repr(keyring) and repr(material) not in repr(keyring)
