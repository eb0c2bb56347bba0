"""SM4-GCM authenticated encryption (GB/T 32907-2016 block cipher, GCM as in RFC 8998).

Sealed format: ``nonce (12 bytes) || ciphertext || tag (16 bytes)``. The
nonce is drawn from the OS CSPRNG inside `seal`/`seal_many`, so callers
cannot reuse one by mistake; associated data is authenticated but not
stored, and must be passed again to `open_sealed`.

Random 96-bit nonces bound how much one key may seal: NIST SP 800-38D §8.3
caps it at 2**32 messages per key. Rotate data keys (see `crypto.envelope`)
long before that, for example every few hundred million seals.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from crypto import _gcm_bulk
from crypto.errors import DecryptionFailed, InvalidKey, MalformedCiphertext

__all__ = [
    "KEY_SIZE",
    "NONCE_SIZE",
    "OVERHEAD",
    "TAG_SIZE",
    "generate_key",
    "open_sealed",
    "seal",
    "seal_many",
]

KEY_SIZE = 16
NONCE_SIZE = 12
TAG_SIZE = 16
OVERHEAD = NONCE_SIZE + TAG_SIZE


def generate_key() -> bytes:
    """Return a fresh random 16-byte SM4 key."""
    return os.urandom(KEY_SIZE)


def _algorithm(key: bytes) -> algorithms.SM4:
    if not isinstance(key, bytes):
        raise InvalidKey(f"an SM4 key is {KEY_SIZE} bytes, got a {type(key).__name__}")
    if len(key) != KEY_SIZE:
        raise InvalidKey(f"an SM4 key is {KEY_SIZE} bytes, got {len(key)}")
    return algorithms.SM4(key)


def _public_encryptor(algorithm: algorithms.SM4, mode: modes.GCM) -> Any:
    return Cipher(algorithm, mode).encryptor()


def _context_factory() -> Any:
    """How a GCM encryption context is made: `cryptography`'s own constructor if reachable.

    ``Cipher(...).encryptor()`` checks its arguments with abstract-base-class
    ``isinstance`` calls and then calls ``create_encryption_ctx`` of the Rust
    bindings, the same function `cryptography.hazmat.primitives.ciphers.base`
    imports. Those checks cost about 4 µs per item, a quarter of a seal, and
    hold for every item once the key is checked (`_algorithm`) and the mode is
    a ``modes.GCM`` without a tag; so messages sealed one context each call
    the constructor directly. A `cryptography` without it gets the public path; `tests/crypto`
    checks that both give the same bytes.
    """
    try:
        from cryptography.hazmat.bindings._rust import openssl as rust_openssl

        create = rust_openssl.ciphers.create_encryption_ctx
    except (ImportError, AttributeError):  # pragma: no cover - depends on cryptography
        return _public_encryptor
    return create


_encryptor = _context_factory()


def _seal_one(
    algorithm: algorithms.SM4, plaintext: bytes, associated_data: bytes, prefix: bytes = b""
) -> bytes:
    """Seal one item; `prefix` works as in `_seal_batch`."""
    nonce = os.urandom(NONCE_SIZE)
    encryptor = _encryptor(algorithm, modes.GCM(nonce))
    encryptor.authenticate_additional_data(prefix + associated_data)
    body = encryptor.update(plaintext)
    encryptor.finalize()
    return b"".join((prefix, nonce, body, encryptor.tag))


def _seal_batch(
    algorithm: algorithms.SM4,
    items: Iterable[tuple[bytes, bytes]],
    prefix: bytes = b"",
) -> list[bytes]:
    """Seal each (plaintext, ad) pair; `prefix` is prepended to each output and to each AD.

    The envelope format uses `prefix` for its header, which must be both
    stored in front of the ciphertext and authenticated with it. Messages
    that come in groups of one length are sealed together (`crypto._gcm_bulk`);
    the rest one context each.
    """
    batch = items if isinstance(items, list | tuple) else list(items)
    nonces = os.urandom(NONCE_SIZE * len(batch))
    out: list[bytes] = [b""] * len(batch)
    left: Iterable[int] = range(len(batch))
    if _gcm_bulk.AVAILABLE and len(batch) >= _gcm_bulk.MIN_GROUP:
        left = _gcm_bulk.seal_alike(bytes(algorithm.key), batch, nonces, prefix, out)
    gcm = modes.GCM
    encryptor_of = _encryptor
    join = b"".join
    for i in left:
        plaintext, associated_data = batch[i]
        nonce = nonces[NONCE_SIZE * i : NONCE_SIZE * i + NONCE_SIZE]
        encryptor = encryptor_of(algorithm, gcm(nonce))
        encryptor.authenticate_additional_data(prefix + associated_data)
        body = encryptor.update(plaintext)
        encryptor.finalize()
        out[i] = join((prefix, nonce, body, encryptor.tag))
    return out


def _open(algorithm: algorithms.SM4, sealed: bytes, associated_data: bytes) -> bytes:
    if len(sealed) < OVERHEAD:
        raise MalformedCiphertext(
            f"sealed data is {len(sealed)} bytes, shorter than the {OVERHEAD}-byte"
            " nonce and tag it must contain"
        )
    nonce = sealed[:NONCE_SIZE]
    tag = sealed[-TAG_SIZE:]
    decryptor = Cipher(algorithm, modes.GCM(nonce, tag)).decryptor()
    decryptor.authenticate_additional_data(associated_data)
    plaintext = decryptor.update(sealed[NONCE_SIZE:-TAG_SIZE])
    try:
        decryptor.finalize()
    except InvalidTag:
        raise DecryptionFailed(
            "SM4-GCM authentication failed: wrong key, or the nonce, ciphertext,"
            " tag or associated data were altered"
        ) from None
    return plaintext


def seal(key: bytes, plaintext: bytes, associated_data: bytes = b"") -> bytes:
    """Encrypt and authenticate `plaintext`, binding `associated_data`; returns nonce||ct||tag."""
    return _seal_one(_algorithm(key), plaintext, associated_data)


def seal_many(key: bytes, items: Iterable[tuple[bytes, bytes]]) -> list[bytes]:
    """Seal many (plaintext, associated_data) pairs under one key, in order.

    Same output as calling `seal` for each pair, with the key checked once
    and all nonces drawn from one `os.urandom` call.
    """
    return _seal_batch(_algorithm(key), items)


def open_sealed(key: bytes, sealed: bytes, associated_data: bytes = b"") -> bytes:
    """Return the plaintext of `seal` output, or raise `DecryptionFailed`."""
    return _open(_algorithm(key), sealed, associated_data)
