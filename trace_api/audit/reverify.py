"""The background re-verifier: every stored entry against its leaf, every checkpoint against
the stored leaves, over and over.

Each step reads every log's ``audit_heads`` row (none may fall below what this process
has seen) and then walks on through the logs, tenant after tenant, at most
``chunk`` entries per step. For each entry it checks that the sequence numbers run on
without a gap and that the body hashes to the stored ``leaf_hash``
(`compliance.entry.entry_leaf_hash`); it folds the leaves into a compact range (one
subtree root per set bit of the size, so O(log n) memory) and, at each stored
checkpoint's size, checks that the checkpoint's signature and columns agree with its
body, that it links to the checkpoint before it, and that the leaves reproduce its root.
A log's walk ends at the size its head had when the walk began (a busy log cannot hold
the walk forever); at its end no stored checkpoint may cover more entries than the log
holds. When every log was walked the pass is complete, and the next one starts over.

What it finds goes to the process's `LogIntegrity` record, where it refuses checkpoints
and exports of that tenant's log and shows in ``/healthz`` and ``GET /v1/audit/integrity``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from compliance.checkpoint import Checkpoint
from compliance.entry import entry_leaf_hash
from crypto import sm2
from crypto.sm3 import sm3
from trace_api.audit.checkpoints import LogIntegrityError, checkpoint_of_row, stored_checkpoint
from trace_api.audit.integrity import IntegrityFinding, LogIntegrity, LogWalk
from trace_api.db import transaction
from trace_api.models import AuditCheckpoint, AuditEntry, AuditHead, utcnow

_log = logging.getLogger(__name__)

MAX_LOGS_PER_STEP = 100
"""Logs a step moves through at most (many small logs are cheap, but not free)."""

_NODE = b"\x01"


class _CompactRange:
    """The roots of the complete subtrees over leaves 0..n-1: RFC 9162's MTH of any prefix
    size met on the way, in O(log n) memory."""

    __slots__ = ("_hashes", "_sizes")

    def __init__(self) -> None:
        self._sizes: list[int] = []
        self._hashes: list[bytes] = []

    def push(self, leaf: bytes) -> None:
        size, node = 1, leaf
        sizes, hashes = self._sizes, self._hashes
        while sizes and sizes[-1] == size:
            sizes.pop()
            node = sm3(_NODE + hashes.pop() + node)
            size *= 2
        sizes.append(size)
        hashes.append(node)

    def root(self) -> bytes:
        """MTH of the leaves pushed so far (RFC 9162 §2.1.1): the subtrees folded right to left."""
        if not self._hashes:
            return sm3(b"")
        node = self._hashes[-1]
        for left in reversed(self._hashes[:-1]):
            node = sm3(_NODE + left + node)
        return node


@dataclass
class _Walk:
    """One log's walk in the current pass."""

    tenant_id: str
    target: int
    next_seq: int = 0
    leaves: _CompactRange = field(default_factory=_CompactRange)
    broken: bool = False  # a gap: roots past it cannot be checked in this pass
    checkpoints: int = 0
    # What the next checkpoint's "prev" must be: the last one met (size, root), or
    # None while it is not known (the last one met failed its own check).
    previous: tuple[int | None, bytes | None] | None = (None, None)


@dataclass
class _Pass:
    started_at: datetime
    started: float
    tenants: list[str]
    entries: int = 0
    walk: _Walk | None = None


