"""Issuing a batch's codes in bulk: serials, sealing, leaves, rows, tree, anchor, audit.

One call issues all codes of a batch inside the caller's transaction, so the rows, the
leaf hashes, the anchor job (outbox) and the audit entry commit or vanish together.

Where the time goes (DESIGN.md): drawing serials, sealing and leaf hashing run in
worker processes (`trace_api.codes.sealing`) while this process writes rows, so both
cores work from the first chunk on. Each chunk's serials are drawn in its own slice of the
serial space (`trace_api.codes.serial_slices`), so leaf ``i`` is the ``i``-th smallest
serial without a batch-wide sort, and rows arrive in the order of both the serial index
and the rowid: every B-tree insert is an append. SQLite gets ``executemany`` on the raw
connection; PostgreSQL gets one ``COPY`` whose text the workers format.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crypto import sm4
from crypto.envelope import Keyring
from trace_api.anchoring import service as anchoring_service
from trace_api.audit import log as audit_log
from trace_api.codes.payload import BatchFacts, templates
from trace_api.codes.sealing import (
    SealedChunk,
    SealJob,
    Task,
    combine_chunk_roots,
    seal_task,
    start_worker,
    warm,
)
from trace_api.errors import Conflict
from trace_api.models import Batch, CodeIssuance, CodeTree, Product, utcnow

_log = logging.getLogger(__name__)

CHUNK = 1 << 13  # codes per sealing task; a power of two (see `sealing`)
Progress = Callable[[int], None]


@dataclass(frozen=True)
class IssueResult:
    """What an issuance produced: the batch root and, if asked for, the PINs (shown once)."""

    root: bytes
    count: int
    anchor_job_id: int
    pins: list[tuple[str, str]] | None


class SealerPool:
    """Sealing worker processes, started on first use and kept; none when ``workers`` is 0.

    A ``concurrent.futures`` pool rather than ``multiprocessing.Pool``: when a worker is
    killed (SIGKILL: they ignore SIGTERM and SIGINT), the latter's ``terminate`` can wait
    for ever on a queue lock the dead worker held; the former reports the pool broken.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def start(self) -> ProcessPoolExecutor | None:
        """Start the worker processes now (otherwise the first large issuance does)."""
        if self.workers and self._pool is None:
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=context,
                initializer=start_worker,
                initargs=(context.Barrier(self.workers),),
            )
            # Every worker starts here, not mid-issue: the pool spawns one per task submitted
            # while none is idle, and none is idle before all are past the barrier.
            list(self._pool.map(warm, range(self.workers)))
        return self._pool

    def run(self, tasks: Iterable[Task], *, in_process: bool) -> Iterator[SealedChunk]:
        """The sealed chunks in task order; at most two per worker in flight."""
        pool = None if in_process else self.start()
        if pool is None:
            yield from map(seal_task, tasks)
            return
        pending: deque[Future[SealedChunk]] = deque()
        try:
            for task in tasks:
                pending.append(pool.submit(seal_task, task))
                if len(pending) >= 2 * self.workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        except BrokenProcessPool:
            self.close()  # a worker died: the next issuance starts a fresh pool
            raise
        finally:
            for future in pending:
                future.cancel()

    def close(self) -> None:
        """Stop the workers once their current chunk is done; queued chunks are dropped."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def batch_facts(batch: Batch, product: Product, allocation: dict[str, Any] | None) -> BatchFacts:
    """The shared part of the batch's payloads."""
    return BatchFacts(
        tenant_id=batch.tenant_id,
        batch_id=batch.id,
        gtin=product.gtin,
        product=product.name,
        brand=product.brand,
        lot=batch.lot,
        production_date=batch.production_date,
        expiry=batch.expiry,
        factory=batch.factory,
        allocation=allocation,
    )


