"""Leaves (contract proofs, invoices) gathered into Merkle batches, each anchored by one
anchor job; the same for every kind of leaf, told apart by a `LeafKind`.

A pass, per tenant, in a transaction of its own: take the ready leaves no batch holds yet
(oldest first, at most ``max_batch``; ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several
servers never batch a leaf twice), build the RFC 9162 tree (SM3) over them, write the
batch, number each leaf, queue the anchor job (the kind's anchor kind, subject
``<kind>-batch-<id>``) and log the kind's ``batched`` entry for each leaf. All of it
commits or none of it does: a crash leaves the leaves for the next pass, and the anchor
job, being in the same transaction, is queued exactly once; the anchoring worker anchors
each job once (its anchor id is deterministic and the contract refuses a repeat).

A second step logs the kind's ``anchored`` entry for each leaf once its batch's job is
confirmed, and stamps the batch so it is logged once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session, sessionmaker

from crypto.merkle import MerkleTree
from trace_api.anchoring import service as anchoring_service
from trace_api.audit import log as audit_log
from trace_api.db import transaction
from trace_api.models import AnchorJob, ChainDeployment, utcnow

MAX_BATCH = 10_000
BATCH_INTERVAL = 2.0  # seconds between passes: how long a ready leaf waits for a batch

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LeafKind:
    """What is batched: rows of ``leaves`` (with ``id``, ``tenant_id``, ``leaf_hash``,
    ``batch_id``, ``leaf_index``) where ``ready`` holds, in ``order`` (oldest first), into
    rows of ``batches`` (``id``, ``tenant_id``, ``size``, ``root``, ``leaf_hashes``,
    ``anchored_at``); each leaf logged as ``id_name`` under the ``batched`` and
    ``anchored`` kinds; anchored as ``anchor_kind`` with the subject ``subject(batch id)``."""

    leaves: Any
    batches: Any
    ready: Callable[[], ColumnElement[bool]]
    order: Callable[[], tuple[Any, ...]]
    anchor_kind: str
    subject: Callable[[int], str]
    id_name: str
    batched: str
    anchored: str


@dataclass(frozen=True)
class PassReport:
    """What one pass did: batches formed (leaves in them) and batches found anchored."""

    batches: int = 0
    proofs: int = 0
    anchored: int = 0


def batch_tenant(
    kind: LeafKind, *, session: Session, tenant_id: str, max_batch: int = MAX_BATCH
) -> Any | None:
    """Gather the tenant's ready, unbatched leaves into one anchored batch (or None)."""
    leaves = kind.leaves
    query = (
        select(leaves.id, leaves.leaf_hash)
        .where(
            leaves.tenant_id == tenant_id,
            kind.ready(),
            leaves.batch_id.is_(None),
            leaves.leaf_hash.is_not(None),
        )
        .order_by(*kind.order())
        .limit(max_batch)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = session.execute(query).all()
    if not rows:
        return None
    hashes = [bytes(leaf or b"") for _, leaf in rows]
    tree = MerkleTree.from_leaf_hashes(hashes)
    root = tree.root()
    batch = kind.batches(
        tenant_id=tenant_id, size=tree.size, root=root.hex(), leaf_hashes=b"".join(hashes)
    )
    session.add(batch)
    session.flush()
    session.execute(
        update(leaves),
        [
            {"id": leaf_id, "batch_id": batch.id, "leaf_index": index}
            for index, (leaf_id, _) in enumerate(rows)
        ],
    )
    anchoring_service.enqueue_anchor(
        session=session,
        tenant_id=tenant_id,
        kind=kind.anchor_kind,
        subject=kind.subject(batch.id),
        root=root,
        size=tree.size,
    )
    audit_log.append_many(
        session=session,
        tenant_id=tenant_id,
        changes=[
            audit_log.Change(
                kind.batched,
                {
                    kind.id_name: leaf_id,
                    "batch": batch.id,
                    "leaf_index": index,
                    "tree_size": tree.size,
                    "root": batch.root,
                },
            )
            for index, (leaf_id, _) in enumerate(rows)
        ],
    )
    return batch


def log_anchored(kind: LeafKind, *, session: Session, tenant_id: str) -> int:
    """Log the anchored entry for the leaves of each newly confirmed batch; how many."""
    batches = kind.batches
    waiting = {
        kind.subject(batch.id): batch
        for batch in session.scalars(
            select(batches).where(batches.tenant_id == tenant_id, batches.anchored_at.is_(None))
        )
    }
    if not waiting:
        return 0
    jobs = session.scalars(
        select(AnchorJob).where(
            AnchorJob.tenant_id == tenant_id,
            AnchorJob.kind == kind.anchor_kind,
            AnchorJob.subject.in_(waiting),
            AnchorJob.status == "confirmed",
        )
    )
    done = 0
    for job in jobs:
        batch = waiting[job.subject]
        deployment = session.get(ChainDeployment, job.deployment_id) if job.deployment_id else None
        anchor = {
            "tx": job.tx_hash,
            "block": job.block_number,
            "chain_id": deployment.chain_id if deployment else None,
            "contract": deployment.contract_address if deployment else None,
        }
        batch.anchored_at = job.confirmed_at or utcnow()
        leaves = session.scalars(
            select(kind.leaves.id)
            .where(kind.leaves.batch_id == batch.id)
            .order_by(kind.leaves.leaf_index)
        )
        audit_log.append_many(
            session=session,
            tenant_id=tenant_id,
            changes=[
                audit_log.Change(kind.anchored, {kind.id_name: leaf, "batch": batch.id, **anchor})
                for leaf in leaves
            ],
        )
        done += 1
    session.flush()
    return done


class LeafBatcher:
    """Runs `batch_tenant` and `log_anchored` for every tenant that has work, on a schedule."""

    def __init__(
        self, kind: LeafKind, *, sessions: sessionmaker[Session], max_batch: int = MAX_BATCH
    ) -> None:
        self.kind = kind
        self._sessions = sessions
        self._max_batch = max_batch

    def run_once(self) -> PassReport:
        """One pass over the tenants with unbatched leaves or unlogged anchors."""
        leaves, batches = self.kind.leaves, self.kind.batches
        with transaction(self._sessions) as session:
            to_batch = set(
                session.scalars(
                    select(leaves.tenant_id)
                    .where(self.kind.ready(), leaves.batch_id.is_(None))
                    .distinct()
                )
            )
            to_log = set(
                session.scalars(
                    select(batches.tenant_id).where(batches.anchored_at.is_(None)).distinct()
                )
            )
        made = size_total = anchored = 0
        for tenant_id in sorted(to_batch):
            while True:  # a backlog larger than a batch is several batches
                with transaction(self._sessions) as session:
                    batch = batch_tenant(
                        self.kind, session=session, tenant_id=tenant_id, max_batch=self._max_batch
                    )
                    size = batch.size if batch is not None else 0
                if not size:
                    break
                made, size_total = made + 1, size_total + size
                if size < self._max_batch:
                    break
        for tenant_id in sorted(to_log):
            with transaction(self._sessions) as session:
                anchored += log_anchored(self.kind, session=session, tenant_id=tenant_id)
        return PassReport(made, size_total, anchored)

    def run_forever(self, stop: threading.Event, interval: float) -> None:
        while not stop.wait(interval):
            try:
                self.run_once()
            except Exception:  # the loop must outlive a bad pass (e.g. the database away)
                _log.exception("%s batching pass failed", self.kind.anchor_kind)
