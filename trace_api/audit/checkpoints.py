"""Signed checkpoints of a tenant's log, checked against the database before signing.

Before it signs, a checkpoint checks the previous one's stored body against its
signature, rebuilds the tree from the stored leaf hashes and checks that it still
reproduces that signed root, that the log is no shorter than this process has seen it,
and that entries hash to their stored leaves: every entry when no re-verifier is
watching the log, the entries since the previous checkpoint when one has walked it (it
finds a change to an older row within a pass, and its findings refuse the checkpoint).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance.checkpoint import (
    Checkpoint,
    sign_checkpoint,
    signing_key_fingerprint,
    verify_checkpoint,
)
from compliance.entry import entry_leaf_hash
from compliance.errors import InvalidCheckpointSignature, MalformedCheckpoint
from crypto import sm2
from crypto.merkle import MerkleTree
from trace_api.anchoring import service as anchoring_service
from trace_api.audit.integrity import IntegrityFinding, LogIntegrity
from trace_api.audit.log import log_id
from trace_api.audit.trees import LogGap, LogTrees, load_tree
from trace_api.errors import ServiceError
from trace_api.models import AuditCheckpoint, AuditEntry, Tenant, utcnow


class LogIntegrityError(ServiceError):
    status = 409
    slug = "log-integrity"
    title = "The stored audit log no longer matches its checkpoints"

    def finding(self, tenant_id: str) -> IntegrityFinding:
        """The failure as a finding to keep (`where` from the entry or checkpoint it names)."""
        seq, checkpoint = self.extra.get("seq"), self.extra.get("checkpoint")
        where = (
            f"entry seq {seq}"
            if seq is not None
            else f"checkpoint size {checkpoint}"
            if checkpoint is not None
            else "log size"
        )
        return IntegrityFinding(tenant_id, where, self.detail, seq=seq, checkpoint=checkpoint)


def refuse_if_compromised(integrity: LogIntegrity, tenant_id: str) -> None:
    """Raise LogIntegrityError while a finding is known for the tenant's log."""
    known = integrity.findings(tenant_id)
    if known:
        first = known[0]
        more = f" (and {len(known) - 1} more)" if len(known) > 1 else ""
        raise LogIntegrityError(
            f"refused while the stored log fails its integrity check: {first}{more}",
            seq=first.seq,
            checkpoint=first.checkpoint,
        )


def stored_checkpoint(
    *,
    tenant_id: str,
    size: int,
    root: str,
    body: bytes,
    signature: bytes,
    public_key: sm2.PublicKey,
) -> Checkpoint:
    """The checkpoint a stored row holds, once its signature and its columns agree with its body.

    Raises LogIntegrityError naming the checkpoint otherwise.
    """
    try:
        verify_checkpoint(public_key, bytes(body), bytes(signature))
    except (InvalidCheckpointSignature, MalformedCheckpoint) as exc:
        raise LogIntegrityError(
            f"stored checkpoint {size} does not verify under the service's signing key "
            f"({exc}): it was changed",
            checkpoint=size,
        ) from exc
    return checkpoint_of_row(tenant_id=tenant_id, size=size, root=root, body=body)


def checkpoint_of_row(*, tenant_id: str, size: int, root: str, body: bytes) -> Checkpoint:
    """The body of a stored checkpoint whose signature was checked over these exact bytes,
    once its columns agree with it; LogIntegrityError otherwise."""
    try:
        checkpoint = Checkpoint.from_body(bytes(body))
    except MalformedCheckpoint as exc:
        raise LogIntegrityError(
            f"stored checkpoint {size} has a malformed body ({exc})", checkpoint=size
        ) from exc
    if (
        checkpoint.size != size
        or "0x" + checkpoint.root.hex() != root
        or checkpoint.tenant_id != tenant_id
        or checkpoint.log_id != log_id(tenant_id)
    ):
        raise LogIntegrityError(
            f"stored checkpoint {size}: its columns (size, root) or its tenant differ from "
            "its signed body: the row was changed",
            checkpoint=size,
        )
    return checkpoint


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
    *,
    session: Session,
    tenant_id: str,
    signing_key: sm2.PrivateKey,
    trees: LogTrees,
    integrity: LogIntegrity | None = None,
) -> CheckpointResult | None:
    """Check, sign and queue for anchoring a checkpoint of the log as it stands now.

    Returns None for an empty log, and the latest checkpoint when nothing was appended
    since. Raises LogIntegrityError when the stored log contradicts what was signed, and,
    with the service's `integrity` record, while a finding is known for the tenant; what
    it finds is kept there.
    """
    if integrity is not None:
        refuse_if_compromised(integrity, tenant_id)
    try:
        latest, previous, tree = _verified_tree(
            session, tenant_id, signing_key.public_key, integrity
        )
    except LogIntegrityError as exc:
        if integrity is not None:
            integrity.report(exc.finding(tenant_id))
        raise
    trees.replace(tenant_id, tree)  # checked against the database just now
    if tree.size == 0:
        return None
    if latest is not None and latest.size == tree.size:
        return CheckpointResult(latest, created=False)
    checkpoint = Checkpoint(
        log_id=log_id(tenant_id),
        tenant_id=tenant_id,
        size=tree.size,
        root=tree.root(),
        issued_at=utcnow(),
        previous_size=previous.size if previous else None,
        previous_root=previous.root if previous else None,
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
    session: Session,
    tenant_id: str,
    public_key: sm2.PublicKey,
    integrity: LogIntegrity | None,
) -> tuple[AuditCheckpoint | None, Checkpoint | None, MerkleTree]:
    """The latest checkpoint's row and what it signed, and the log's tree, once they agree."""
    mark = integrity.high_water_mark(tenant_id) if integrity is not None else 0  # before reading
    record = latest_checkpoint(session=session, tenant_id=tenant_id)
    previous = (
        stored_checkpoint(
            tenant_id=tenant_id,
            size=record.size,
            root=record.root,
            body=record.body,
            signature=record.signature,
            public_key=public_key,
        )
        if record is not None
        else None
    )
    try:
        tree = load_tree(session, tenant_id)
    except LogGap as exc:
        raise LogIntegrityError(str(exc), seq=exc.seq) from exc
    if tree.size < mark:
        raise LogIntegrityError(
            f"the log holds {tree.size} entries, but this service has seen {mark}: "
            "entries were deleted",
            seq=tree.size,
        )
    start = 0
    if previous is not None:
        if tree.size < previous.size:
            raise LogIntegrityError(
                f"the log holds {tree.size} entries, fewer than the {previous.size} "
                "of its last checkpoint",
                seq=tree.size,
            )
        if tree.root(previous.size) != previous.root:
            raise LogIntegrityError(
                f"stored leaf hashes no longer reproduce the root of checkpoint "
                f"{previous.size}: an entry before it was changed",
                checkpoint=previous.size,
            )
        if integrity is not None and integrity.covers(tenant_id):
            start = previous.size  # the re-verifier walks the older entries
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
    if integrity is not None:
        integrity.saw_size(tenant_id, tree.size)
    return record, previous, tree


def checkpoint_all(
    *,
    session: Session,
    signing_key: sm2.PrivateKey,
    trees: LogTrees,
    integrity: LogIntegrity | None = None,
) -> list[CheckpointResult]:
    """A checkpoint for every tenant whose log grew since its last one."""
    results = []
    for tenant_id in session.scalars(select(Tenant.id)):
        result = create_checkpoint(
            session=session,
            tenant_id=tenant_id,
            signing_key=signing_key,
            trees=trees,
            integrity=integrity,
        )
        if result is not None and result.created:
            results.append(result)
    return results
