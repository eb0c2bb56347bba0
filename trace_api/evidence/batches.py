"""Complete proofs into Merkle batches, each anchored by one anchor job.

A pass, per tenant, in a transaction of its own: take the complete proofs no batch holds
yet (oldest first, at most ``max_batch``; ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
several servers never batch a proof twice), build the RFC 9162 tree (SM3) over their
leaves, write the batch, number each proof's leaf, queue the anchor job (kind
``evidence``, subject ``evidence-batch-<id>``) and log ``evidence.batched`` for each proof.
All of it commits or none of it does: a crash leaves the proofs for the next pass, and the
anchor job, being in the same transaction, is queued exactly once; the anchoring worker
anchors each job once (its anchor id is deterministic and the contract refuses a repeat).

A second step logs ``evidence.anchored`` for each proof once its batch's job is
confirmed, and stamps the batch so it is logged once.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from compliance.evidence.certificate import ANCHOR_KIND, batch_subject
from crypto.merkle import MerkleTree
from trace_api.anchoring import service as anchoring_service
from trace_api.audit import log as audit_log
from trace_api.db import transaction
from trace_api.models import AnchorJob, ChainDeployment, Evidence, EvidenceBatch, utcnow

MAX_BATCH = 10_000
BATCH_INTERVAL = 2.0  # seconds between passes: how long a complete proof waits for a batch
BATCHED = "evidence.batched"
ANCHORED = "evidence.anchored"

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PassReport:
    """What one pass did: batches formed (proofs in them) and batches found anchored."""

    batches: int = 0
    proofs: int = 0
    anchored: int = 0


def batch_tenant(
    *, session: Session, tenant_id: str, max_batch: int = MAX_BATCH
) -> EvidenceBatch | None:
    """Gather the tenant's complete, unbatched proofs into one anchored batch (or None)."""
    query = (
        select(Evidence.id, Evidence.leaf_hash)
        .where(
            Evidence.tenant_id == tenant_id,
            Evidence.status == "complete",
            Evidence.batch_id.is_(None),
            Evidence.leaf_hash.is_not(None),
        )
        .order_by(Evidence.completed_at, Evidence.id)
        .limit(max_batch)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = session.execute(query).all()
    if not rows:
        return None
    leaves = [bytes(leaf or b"") for _, leaf in rows]
    tree = MerkleTree.from_leaf_hashes(leaves)
    root = tree.root()
    batch = EvidenceBatch(
        tenant_id=tenant_id, size=tree.size, root=root.hex(), leaf_hashes=b"".join(leaves)
    )
    session.add(batch)
    session.flush()
    session.execute(
        update(Evidence),
        [
            {"id": evidence_id, "batch_id": batch.id, "leaf_index": index}
            for index, (evidence_id, _) in enumerate(rows)
        ],
    )
    subject = batch_subject(batch.id)
    anchoring_service.enqueue_anchor(
        session=session,
        tenant_id=tenant_id,
        kind=ANCHOR_KIND,
        subject=subject,
        root=root,
        size=tree.size,
    )
    audit_log.append_many(
        session=session,
        tenant_id=tenant_id,
        changes=[
            audit_log.Change(
                BATCHED,
                {
                    "evidence_id": evidence_id,
                    "batch": batch.id,
                    "leaf_index": index,
                    "tree_size": tree.size,
                    "root": batch.root,
                },
            )
            for index, (evidence_id, _) in enumerate(rows)
        ],
    )
    return batch


def log_anchored(*, session: Session, tenant_id: str) -> int:
    """Log ``evidence.anchored`` for the proofs of each newly confirmed batch; how many."""
    waiting = {
        batch_subject(batch.id): batch
        for batch in session.scalars(
            select(EvidenceBatch).where(
                EvidenceBatch.tenant_id == tenant_id, EvidenceBatch.anchored_at.is_(None)
            )
        )
    }
    if not waiting:
        return 0
    jobs = session.scalars(
        select(AnchorJob).where(
            AnchorJob.tenant_id == tenant_id,
            AnchorJob.kind == ANCHOR_KIND,
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
        proofs = session.scalars(
            select(Evidence.id).where(Evidence.batch_id == batch.id).order_by(Evidence.leaf_index)
        )
        audit_log.append_many(
            session=session,
            tenant_id=tenant_id,
            changes=[
                audit_log.Change(ANCHORED, {"evidence_id": e, "batch": batch.id, **anchor})
                for e in proofs
            ],
        )
        done += 1
    session.flush()
    return done


class EvidenceBatcher:
    """Runs `batch_tenant` and `log_anchored` for every tenant that has work, on a schedule."""

    def __init__(self, *, sessions: sessionmaker[Session], max_batch: int = MAX_BATCH) -> None:
        self._sessions = sessions
        self._max_batch = max_batch

    def run_once(self) -> PassReport:
        """One pass over the tenants with unbatched proofs or unlogged anchors."""
        with transaction(self._sessions) as session:
            to_batch = set(
                session.scalars(
                    select(Evidence.tenant_id)
                    .where(Evidence.status == "complete", Evidence.batch_id.is_(None))
                    .distinct()
                )
            )
            to_log = set(
                session.scalars(
                    select(EvidenceBatch.tenant_id)
                    .where(EvidenceBatch.anchored_at.is_(None))
                    .distinct()
                )
            )
        batches = proofs = anchored = 0
        for tenant_id in sorted(to_batch):
            while True:  # a backlog larger than a batch is several batches
                with transaction(self._sessions) as session:
                    batch = batch_tenant(
                        session=session, tenant_id=tenant_id, max_batch=self._max_batch
                    )
                    size = batch.size if batch is not None else 0
                if not size:
                    break
                batches, proofs = batches + 1, proofs + size
                if size < self._max_batch:
                    break
        for tenant_id in sorted(to_log):
            with transaction(self._sessions) as session:
                anchored += log_anchored(session=session, tenant_id=tenant_id)
        return PassReport(batches, proofs, anchored)

    def run_forever(self, stop: threading.Event, interval: float) -> None:
        while not stop.wait(interval):
            try:
                self.run_once()
            except Exception:  # the loop must outlive a bad pass (e.g. the database away)
                _log.exception("evidence batching pass failed")
