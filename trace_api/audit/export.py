"""Audit bundle export: select entries, checkpoint on demand, stream them into a zip.

Memory stays flat however many entries are exported: rows are streamed from the
database into the zip member, and the tree is the cached one of leaf hashes. Each
streamed entry is checked against its logged leaf, and that leaf against the tree the
checkpoints were built from: an export never completes over a changed row, even one the
re-verifier has not reached yet, and none starts while a finding is known for the log.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, BinaryIO

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, sessionmaker

from compliance.bundle import BundleEntry, BundleStats, CheckpointRecord, write_bundle
from compliance.checkpoint import Checkpoint
from compliance.entry import entry_leaf_hash
from compliance.witness import RegisteredWitness, aggregate
from crypto import sm2
from crypto.merkle import MerkleTree
from trace_api.anchoring import service as anchoring_service
from trace_api.audit.checkpoints import LogIntegrityError, create_checkpoint
from trace_api.audit.integrity import LogIntegrity
from trace_api.audit.log import log_id
from trace_api.audit.trees import LogTrees
from trace_api.db import stream_rows, transaction
from trace_api.errors import InvalidInput
from trace_api.models import (
    AnchorJob,
    AuditCheckpoint,
    AuditCosignature,
    AuditEntry,
    AuditItemRef,
    AuditWitness,
    ChainDeployment,
    utcnow,
)

_ROWS_PER_FETCH = 20_000


@dataclass(frozen=True)
class ExportFilters:
    """Which entries an export holds; every filter narrows, none means all."""

    since: datetime | None = None
    until: datetime | None = None
    kinds: list[str] = field(default_factory=list)
    organisation_id: str | None = None
    item: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("since", "until"):
            if data[name] is not None:
                data[name] = data[name].isoformat()
        return data

    def check(self) -> None:
        if self.since and self.until and self.since >= self.until:
            raise InvalidInput("since must be before until")
        for moment in (self.since, self.until):
            if moment is not None and moment.tzinfo is None:
                raise InvalidInput("times must carry a timezone (e.g. 2026-11-25T00:00:00Z)")


def entry_query(
    tenant_id: str, filters: ExportFilters, below: int
) -> Select[int, bytes, bytes, str, datetime]:
    """Selected entries of the tenant's log under sequence ``below``, in log order."""
    query = select(
        AuditEntry.seq,
        AuditEntry.body,
        AuditEntry.leaf_hash,
        AuditEntry.kind,
        AuditEntry.recorded_at,
    ).where(AuditEntry.tenant_id == tenant_id, AuditEntry.seq < below)
    if filters.since is not None:
        query = query.where(AuditEntry.recorded_at >= filters.since)
    if filters.until is not None:
        query = query.where(AuditEntry.recorded_at < filters.until)
    if filters.kinds:
        query = query.where(AuditEntry.kind.in_(filters.kinds))
    if filters.organisation_id is not None:
        query = query.where(AuditEntry.organisation_id == filters.organisation_id)
    if filters.item is not None:
        refs = select(AuditItemRef.seq).where(
            AuditItemRef.tenant_id == tenant_id, AuditItemRef.item == filters.item
        )
        query = query.where(AuditEntry.seq.in_(refs))
    return query.order_by(AuditEntry.seq)


