"""SM4-GCM for many short messages at once: one SM4 call for every keystream, GHASH in C.

`cryptography` gives no SM4 AEAD object, so each message through it builds, keys and frees
an OpenSSL GCM context: about 7 µs of a 12 µs seal of a code's 329-byte payload. Here GCM
(NIST SP 800-38D) is put together for a whole batch of same-length messages from the two
halves it is made of, each done by a library made for it:

- the counter blocks of every message (``J0 = nonce || 1`` for the tag mask, then
  ``nonce || 2, 3, ...`` for the text) are encrypted by one SM4-ECB call of `cryptography`
  and XORed onto the plaintexts with numpy;
- each message's GHASH over ``A || C || lengths`` is one call of pycryptodome's C GHASH
  (carry-less multiplication where the CPU has it), keyed once per batch by
  ``H = SM4(key, 0^128)``.

The output is byte for byte what `cryptography`'s SM4-GCM gives for the same nonces
(`tests/crypto` checks it against that and RFC 8998); opening always goes through
`cryptography`. GHASH is a private part of pycryptodome, so pyproject.toml pins
pycryptodome to the minor versions this was tested with, and at import a self-check
seals groups of messages of 0, 1, 15, 16, 17, 64 and 329 bytes, each message with a
nonce of its own, under associated data of several lengths (none, shorter than,
equal to and longer than a block, with and without a prefix), and compares every
byte with `cryptography`. Where GHASH or its cffi backend cannot be loaded, or one
sealed byte differs, `AVAILABLE` is false, a `RuntimeWarning` says why, and every
message takes the fallback.

The fallback is `crypto.sm4`'s one OpenSSL GCM context per message: the same bytes,
slower by the context's set-up. Measured per message in one run on a busy 2-core
machine: 4.1 µs against 3.6 µs bulk for a 100-byte payload, 11.4 µs against 5.9 µs
for a code's 329-byte payload (`bench/crypto_bench.py` prints the figures for yours).
Neither path's timing depends on the key or the text beyond their lengths in the
arithmetic we do (counters, XOR, lengths); the cipher and GHASH inside are OpenSSL's
and pycryptodome's, with whatever timing properties those have on the CPU.
"""

from __future__ import annotations

import importlib
import warnings
from collections import defaultdict
from collections.abc import Sequence
from itertools import repeat
from typing import Any

import numpy as np
import numpy.typing as npt
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = ["AVAILABLE", "MAX_PLAINTEXT", "MIN_GROUP", "seal_alike"]

BLOCK = 16
NONCE = 12
MAX_PLAINTEXT = 4096  # longer messages gain nothing: their SM4 time dwarfs the set-up
MIN_GROUP = 8  # fewer messages of one length cost more in numpy than they save
SLICE_BYTES = 2 << 20  # keystream per SM4 call: bounds the memory a slice holds

Bytes = npt.NDArray[np.uint8]


def _load_ghash() -> tuple[Any, Any] | None:
    """pycryptodome's C GHASH (CLMUL if the CPU has it) and its cffi FFI, or None."""
    try:
        raw_api = importlib.import_module("Crypto.Util._raw_api")
        gcm = importlib.import_module("Crypto.Cipher._mode_gcm")
    except ImportError:  # pragma: no cover - pycryptodome is a dependency
        return None
    if getattr(raw_api, "backend", None) != "cffi":  # pragma: no cover - cffi is installed
        return None
    ghash = getattr(gcm, "_ghash_clmul", None) or getattr(gcm, "_ghash_portable", None)
    if ghash is None or not all(
        callable(getattr(ghash, name, None)) for name in ("ghash", "ghash_expand", "ghash_destroy")
    ):  # pragma: no cover - depends on pycryptodome's internals
        return None
    return ghash, raw_api.ffi


_GHASH = _load_ghash()