class LogReverifier:
    """Walks every tenant's stored log, a chunk per step, and starts again when done."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        integrity: LogIntegrity,
        public_key: sm2.PublicKey,
        chunk: int,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._integrity = integrity
        self._public_key = public_key
        self._chunk = chunk
        self._clock = clock
        self._pass: _Pass | None = None
        # Per tenant, SM3(body, signature)[:16] of each checkpoint whose signature this
        # process verified, by position: later passes verify only what changed.
        self._signed: dict[str, bytearray] = {}

    def step(self) -> bool:
        """Verify up to `chunk` entries; True when this step completed a pass."""
        marks = self._integrity.high_water_marks()  # before anything is read
        with transaction(self._sessions) as session:
            heads = {
                t: int(s) for t, s in session.execute(select(AuditHead.tenant_id, AuditHead.size))
            }
            self._check_heads(heads, marks)
            if self._pass is None:
                self._pass = _Pass(self._clock(), time.perf_counter(), sorted(heads, reverse=True))
                self._integrity.update_status(current_pass_started_at=self._pass.started_at)
            budget, visits = self._chunk, 0
            while budget > 0 and visits < MAX_LOGS_PER_STEP:
                walk = self._current_walk(heads)
                if walk is None:
                    self._finish_pass()
                    return True
                used = self._advance(session, walk, budget)
                if walk.next_seq >= walk.target:
                    self._finish_walk(session, walk, marks.get(walk.tenant_id, 0))
                    self._pass.walk = None
                budget -= max(used, 1)
                visits += 1
            if self._pass.walk is None and not self._pass.tenants:
                self._finish_pass()
                return True
            self._integrity.update_status(entries_this_pass=self._pass.entries)
        return False

    def run_pass(self) -> None:
        """Step until the pass under way (or a new one) is complete."""
        while not self.step():
            pass

    def run_forever(self, stop: threading.Event, interval: float) -> None:
        """Step every `interval` seconds, the first at once, until `stop` is set."""
        self._integrity.update_status(running=True, interval=interval, chunk=self._chunk)
        try:
            while not stop.is_set():
                try:
                    self.step()
                except Exception:  # the loop must outlive a bad step (e.g. the database away)
                    _log.exception("audit log re-verification step failed")
                if stop.wait(interval):
                    break
        finally:
            self._integrity.update_status(running=False)

    # -- the pass -------------------------------------------------------------------------

    def _current_walk(self, heads: dict[str, int]) -> _Walk | None:
        assert self._pass is not None
        while self._pass.walk is None:
            if not self._pass.tenants:
                return None
            tenant_id = self._pass.tenants.pop()
            if tenant_id in heads:  # a head that vanished was reported by _check_heads
                self._pass.walk = _Walk(tenant_id, target=heads[tenant_id])
        return self._pass.walk

    def _finish_pass(self) -> None:
        assert self._pass is not None
        finished = self._clock()
        status = self._integrity.status
        self._integrity.update_status(
            passes=status.passes + 1,
            last_pass_finished_at=finished,
            last_pass_seconds=time.perf_counter() - self._pass.started,
            current_pass_started_at=None,
            entries_this_pass=0,
        )
        self._pass = None

    def _check_heads(self, heads: dict[str, int], marks: dict[str, int]) -> None:
        for tenant_id, mark in marks.items():
            size = heads.get(tenant_id)
            if size is None:
                self._find(tenant_id, "log size", "its audit_heads row is gone")
            elif size < mark:
                self._find(
                    tenant_id,
                    "log size",
                    f"audit_heads counts {size} entries, but this service has seen {mark}: "
                    "the log was cut back",
                    seq=size,
                )
        for tenant_id, size in heads.items():
            self._integrity.saw_size(tenant_id, size)

    # -- one log --------------------------------------------------------------------------

    def _advance(self, session: Session, walk: _Walk, budget: int) -> int:
        """Verify the walk's next entries (at most `budget`) and the checkpoints among them."""
        start = walk.next_seq
        end = min(walk.target, start + budget)
        if start >= end:
            return 0
        connection = session.connection()
        rows = connection.execute(
            select(AuditEntry.seq, AuditEntry.body, AuditEntry.leaf_hash)
            .where(
                AuditEntry.tenant_id == walk.tenant_id,
                AuditEntry.seq >= start,
                AuditEntry.seq < end,
            )
            .order_by(AuditEntry.seq)
        ).all()
        checkpoints = connection.execute(
            select(
                AuditCheckpoint.size,
                AuditCheckpoint.root,
                AuditCheckpoint.body,
                AuditCheckpoint.signature,
            )
            .where(
                AuditCheckpoint.tenant_id == walk.tenant_id,
                AuditCheckpoint.size > start,
                AuditCheckpoint.size <= end,
            )
            .order_by(AuditCheckpoint.size)
        ).all()
        due = iter(checkpoints)
        pending = next(due, None)
        for seq, body, leaf in rows:
            if seq != walk.next_seq:
                self._missing(walk, walk.next_seq, seq)
                walk.next_seq = seq
            leaf = bytes(leaf)
            if entry_leaf_hash(bytes(body)) != leaf:
                self._find(
                    walk.tenant_id,
                    f"entry seq {seq}",
                    "its body no longer hashes to its logged leaf: the row was changed",
                    seq=seq,
                )
            if not walk.broken:
                walk.leaves.push(leaf)
            walk.next_seq = seq + 1
            while pending is not None and pending[0] <= walk.next_seq:
                self._check_checkpoint(walk, pending)
                pending = next(due, None)
        if walk.next_seq < end:
            self._missing(walk, walk.next_seq, None)
            walk.next_seq = end
        while pending is not None:  # past the last stored entry: checked without a root
            self._check_checkpoint(walk, pending)
            pending = next(due, None)
        assert self._pass is not None
        self._pass.entries += len(rows)
        return len(rows)

    def _missing(self, walk: _Walk, seq: int, found: int | None) -> None:
        after = f"the next stored entry is {found}" if found is not None else "none follows"
        self._find(
            walk.tenant_id,
            f"entry seq {seq}",
            f"missing ({after}): entries were deleted",
            seq=seq,
        )
        walk.broken = True

    def _check_checkpoint(self, walk: _Walk, row: Sequence[Any]) -> None:
        size, root, body, signature = int(row[0]), str(row[1]), bytes(row[2]), bytes(row[3])
        where = f"checkpoint size {size}"
        position = walk.checkpoints
        walk.checkpoints += 1
        try:
            checkpoint = self._signed_checkpoint(
                walk.tenant_id, position, size, root, body, signature
            )
        except LogIntegrityError as exc:
            self._find(walk.tenant_id, where, exc.detail, checkpoint=size)
            walk.previous = None
            return
        link = (checkpoint.previous_size, checkpoint.previous_root)
        if walk.previous is not None and link != walk.previous:
            self._find(
                walk.tenant_id,
                where,
                "does not link to the stored checkpoint before it: checkpoints were "
                "removed or changed",
                checkpoint=size,
            )
        walk.previous = (checkpoint.size, checkpoint.root)
        if walk.broken or walk.next_seq != size:  # past a gap, or the log ends before it
            return
        if walk.leaves.root() != checkpoint.root:
            self._find(
                walk.tenant_id,
                where,
                "the stored leaf hashes no longer reproduce its signed root: an entry and "
                "its leaf hash before it were changed",
                checkpoint=size,
            )

    def _signed_checkpoint(
        self, tenant_id: str, position: int, size: int, root: str, body: bytes, signature: bytes
    ) -> Checkpoint:
        """The row's checkpoint; its signature is verified unless this process verified
        exactly these bytes at this position before."""
        digest = sm3(len(body).to_bytes(8, "big") + body + signature)[:16]
        known = self._signed.setdefault(tenant_id, bytearray())
        at = position * 16
        if known[at : at + 16] == digest:
            return checkpoint_of_row(tenant_id=tenant_id, size=size, root=root, body=body)
        checkpoint = stored_checkpoint(
            tenant_id=tenant_id,
            size=size,
            root=root,
            body=body,
            signature=signature,
            public_key=self._public_key,
        )
        if len(known) < at:
            known.extend(bytes(at - len(known)))  # positions whose check failed
        known[at : at + 16] = digest
        return checkpoint

    def _finish_walk(self, session: Session, walk: _Walk, mark: int) -> None:
        """The walk reached its target: nothing signed or seen may reach past the stored log."""
        connection = session.connection()
        covered = connection.execute(
            select(func.max(AuditCheckpoint.size)).where(
                AuditCheckpoint.tenant_id == walk.tenant_id
            )
        ).scalar()
        last = connection.execute(  # read after the checkpoints: entries come first
            select(func.max(AuditEntry.seq)).where(AuditEntry.tenant_id == walk.tenant_id)
        ).scalar()
        stored = -1 if last is None else int(last)
        if covered is not None and int(covered) > stored + 1:
            self._find(
                walk.tenant_id,
                f"checkpoint size {covered}",
                f"covers {covered} entries, but the log ends at seq {stored}: checkpointed "
                "entries were deleted",
                checkpoint=int(covered),
            )
        if stored + 1 < mark:
            self._find(
                walk.tenant_id,
                "log size",
                f"the log ends at seq {stored}, but this service has seen {mark} entries: "
                "entries were deleted",
                seq=stored + 1,
            )
        self._integrity.walked(
            walk.tenant_id,
            LogWalk(entries=walk.target, checkpoints=walk.checkpoints, finished_at=self._clock()),
        )

    def _find(
        self,
        tenant_id: str,
        where: str,
        reason: str,
        *,
        seq: int | None = None,
        checkpoint: int | None = None,
    ) -> None:
        self._integrity.report(
            IntegrityFinding(
                tenant_id,
                where,
                reason,
                seq=seq,
                checkpoint=checkpoint,
                found_at=self._clock(),
            )
        )