def issue_codes(
    *,
    session: Session,
    issuance: CodeIssuance,
    keyring: Keyring,
    pin_key: bytes | None,
    sealers: SealerPool,
    in_process: bool = False,
    progress: Progress | None = None,
) -> IssueResult:
    """Issue every code of ``issuance`` in the caller's transaction; see the module docstring."""
    batch = session.get(Batch, issuance.batch_id)
    assert batch is not None
    product = session.get(Product, batch.product_id)
    assert product is not None
    parts = templates(batch_facts(batch, product, json.loads(issuance.allocation)))
    active = keyring.active_key_id
    if active is None:
        raise Conflict("the tenant has no active data key: rotate one before issuing codes")
    transport = sm4.generate_key()
    dialect = session.get_bind().dialect.name
    job = SealJob(
        transport_key=transport,
        wrapped_key=keyring.wrapped_keys(transport)[active],
        key_id=active,
        payload_parts=parts.payload,
        leaf_parts=parts.leaf,
        pin_key=pin_key if issuance.with_pins else None,
        copy_issuance=issuance.id if dialect == "postgresql" else None,
        total=issuance.count,
    )
    count = issuance.count
    tasks = ((job, at, min(CHUNK, count - at)) for at in range(0, count, CHUNK))
    leaves: list[bytes] = []
    roots: list[bytes] = []
    pins: list[tuple[str, str]] | None = [] if issuance.with_pins else None
    raw = session.connection().connection.dbapi_connection
    try:
        with ExitStack() as stack:
            write = _writer(dialect, raw, issuance.id, stack)
            for chunk in sealers.run(tasks, in_process=in_process):
                write(chunk)
                leaves.append(chunk.leaves)
                roots.append(chunk.root)
                if pins is not None and chunk.pins is not None:
                    pins.extend(zip(chunk.serials, chunk.pins, strict=True))
                if progress is not None:
                    progress(chunk.start + len(chunk.serials))
    except IntegrityError as exc:  # only a serial already in the database can cause this
        raise Conflict("a new serial collided with an existing one; issue again") from exc
    except Exception as exc:
        if _is_unique_violation(exc):
            raise Conflict("a new serial collided with an existing one; issue again") from exc
        raise
    root = combine_chunk_roots(roots)
    session.add(CodeTree(issuance_id=issuance.id, leaf_hashes=b"".join(leaves)))
    anchor = anchoring_service.enqueue_anchor(
        session=session,
        tenant_id=issuance.tenant_id,
        kind="codes",
        subject=batch.id,
        root=root,
        size=issuance.count,
    )
    issuance.status = "done"
    issuance.root = "0x" + root.hex()
    issuance.key_id = active
    issuance.anchor_job_id = anchor.id
    issuance.finished_at = utcnow()
    audit_log.append(
        session=session,
        tenant_id=issuance.tenant_id,
        kind="codes.issued",
        actor=issuance.requested_by,
        items=[batch.id],
        data={
            "batch_id": batch.id,
            "issuance_id": issuance.id,
            "gtin": product.gtin,
            "lot": batch.lot,
            "count": issuance.count,
            "root": issuance.root,
            "key_id": active,
            "with_pins": issuance.with_pins,
            "anchor_id": anchor.anchor_id,
        },
    )
    session.flush()
    return IssueResult(root, issuance.count, anchor.id, pins)


def _writer(
    dialect: str, raw: Any, issuance_id: int, stack: ExitStack
) -> Callable[[SealedChunk], None]:
    if dialect == "postgresql":
        cursor = stack.enter_context(raw.cursor())
        copy = stack.enter_context(
            cursor.copy("COPY codes (issuance_id, idx, serial, sealed, pin_hash) FROM STDIN")
        )

        def write_copy(chunk: SealedChunk) -> None:
            assert chunk.copy_text is not None
            copy.write(chunk.copy_text)

        return write_copy

    # The default page cache is enough: rows and index entries arrive in key order, so
    # each page is filled (or visited) once, and writing dirty pages out while the workers
    # seal beats writing all of them at commit.
    cursor = raw.cursor()
    stack.callback(cursor.close)
    # Fewer parameters bind faster (0.3 µs a row of 3): the issuance id, an integer of
    # ours, is inlined, and the PIN column is left out (NULL) when there are no PINs.
    values = f"VALUES ({int(issuance_id)}, ?, ?, ?"
    with_pins = f"INSERT INTO codes (issuance_id, idx, serial, sealed, pin_hash) {values}, ?)"
    without_pins = f"INSERT INTO codes (issuance_id, idx, serial, sealed) {values})"

    def write_rows(chunk: SealedChunk) -> None:
        start, n = chunk.start, len(chunk.serials)
        indexes = range(start, start + n)
        if chunk.pin_hashes is None:
            cursor.executemany(without_pins, zip(indexes, chunk.serials, chunk.sealed, strict=True))
        else:
            cursor.executemany(
                with_pins,
                zip(indexes, chunk.serials, chunk.sealed, chunk.pin_hashes, strict=True),
            )

    return write_rows


def _is_unique_violation(exc: BaseException) -> bool:
    name = type(exc).__name__
    return name in ("UniqueViolation", "IntegrityError") and "serial" in str(exc)
