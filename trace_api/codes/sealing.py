"""The CPU-bound half of issuing: seal payloads, hash leaves, root each chunk.

Runs in worker processes (spawned, so this module imports only `crypto` and the
standard library) while the parent writes rows; or in the caller's process for small
batches. The data key travels wrapped under a one-time transport key, never the master key.

Chunks hold a power of two of codes, so each chunk is a complete subtree of the batch's
RFC 9162 tree (every split point of MTH above that size is a multiple of it); the batch
root is then the root of a tree whose leaf hashes are the chunk roots
(`combine_chunk_roots`). `tests/codes` checks this against a tree built leaf by leaf.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass

from crypto.envelope import Keyring
from crypto.merkle import MerkleTree
from crypto.sm3 import sm3

PIN_DIGITS = 8
_keyrings: dict[tuple[str, bytes], Keyring] = {}


@dataclass(frozen=True)
class SealJob:
    """What every chunk of one issuance needs (picklable)."""

    transport_key: bytes
    wrapped_key: bytes
    key_id: str
    payload_parts: tuple[str, str, str]
    leaf_parts: tuple[str, str, str]
    pin_key: bytes | None = None
    copy_issuance: int | None = None  # set: build PostgreSQL COPY text for this issuance


@dataclass
class SealedChunk:
    """One sealed chunk: rows to write (as values or as COPY text), leaves and their root."""

    start: int
    serials: list[str]
    sealed: list[bytes]
    leaves: bytes
    root: bytes
    pins: list[str] | None
    pin_hashes: list[bytes] | None
    copy_text: bytes | None


def pin_hash(pin_key: bytes, serial: str, pin: str) -> bytes:
    """The stored form of a scratch-off PIN: a keyed hash bound to its serial (16 bytes)."""
    return hmac.new(pin_key, f"{serial}:{pin}".encode(), hashlib.sha256).digest()[:16]


def new_pins(n: int) -> list[str]:
    """``n`` random PINs of `PIN_DIGITS` digits (40 random bits each, reduced: bias < 1e-4)."""
    raw = os.urandom(5 * n)
    modulus = 10**PIN_DIGITS
    return [
        f"{int.from_bytes(raw[i : i + 5], 'big') % modulus:0{PIN_DIGITS}d}"
        for i in range(0, 5 * n, 5)
    ]


def _keyring(job: SealJob) -> Keyring:
    cache_key = (job.key_id, job.wrapped_key)
    keyring = _keyrings.get(cache_key)
    if keyring is None:
        keyring = Keyring.from_wrapped(
            job.transport_key, {job.key_id: job.wrapped_key}, active=job.key_id
        )
        _keyrings.clear()
        _keyrings[cache_key] = keyring
    return keyring


def seal_chunk(job: SealJob, start: int, serials: list[str]) -> SealedChunk:
    """Seal the payloads of ``serials`` (leaf indexes from ``start``), hash their leaves."""
    p0, p1, p2 = job.payload_parts
    sealed = _keyring(job).seal_many(
        [(f"{p0}{i}{p1}{s}{p2}".encode(), s.encode()) for i, s in enumerate(serials, start=start)]
    )
    l0, l1, l2 = job.leaf_parts
    zero = b"\x00"
    leaf_list = [
        sm3(zero + f"{l0}{sm3(c).hex()}{l1}{s}{l2}".encode())
        for c, s in zip(sealed, serials, strict=True)
    ]
    root = MerkleTree.from_leaf_hashes(leaf_list).root()
    pins = pin_hashes = None
    if job.pin_key is not None:
        pins = new_pins(len(serials))
        pin_hashes = [pin_hash(job.pin_key, s, p) for s, p in zip(serials, pins, strict=True)]
    copy_text = None
    if job.copy_issuance is not None:
        copy_text = _copy_text(job.copy_issuance, start, serials, sealed, pin_hashes)
        sealed = []
    return SealedChunk(
        start, serials, sealed, b"".join(leaf_list), root, pins, pin_hashes, copy_text
    )


def _copy_text(
    issuance: int,
    start: int,
    serials: list[str],
    sealed: list[bytes],
    pin_hashes: list[bytes] | None,
) -> bytes:
    """Rows of ``codes`` in PostgreSQL's COPY text format (bytea as ``\\x`` hex)."""
    pins = [f"\\\\x{h.hex()}" for h in pin_hashes] if pin_hashes else ["\\N"] * len(serials)
    return "".join(
        [
            f"{issuance}\t{i}\t{s}\t\\\\x{c.hex()}\t{p}\n"
            for i, s, c, p in zip(
                range(start, start + len(serials)), serials, sealed, pins, strict=True
            )
        ]
    ).encode()


def combine_chunk_roots(roots: list[bytes]) -> bytes:
    """The batch root from the roots of its chunks (each a power of two of leaves but the last)."""
    return MerkleTree.from_leaf_hashes(roots).root()
