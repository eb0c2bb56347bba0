"""Signed checkpoints of a tenant's log, checked against the database before signing.

Before it signs, a checkpoint rebuilds the tree from the stored leaf hashes and checks
that it still reproduces the previous checkpoint's root, and that every entry added
since hashes to its stored leaf: a row changed directly in the database is caught here.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance.checkpoint import Checkpoint, sign_checkpoint, signing_key_fingerprint
from compliance.entry import entry_leaf_hash
from crypto import sm2
from crypto.merkle import MerkleTree
from trace_api.anchoring import service as anchoring_service
from trace_api.audit.log import log_id
from trace_api.audit.trees import LogGap, LogTrees, load_tree
from trace_api.errors import ServiceError
from trace_api.models import AuditCheckpoint, AuditEntry, Tenant, utcnow


class LogIntegrityError(ServiceError):
    status = 409
    slug = "log-integrity"
    title = "The stored audit log no longer matches its checkpoints"


@dataclass(frozen=True)
class CheckpointResult:
    checkpoint: AuditCheckpoint
    created: bool


def latest_checkpoint(*, session: Session, tenant_id: str) -> AuditCheckpoint | None:
    """The tenant's newest checkpoint, if any."""
    return session.scalar(
        select(AuditCheckpoint)
        .where(AuditCheckpoint.tenant_id == tenant_id)
        .order_by(AuditCheckpoint.size.desc())
        .limit(1)
    )


def create_checkpoint(
    *, session: Session, tenant_id: str, signing_key: sm2.PrivateKey, trees: LogTrees
) -> CheckpointResult | None:
    """Check, sign and queue for anchoring a checkpoint of the log as it stands now.

    Returns None for an empty log, and the latest checkpoint when nothing was appended
    since. Raises LogIntegrityError when the stored log contradicts what was signed.
    """
    previous = latest_checkpoint(session=session, tenant_id=tenant_id)
    tree = _verified_tree(session, tenant_id, previous)
    trees.replace(tenant_id, tree)  # checked against the database just now
    if tree.size == 0:
        return None
    if previous is not None and previous.size == tree.size:
        return CheckpointResult(previous, created=False)
    checkpoint = Checkpoint(
        log_id=log_id(tenant_id),
        tenant_id=tenant_id,
        size=tree.size,
        root=tree.root(),
        issued_at=utcnow(),
        previous_size=previous.size if previous else None,
        previous_root=bytes.fromhex(previous.root[2:]) if previous else None,
    )
    job = anchoring_service.enqueue_anchor(
        session=session,
        tenant_id=tenant_id,
        kind="audit_checkpoint",
        subject=str(checkpoint.size),
        root=checkpoint.root,
        size=checkpoint.size,
        meta=signing_key_fingerprint(signing_key.public_key),
    )
    record = AuditCheckpoint(
        tenant_id=tenant_id,
        size=checkpoint.size,
        root="0x" + checkpoint.root.hex(),
        issued_at=checkpoint.issued_at,
        body=checkpoint.body(),
        signature=sign_checkpoint(signing_key, checkpoint),
        anchor_job_id=job.id,
    )
    session.add(record)
    session.flush()
    return CheckpointResult(record, created=True)


def _verified_tree(
    session: Session, tenant_id: str, previous: AuditCheckpoint | None
) -> MerkleTree:
    try:
        tree = load_tree(session, tenant_id)
    except LogGap as exc:
        raise LogIntegrityError(str(exc), seq=exc.seq) from exc
    if previous is None:
        start = 0
    else:
        if tree.size < previous.size:
            raise LogIntegrityError(
                f"the log holds {tree.size} entries, fewer than the {previous.size} "
                "of its last checkpoint",
                seq=tree.size,
            )
        if "0x" + tree.root(previous.size).hex() != previous.root:
            raise LogIntegrityError(
                f"stored leaf hashes no longer reproduce the root of checkpoint "
                f"{previous.size}: an entry before it was changed",
                checkpoint=previous.size,
            )
        start = previous.size
    rows = session.connection().execute(
        select(AuditEntry.seq, AuditEntry.body, AuditEntry.leaf_hash)
        .where(AuditEntry.tenant_id == tenant_id, AuditEntry.seq >= start)
        .order_by(AuditEntry.seq)
        .execution_options(yield_per=10_000)
    )
    for seq, body, leaf in rows:
        if entry_leaf_hash(bytes(body)) != bytes(leaf):
            raise LogIntegrityError(
                f"entry {seq} no longer hashes to its logged leaf: it was changed", seq=seq
            )
    return tree


def checkpoint_all(
    *, session: Session, signing_key: sm2.PrivateKey, trees: LogTrees
) -> list[CheckpointResult]:
    """A checkpoint for every tenant whose log grew since its last one."""
    results = []
    for tenant_id in session.scalars(select(Tenant.id)):
        result = create_checkpoint(
            session=session, tenant_id=tenant_id, signing_key=signing_key, trees=trees
        )
        if result is not None and result.created:
            results.append(result)
    return results
