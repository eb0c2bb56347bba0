"""The CPU-bound half of issuing: draw serials, seal payloads, hash leaves, root each chunk.

Runs in worker processes while the parent writes rows, or in the caller's process for
small batches. The workers are spawned with this module's functions as their entry
points, and it imports only `crypto`, `serial_slices`, numpy and the standard library, so
a worker starts in a fraction of a second instead of importing the whole service.
The data key travels wrapped under a one-time transport key, never the master key.

Chunks hold a power of two of codes, so each chunk is a complete subtree of the batch's
RFC 9162 tree (every split point of MTH above that size is a multiple of it); the batch
root is then the root of a tree whose leaf hashes are the chunk roots
(`combine_chunk_roots`). `tests/codes` checks this against a tree built leaf by leaf.
"""

from __future__ import annotations

import gc
import hashlib
import hmac
import os
import signal
from binascii import hexlify
from dataclasses import dataclass
from multiprocessing.synchronize import Barrier

from crypto.envelope import Keyring
from crypto.merkle import MerkleTree
from crypto.sm3 import sm3
from trace_api.codes.serial_slices import draw_slice, slice_of

PIN_DIGITS = 8
WORKER_START_TIMEOUT = 300.0  # seconds a worker waits for the others to start
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
    total: int = 0  # codes in the whole batch (what `seal_slice` cuts the serial space by)


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


Task = tuple[SealJob, int, int]  # the job, the chunk's first leaf index, its size


def seal_task(task: Task) -> SealedChunk:
    """A worker's unit of work: one chunk (see `seal_slice`)."""
    return seal_slice(*task)


def start_worker(started: Barrier | None = None) -> None:
    """Set up a sealing worker: leave Ctrl-C and SIGTERM to its parent, collect reference
    cycles rarely, then wait at ``started`` for the pool's other workers.

    A terminal's Ctrl-C or a service manager's SIGTERM reaches the whole process group; the
    parent stops its workers itself, between chunks, so they ignore both. A worker killed
    by it mid-pool broke the pool, and Python 3.11 then waits for ever on a worker blocked
    writing its chunk back: the server never stopped. The barrier lets no worker take a
    task before every one of them ignores the signals (a worker still starting would die).

    Sealing allocates tens of thousands of short-lived tuples and lists per chunk, all
    freed by reference counting; at the default thresholds the collector scanned them over
    and over (7% of a worker's time in a 1M-code issue). What was imported at start-up is
    frozen out of its scans altogether.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    gc.freeze()
    gc.set_threshold(100_000, 50, 50)
    if started is not None:
        started.wait(timeout=WORKER_START_TIMEOUT)


def warm(_: int) -> None:
    """Nothing: run once per worker so that its start-up is paid before the first issue."""


def seal_slice(job: SealJob, start: int, count: int) -> SealedChunk:
    """Draw the serials of leaves ``start .. start+count`` in their slice, then seal them."""
    low, high = slice_of(start, count, job.total)
    return seal_chunk(job, start, draw_slice(low, high, count))


def seal_chunk(job: SealJob, start: int, serials: list[str]) -> SealedChunk:
    """Seal the payloads of ``serials`` (leaf indexes from ``start``), hash their leaves."""
    # bytes formatting: the templates hold product names in UTF-8, which encoding a str per
    # item would re-encode every time.
    p0, p1, p2 = (part.encode() for part in job.payload_parts)
    ads = [s.encode() for s in serials]
    sealed = _keyring(job).seal_many(
        [
            (b"%b%d%b%b%b" % (p0, i, p1, ad, p2), ad)
            for i, ad in zip(range(start, start + len(serials)), ads, strict=True)
        ]
    )
    # SM3(0x00 || leaf input): the leaf prefix is folded into the template's first part.
    l0, l1, l2 = (b"\x00" + job.leaf_parts[0].encode(), *(p.encode() for p in job.leaf_parts[1:]))
    join = b"".join
    leaf_list = [
        sm3(join((l0, hexlify(sm3(c)), l1, ad, l2))) for c, ad in zip(sealed, ads, strict=True)
    ]
    root = chunk_root(leaf_list)
    pins = pin_hashes = None
    if job.pin_key is not None:
        pins = new_pins(len(serials))
        pin_hashes = [pin_hash(job.pin_key, s, p) for s, p in zip(serials, pins, strict=True)]
    copy_text = None
    if job.copy_issuance is not None:
        copy_text = _copy_text(job.copy_issuance, start, serials, sealed, pin_hashes)
        sealed = []
    return SealedChunk(start, serials, sealed, join(leaf_list), root, pins, pin_hashes, copy_text)


def chunk_root(leaves: list[bytes]) -> bytes:
    """The RFC 9162 root of a chunk's leaf hashes (a power of two of them, but the last chunk).

    Level by level, an odd node out moves up unchanged: for any size that is the tree of
    RFC 9162, whose left subtrees are the largest powers of two.
    """
    if not leaves:
        return MerkleTree().root()
    level = leaves
    node = b"\x01"
    while len(level) > 1:
        paired = [sm3(node + a + b) for a, b in zip(level[::2], level[1::2], strict=False)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


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
