"""Envelope encryption: a master key wraps per-tenant SM4 data keys; data is sealed under those.

Every ciphertext names the data key that sealed it, so keys can be rotated
(new data under the new key, old data still readable) and shredded (the key
material is destroyed and its data can never be opened again).

Ciphertext format (version 1)::

    offset 0        version byte, 0x01
    offset 1        L, the length of the key id in bytes (1..64)
    offset 2        key id, L ASCII bytes from [A-Za-z0-9._:-]
    offset 2 + L    SM4-GCM output of `crypto.sm4`: nonce (12) || ciphertext || tag (16)

The header (the first 2 + L bytes) is authenticated together with the
caller's associated data: the GCM associated data is ``header ||
associated_data``. The header is length-prefixed, so that concatenation is
unambiguous, and neither the version nor the key id can be altered or
swapped without the tag failing.

A wrapped data key is `crypto.sm4.seal` output under the master key, with
associated data ``b"trace-envelope-v1/data-key/" + key_id``: a wrapped key
only unwraps under the id it was wrapped for.

Storage: `Keyring.wrapped_keys` gives the wrapped material to persist and
`Keyring.from_wrapped` loads it back. Shredding drops the key from the
keyring; the key is destroyed for good once the caller also deletes the
stored wrapped copy (Python cannot reliably scrub the bytes from memory).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping

from cryptography.hazmat.primitives.ciphers import algorithms

from crypto import sm4
from crypto.errors import (
    InvalidKey,
    KeyShredded,
    MalformedCiphertext,
    NoActiveKey,
    UnknownKey,
)
from crypto.sm4 import _algorithm, _open, _seal_batch, _seal_one

__all__ = [
    "FORMAT_VERSION",
    "Keyring",
    "key_id_of",
    "unwrap_data_key",
    "wrap_data_key",
]

FORMAT_VERSION = 1
_MAX_KEY_ID = 64
_KEY_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_WRAP_LABEL = b"trace-envelope-v1/data-key/"


def _check_key_id(key_id: str) -> bytes:
    if not isinstance(key_id, str) or not _KEY_ID.fullmatch(key_id):
        raise InvalidKey(
            f"a key id is 1 to {_MAX_KEY_ID} characters from A-Z a-z 0-9 . _ : -, got {key_id!r}"
        )
    return key_id.encode("ascii")


def _header(key_id: str) -> bytes:
    raw = _check_key_id(key_id)
    return bytes((FORMAT_VERSION, len(raw))) + raw


def _parse_header(blob: bytes) -> tuple[str, int]:
    """Return (key id, header length) of an envelope, or raise `MalformedCiphertext`."""
    if len(blob) < 2:
        raise MalformedCiphertext("envelope too short to hold a header")
    if blob[0] != FORMAT_VERSION:
        raise MalformedCiphertext(f"unsupported envelope version {blob[0]}")
    end = 2 + blob[1]
    raw = blob[2:end]
    if len(raw) != blob[1] or len(blob) < end + sm4.OVERHEAD:
        raise MalformedCiphertext("envelope truncated")
    try:
        key_id = raw.decode("ascii")
    except UnicodeDecodeError:
        raise MalformedCiphertext("envelope key id is not ASCII") from None
    if not _KEY_ID.fullmatch(key_id):
        raise MalformedCiphertext("envelope key id has characters outside [A-Za-z0-9._:-]")
    return key_id, end


def key_id_of(blob: bytes) -> str:
    """Return the id of the key that sealed an envelope (unauthenticated until it is opened)."""
    return _parse_header(blob)[0]


def wrap_data_key(master_key: bytes, key_id: str, data_key: bytes) -> bytes:
    """Encrypt a data key under the master key, bound to its key id."""
    _algorithm(data_key)  # validates the data key's length
    return sm4.seal(master_key, data_key, _WRAP_LABEL + _check_key_id(key_id))


def unwrap_data_key(master_key: bytes, key_id: str, wrapped: bytes) -> bytes:
    """Decrypt a wrapped data key; raise `DecryptionFailed` for a wrong master key or key id."""
    return sm4.open_sealed(master_key, wrapped, _WRAP_LABEL + _check_key_id(key_id))


class Keyring:
    """One tenant's data keys: material by key id, the active id, and the shredded ids."""

    __slots__ = ("_active", "_ciphers", "_headers", "_material", "_shredded")

    def __init__(self) -> None:
        self._material: dict[str, bytes] = {}
        self._ciphers: dict[str, algorithms.SM4] = {}
        self._headers: dict[str, bytes] = {}
        self._active: str | None = None
        self._shredded: set[str] = set()

    @classmethod
    def new(cls, key_id: str | None = None) -> Keyring:
        """Return a keyring holding one fresh random data key, active."""
        keyring = cls()
        keyring.rotate(key_id)
        return keyring

    @classmethod
    def from_wrapped(
        cls,
        master_key: bytes,
        wrapped: Mapping[str, bytes],
        *,
        active: str | None,
        shredded: Iterable[str] = (),
    ) -> Keyring:
        """Rebuild a keyring from stored wrapped keys (see `wrapped_keys`)."""
        keyring = cls()
        keyring._shredded.update(shredded)
        for key_id, blob in wrapped.items():
            keyring.add(key_id, unwrap_data_key(master_key, key_id, blob))
        if active is not None:
            keyring._activate(active)
        return keyring

    def wrapped_keys(self, master_key: bytes) -> dict[str, bytes]:
        """Return every live data key wrapped under `master_key`, by key id, for storage."""
        return {
            key_id: wrap_data_key(master_key, key_id, material)
            for key_id, material in self._material.items()
        }

    @property
    def active_key_id(self) -> str | None:
        """The id that new data is sealed under, or None after the active key was shredded."""
        return self._active

    @property
    def key_ids(self) -> frozenset[str]:
        """Ids of the keys whose material the keyring holds."""
        return frozenset(self._material)

    @property
    def shredded_ids(self) -> frozenset[str]:
        """Ids of the keys that were destroyed."""
        return frozenset(self._shredded)

    def add(self, key_id: str, material: bytes, *, active: bool = False) -> None:
        """Add a data key; with `active=True` it also becomes the key for new data."""
        header = _header(key_id)
        if key_id in self._shredded:
            raise InvalidKey(f"key id {key_id!r} was shredded and cannot be reused")
        if key_id in self._material:
            raise InvalidKey(f"key id {key_id!r} is already in the keyring")
        self._ciphers[key_id] = _algorithm(material)
        self._material[key_id] = material
        self._headers[key_id] = header
        if active:
            self._active = key_id

    def rotate(self, key_id: str | None = None) -> str:
        """Add a fresh data key and make it active (old data stays readable); return its id."""
        new_id = key_id if key_id is not None else f"dk-{secrets.token_hex(8)}"
        self.add(new_id, sm4.generate_key(), active=True)
        return new_id

    def shred(self, key_id: str) -> None:
        """Destroy a data key: its data raises `KeyShredded` from now on. Idempotent."""
        if key_id in self._shredded:
            return
        if key_id not in self._material:
            raise UnknownKey(f"no data key {key_id!r} in this keyring")
        del self._material[key_id]
        del self._ciphers[key_id]
        del self._headers[key_id]
        self._shredded.add(key_id)
        if self._active == key_id:
            self._active = None

    def _activate(self, key_id: str) -> None:
        if key_id not in self._material:
            raise UnknownKey(f"cannot activate {key_id!r}: no such live data key")
        self._active = key_id

    def _active_cipher(self) -> tuple[bytes, algorithms.SM4]:
        if self._active is None:
            raise NoActiveKey("the keyring has no active data key; call rotate() first")
        return self._headers[self._active], self._ciphers[self._active]

    def seal(self, plaintext: bytes, associated_data: bytes = b"") -> bytes:
        """Encrypt under the active data key; the output names that key (see module docstring)."""
        header, cipher = self._active_cipher()
        return _seal_one(cipher, plaintext, associated_data, header)

    def seal_many(self, items: Iterable[tuple[bytes, bytes]]) -> list[bytes]:
        """Seal many (plaintext, associated_data) pairs under the active key, in order."""
        header, cipher = self._active_cipher()
        return _seal_batch(cipher, items, header)

    def open(self, blob: bytes, associated_data: bytes = b"") -> bytes:
        """Decrypt an envelope; `KeyShredded` if its key was destroyed, else `DecryptionFailed`."""
        key_id, header_end = _parse_header(blob)
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            if key_id in self._shredded:
                raise KeyShredded(
                    f"data key {key_id!r} was shredded; this data can no longer be decrypted"
                )
            raise UnknownKey(f"no data key {key_id!r} in this keyring")
        return _open(cipher, blob[header_end:], blob[:header_end] + associated_data)

    def __repr__(self) -> str:
        return (
            f"Keyring(active={self._active!r}, keys={sorted(self._material)},"
            f" shredded={sorted(self._shredded)})"
        )