def slice_size(length: int) -> int:
    """Messages of ``length`` bytes sealed per SM4 call."""
    return max(1, SLICE_BYTES // (BLOCK * (-(-length // BLOCK) + 1)))


# What the self-check seals: (plaintext length, associated data length) in groups of
# MIN_GROUP messages, under each prefix (so the GCM associated data is prefix + data).
_CHECKED_SHAPES = ((0, 0), (1, 3), (15, 16), (16, 0), (17, 12), (64, 33), (329, 17))
_CHECKED_PREFIXES = (b"", b"\x01\x02dk")


def _self_check() -> bool:
    """Whether bulk sealing gives `cryptography`'s bytes (guards pycryptodome's internals)."""
    key = bytes(range(16))
    items = [
        (bytes((7 * i + j) % 256 for j in range(length)), bytes((i + j) % 256 for j in range(ad)))
        for length, ad in _CHECKED_SHAPES
        for i in range(MIN_GROUP)
    ]
    nonces = [
        (0x9E3779B97F4A7C15 * (i + 1)).to_bytes(16, "big")[-NONCE:] for i in range(len(items))
    ]
    for prefix in _CHECKED_PREFIXES:
        expected = []
        for (plaintext, ad), nonce in zip(items, nonces, strict=True):
            encryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
            encryptor.authenticate_additional_data(prefix + ad)
            body = encryptor.update(plaintext) + encryptor.finalize()
            expected.append(prefix + nonce + body + encryptor.tag)
        out = [b""] * len(items)
        try:
            left = seal_alike(key, items, b"".join(nonces), prefix, out)
        except Exception:
            return False
        if left or out != expected:
            return False
    return True


def seal_alike(
    key: bytes,
    items: Sequence[tuple[bytes, bytes]],
    nonces: bytes,
    prefix: bytes,
    out: list[bytes],
) -> list[int]:
    """Seal the items that come in groups of one length; return the indexes left to the caller.

    Item ``i`` is sealed with nonce ``nonces[12*i : 12*i+12]``, GCM associated data
    ``prefix + ad``, into ``out[i]`` as ``prefix || nonce || ciphertext || tag``.
    """
    if _GHASH is None:  # pragma: no cover - see AVAILABLE
        return list(range(len(items)))
    groups: defaultdict[tuple[int, int], list[int]] = defaultdict(list)
    for i, shape in enumerate([(len(p), len(a)) for p, a in items]):
        groups[shape].append(i)
    nonce_rows = np.frombuffer(nonces, np.uint8).reshape(len(items), NONCE)
    left: list[int] = []
    # ECB of counter blocks is the CTR half of GCM, for many nonces in one call.
    ecb = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()  # noqa: S305
    subkey = ecb.update(bytes(BLOCK))
    ghash, ffi = _GHASH
    table = ffi.new("void **")
    if ghash.ghash_expand(subkey, table):  # pragma: no cover - fails only without memory
        raise MemoryError("GHASH key expansion failed")
    try:
        for (length, ad_length), indexes in groups.items():
            if length > MAX_PLAINTEXT or len(indexes) < MIN_GROUP:
                left.extend(indexes)
                continue
            step = slice_size(length)
            for at in range(0, len(indexes), step):
                part = indexes[at : at + step]
                sealed = _seal_group(
                    ecb.update,
                    table[0],
                    [items[i][0] for i in part],
                    [items[i][1] for i in part],
                    nonce_rows[part[0] : part[-1] + 1]
                    if part[-1] - part[0] == len(part) - 1
                    else nonce_rows[part],
                    prefix,
                    length,
                    ad_length,
                )
                for i, blob in zip(part, sealed, strict=True):
                    out[i] = blob
    finally:
        ghash.ghash_destroy(table[0])
    return left


def _seal_group(
    encrypt_blocks: Any,
    ghash_table: Any,
    plaintexts: list[bytes],
    associated: list[bytes],
    nonce_rows: Bytes,
    prefix: bytes,
    length: int,
    ad_length: int,
) -> list[bytes]:
    """Seal ``n`` messages of ``length`` bytes whose associated data are ``ad_length`` long."""
    assert _GHASH is not None
    ghash, ffi = _GHASH
    n = len(plaintexts)
    blocks = -(-length // BLOCK)

    counters: Bytes = np.empty((n, blocks + 1, BLOCK), np.uint8)
    counters[:, :, :NONCE] = nonce_rows[:, None, :]
    counters[:, :, NONCE:] = (
        np.arange(1, blocks + 2, dtype=">u4").view(np.uint8).reshape(blocks + 1, 4)
    )
    keystream = np.frombuffer(encrypt_blocks(counters.tobytes()), np.uint8).reshape(
        n, blocks + 1, BLOCK
    )
    text = np.frombuffer(b"".join(plaintexts), np.uint8).reshape(n, length)
    ciphertext = text ^ keystream[:, 1:, :].reshape(n, blocks * BLOCK)[:, :length]

    # GHASH input of each message: A || 0* || C || 0* || len(A) || len(C), lengths in bits.
    a_length = len(prefix) + ad_length
    a_padded = -(-a_length // BLOCK) * BLOCK
    width = a_padded + blocks * BLOCK + BLOCK
    hashed: Bytes = np.zeros((n, width), np.uint8)
    hashed[:, : len(prefix)] = np.frombuffer(prefix, np.uint8)
    if ad_length:
        hashed[:, len(prefix) : a_length] = np.frombuffer(b"".join(associated), np.uint8).reshape(
            n, ad_length
        )
    hashed[:, a_padded : a_padded + length] = ciphertext
    hashed[:, -BLOCK:] = np.frombuffer(
        (a_length * 8).to_bytes(8, "big") + (length * 8).to_bytes(8, "big"), np.uint8
    )
    digests: Bytes = np.empty((n, BLOCK), np.uint8)
    source, target = ffi.from_buffer(hashed), ffi.from_buffer(digests)
    for failed in map(
        ghash.ghash,
        [target + at for at in range(0, n * BLOCK, BLOCK)],
        [source + at for at in range(0, n * width, width)],
        repeat(width, n),
        repeat(ffi.new("uint8_t[16]"), n),
        repeat(ghash_table, n),
    ):
        if failed:  # pragma: no cover - the C code fails only on null pointers
            raise RuntimeError(f"GHASH failed with error {failed}")
    tags = digests ^ keystream[:, 0, :]

    head = len(prefix)
    size = head + NONCE + length + BLOCK
    sealed: Bytes = np.empty((n, size), np.uint8)
    sealed[:, :head] = np.frombuffer(prefix, np.uint8)
    sealed[:, head : head + NONCE] = nonce_rows
    sealed[:, head + NONCE : head + NONCE + length] = ciphertext
    sealed[:, head + NONCE + length :] = tags
    joined = sealed.tobytes()
    return [joined[at : at + size] for at in range(0, n * size, size)]


def _available() -> bool:
    """Whether bulk sealing is to be used here; warns, naming the reason, when it is not."""
    if _GHASH is None:
        reason = "pycryptodome's C GHASH could not be loaded through cffi"
    elif not _self_check():
        reason = "the self-check sealed bytes that differ from cryptography's SM4-GCM"
    else:
        return True
    warnings.warn(
        f"crypto._gcm_bulk is off ({reason}); SM4-GCM seals one OpenSSL context per "
        "message, the same bytes but slower. pyproject.toml names the pycryptodome "
        "versions it was tested with.",
        RuntimeWarning,
        stacklevel=2,
    )
    return False


AVAILABLE = _available()