def export_bundle(
    *,
    sessions: sessionmaker[Session],
    tenant_id: str,
    filters: ExportFilters,
    signing_key: sm2.PrivateKey,
    trees: LogTrees,
    out: BinaryIO,
    progress: Callable[[int], None] | None = None,
    integrity: LogIntegrity | None = None,
) -> BundleStats:
    """Write the tenant's audit bundle for ``filters`` to ``out``.

    Raises LogIntegrityError (kept in `integrity`, when given) if the stored log fails
    its check, before or while the entries are written.
    """
    filters.check()
    with transaction(sessions) as session:
        create_checkpoint(
            session=session,
            tenant_id=tenant_id,
            signing_key=signing_key,
            trees=trees,
            integrity=integrity,
        )
    with transaction(sessions) as session:
        records, witnesses = _checkpoint_records(session, tenant_id)
        if not records:
            raise InvalidInput("the tenant's log is empty: nothing to export")
        covered = records[-1].checkpoint.size
        with trees.tree(session, tenant_id) as tree:
            rows = stream_rows(session, entry_query(tenant_id, filters, covered), _ROWS_PER_FETCH)
            try:
                return write_bundle(
                    out,
                    tenant_id=tenant_id,
                    log_id=log_id(tenant_id),
                    signing_key=signing_key,
                    entries=_entries(rows, tree, progress),
                    tree=tree,
                    checkpoints=records,
                    witnesses=witnesses,
                    filters=filters.as_dict(),
                    created_at=utcnow(),
                )
            except LogIntegrityError as exc:
                if integrity is not None:
                    integrity.report(exc.finding(tenant_id))
                raise


def _entries(
    rows: Iterator[Sequence[Any]], tree: MerkleTree, progress: Callable[[int], None] | None
) -> Iterator[BundleEntry]:
    """The rows as bundle entries, each checked against its leaf and the checkpointed tree."""
    count = 0
    for partition in rows:
        for seq, body, leaf, kind, at in partition:
            body, leaf = bytes(body), bytes(leaf)
            if entry_leaf_hash(body) != leaf:
                raise LogIntegrityError(
                    f"entry {seq} no longer hashes to its logged leaf: it was changed", seq=seq
                )
            if tree.leaf_hash_at(seq) != leaf:
                raise LogIntegrityError(
                    f"entry {seq}'s stored leaf hash differs from the one its checkpoints "
                    "were built from: it was changed",
                    seq=seq,
                )
            yield BundleEntry(seq=seq, body=body, leaf_hash=leaf, kind=kind, at=at)
        count += len(partition)
        if progress is not None:
            progress(count)


def _checkpoint_records(
    session: Session, tenant_id: str
) -> tuple[list[CheckpointRecord], list[RegisteredWitness]]:
    witnesses = {
        w.id: RegisteredWitness(
            id=w.id, name=w.name, public_key=w.public_key, pop=w.proof_of_possession
        )
        for w in session.scalars(select(AuditWitness).where(AuditWitness.tenant_id == tenant_id))
    }
    cosignatures: dict[int, list[AuditCosignature]] = {}
    for cosignature in session.scalars(
        select(AuditCosignature)
        .join(AuditCheckpoint, AuditCheckpoint.id == AuditCosignature.checkpoint_id)
        .where(AuditCheckpoint.tenant_id == tenant_id)
        .order_by(AuditCosignature.witness_id)
    ):
        cosignatures.setdefault(cosignature.checkpoint_id, []).append(cosignature)
    records = []
    for record in session.scalars(
        select(AuditCheckpoint)
        .where(AuditCheckpoint.tenant_id == tenant_id)
        .order_by(AuditCheckpoint.size)
    ):
        anchor = _anchor_of(session, record)
        signed = cosignatures.get(record.id, [])
        records.append(
            CheckpointRecord(
                checkpoint=Checkpoint.from_body(record.body),
                signature=record.signature,
                anchor=anchor,
                cosigners=[c.witness_id for c in signed],
                aggregate=aggregate([c.signature for c in signed]) if signed else None,
            )
        )
    return records, list(witnesses.values())


def _anchor_of(session: Session, record: AuditCheckpoint) -> dict[str, Any] | None:
    if record.anchor_job_id is None:
        return None
    job = session.get(AnchorJob, record.anchor_job_id)
    if job is None or job.status != "confirmed" or job.deployment_id is None:
        return None
    deployment = session.get(ChainDeployment, job.deployment_id)
    reference = anchoring_service.anchor_reference(job, deployment, head=None)
    return {
        key: reference[key]
        for key in ("chain_id", "contract", "tx", "block", "block_hash", "anchor_id", "network")
    }


def filters_json(filters: ExportFilters) -> str:
    return json.dumps(filters.as_dict(), sort_keys=True)
