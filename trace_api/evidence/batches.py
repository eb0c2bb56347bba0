"""Complete contract proofs into Merkle batches, each anchored by one anchor job
(`trace_api.audit.leaf_batches` does the batching; this says what a proof's leaf is).

A proof is ready once complete; its batch is anchored as kind ``evidence``, subject
``evidence-batch-<id>``, and each proof is logged ``evidence.batched`` and, once the batch
is confirmed, ``evidence.anchored``.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from compliance.evidence.certificate import ANCHOR_KIND, batch_subject
from trace_api.audit import leaf_batches
from trace_api.audit.leaf_batches import BATCH_INTERVAL, MAX_BATCH, LeafBatcher, LeafKind
from trace_api.models import Evidence, EvidenceBatch

__all__ = ["BATCH_INTERVAL", "EVIDENCE", "EvidenceBatcher", "batch_tenant", "log_anchored"]

BATCHED = "evidence.batched"
ANCHORED = "evidence.anchored"

EVIDENCE = LeafKind(
    leaves=Evidence,
    batches=EvidenceBatch,
    ready=lambda: Evidence.status == "complete",
    order=lambda: (Evidence.completed_at, Evidence.id),
    anchor_kind=ANCHOR_KIND,
    subject=batch_subject,
    id_name="evidence_id",
    batched=BATCHED,
    anchored=ANCHORED,
)


def batch_tenant(
    *, session: Session, tenant_id: str, max_batch: int = MAX_BATCH
) -> EvidenceBatch | None:
    """Gather the tenant's complete, unbatched proofs into one anchored batch (or None)."""
    batch: EvidenceBatch | None = leaf_batches.batch_tenant(
        EVIDENCE, session=session, tenant_id=tenant_id, max_batch=max_batch
    )
    return batch


def log_anchored(*, session: Session, tenant_id: str) -> int:
    """Log ``evidence.anchored`` for the proofs of each newly confirmed batch; how many."""
    return leaf_batches.log_anchored(EVIDENCE, session=session, tenant_id=tenant_id)


class EvidenceBatcher(LeafBatcher):
    """The batcher of contract proofs."""

    def __init__(self, *, sessions: sessionmaker[Session], max_batch: int = MAX_BATCH) -> None:
        super().__init__(EVIDENCE, sessions=sessions, max_batch=max_batch)
