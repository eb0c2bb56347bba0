"""Anchor jobs: queued in the caller's transaction (outbox), read back for proofs.

Kinds of anchored roots and their on-chain ``kind`` byte are fixed here: a verifier reads
the byte from the contract, so a value never changes meaning.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from chain import anchor_id_for
from trace_api.errors import Conflict, InvalidInput, NotFound
from trace_api.models import AnchorJob, ChainDeployment
from trace_api.owned import get_owned

ANCHOR_KINDS: dict[str, int] = {
    "codes": 1,
    "audit_checkpoint": 2,
    "evidence": 3,
    "invoice": 4,
    "events": 5,
}
ZERO32 = "0x" + "00" * 32


def enqueue_anchor(
    *,
    session: Session,
    tenant_id: str,
    kind: str,
    subject: str,
    root: bytes,
    size: int,
    meta: bytes = bytes(32),
) -> AnchorJob:
    """Queue ``root`` (covering ``size`` items) for anchoring, in the caller's transaction."""
    if kind not in ANCHOR_KINDS:
        raise InvalidInput(f"unknown anchor kind {kind!r}")
    if len(root) != 32 or len(meta) != 32:
        raise InvalidInput("root and meta must be 32 bytes")
    if size < 1:
        raise InvalidInput("an anchored tree covers at least one item")
    anchor_id = "0x" + anchor_id_for(kind, tenant_id, subject).hex()
    if session.scalar(select(AnchorJob.id).where(AnchorJob.anchor_id == anchor_id)) is not None:
        raise Conflict(f"{kind} {subject!r} is already queued for anchoring")
    job = AnchorJob(
        tenant_id=tenant_id,
        kind=kind,
        subject=subject,
        anchor_id=anchor_id,
        root="0x" + root.hex(),
        size=size,
        meta="0x" + meta.hex(),
        status="pending",
        attempts=0,
        times_anchored=0,
    )
    session.add(job)
    session.flush()
    return job


def get_job(*, session: Session, tenant_id: str, job_id: int) -> AnchorJob:
    """One of the tenant's anchor jobs; another tenant's is NotFound."""
    return get_owned(session, AnchorJob, job_id, tenant_id=tenant_id, noun="anchor job")


def list_jobs(
    *, session: Session, tenant_id: str, status: str | None = None, limit: int
) -> list[AnchorJob]:
    """The tenant's anchor jobs, newest first, of one ``status`` if given."""
    query = select(AnchorJob).where(AnchorJob.tenant_id == tenant_id)
    if status is not None:
        query = query.where(AnchorJob.status == status)
    return list(session.scalars(query.order_by(AnchorJob.id.desc()).limit(limit)))


def job_for_subject(*, session: Session, tenant_id: str, kind: str, subject: str) -> AnchorJob:
    """The anchor job of a subject (a batch id, a checkpoint size, ...)."""
    job = session.scalar(
        select(AnchorJob).where(
            AnchorJob.tenant_id == tenant_id, AnchorJob.kind == kind, AnchorJob.subject == subject
        )
    )
    if job is None:
        raise NotFound(f"{kind} {subject!r} has no anchor job")
    return job


@dataclass(frozen=True)
class QueueSummary:
    """Counts of jobs by status, and the freshest error of a waiting one."""

    by_status: dict[str, int]
    oldest_pending_at: datetime | None
    last_error: str | None


def queue_summary(*, session: Session) -> QueueSummary:
    """How the anchoring queue stands, for /healthz."""
    counts = dict(
        session.execute(select(AnchorJob.status, func.count()).group_by(AnchorJob.status)).all()
    )
    oldest = session.scalar(
        select(func.min(AnchorJob.created_at)).where(AnchorJob.status != "confirmed")
    )
    last_error = session.scalar(
        select(AnchorJob.last_error)
        .where(AnchorJob.status != "confirmed", AnchorJob.last_error.is_not(None))
        .order_by(AnchorJob.next_attempt_at.desc())
        .limit(1)
    )
    return QueueSummary({str(k): int(v) for k, v in counts.items()}, oldest, last_error)


def anchor_reference(
    job: AnchorJob, deployment: ChainDeployment | None, head: int | None
) -> dict[str, Any]:
    """The ``anchor`` member of a proof: where the root is on chain, or that it is pending."""
    reference: dict[str, Any] = {"status": job.status, "anchor_id": job.anchor_id}
    if job.status != "confirmed" or deployment is None or job.block_number is None:
        if job.last_error:
            reference["last_error"] = job.last_error
        return reference
    reference.update(
        chain_id=deployment.chain_id,
        contract=deployment.contract_address,
        network=deployment.network_label,
        development_chain=deployment.is_embedded,
        tx=job.tx_hash,
        block=job.block_number,
        block_hash=job.block_hash,
    )
    if head is not None:
        reference["confirmations"] = max(0, head - job.block_number + 1)
    return reference
