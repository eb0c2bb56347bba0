"""Inclusion proofs of audit log entries in the tenant's latest signed checkpoint.

The document is DESIGN.md's self-describing proof, with the entry and the checkpoint it
is proved against::

    {"v":1, "hash":"sm3", "leaf":<hex>, "index":<seq>, "tree_size":<checkpoint size>,
     "path":[<hex>...], "root":<hex>, "status":"anchored"|"pending",
     "entry":{"seq", "kind", "body"}, "checkpoint":{"size", "root", "body", "signature",
     "signing_key", "signing_key_fingerprint"}, "anchor":{...}}

It verifies with `crypto` alone: ``leaf`` is ``SM3(0x00 || entry.body)``,
`crypto.merkle.verify_inclusion` takes ``leaf``, ``index``, ``tree_size``, ``path`` to
``root``; ``checkpoint.body`` (RFC 8785 JSON naming ``size`` and ``root``) is signed with
SM2 by ``signing_key``; ``anchor`` says where the checkpoint's root is on chain (or that
its anchoring is pending). An entry newer than the latest checkpoint has no proof yet:
the document then says ``"checkpoint": null, "status": "awaiting_checkpoint"``
(checkpoints are made on a schedule, ``TRACE_CHECKPOINT_INTERVAL``, or on demand by
``POST /v1/audit/checkpoints``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance.checkpoint import signing_key_fingerprint
from compliance.entry import entry_leaf_hash
from crypto import sm2
from trace_api.anchoring import service as anchoring_service
from trace_api.audit.checkpoints import LogIntegrityError, latest_checkpoint
from trace_api.audit.kinds import EVENT_CAPTURED
from trace_api.audit.trees import LogTrees
from trace_api.errors import NotFound
from trace_api.instants import iso
from trace_api.models import (
    AnchorJob,
    AuditCheckpoint,
    AuditEntry,
    AuditItemRef,
    ChainDeployment,
    EpcisCustody,
)

PROOF_VERSION = 1


def entry_proof(
    *,
    session: Session,
    tenant_id: str,
    seq: int,
    trees: LogTrees,
    signing_key: sm2.PublicKey,
    custody_of: str | None = None,
) -> dict[str, Any]:
    """The proof document of entry ``seq``; NotFound when the log has no such entry, or
    when ``custody_of`` (a dealer's organisation) may not see it (``visible_to_custodian``)."""
    if custody_of is not None and not visible_to_custodian(
        session=session, tenant_id=tenant_id, organisation_id=custody_of, seq=seq
    ):
        raise NotFound(f"the audit log has no entry {seq} for this key")
    proofs = entry_proofs(
        session=session, tenant_id=tenant_id, seqs=[seq], trees=trees, signing_key=signing_key
    )
    if seq not in proofs:
        raise NotFound(f"the audit log has no entry {seq}")
    return proofs[seq]


def visible_to_custodian(
    *, session: Session, tenant_id: str, organisation_id: str, seq: int
) -> bool:
    """Whether a dealer organisation may read entry ``seq``: an entry of its own, or the
    capture of an EPCIS event about goods that are or were in its custody (the proofs its
    provenance shows). Other entries about those goods (allocations of other parties,
    alerts it is no party to, consumer scans) are not the dealer's to read."""
    own = session.scalar(
        select(AuditEntry.id).where(
            AuditEntry.tenant_id == tenant_id,
            AuditEntry.seq == seq,
            AuditEntry.organisation_id == organisation_id,
        )
    )
    if own is not None:
        return True
    held = session.scalar(
        select(AuditItemRef.item)
        .join(
            EpcisCustody,
            (EpcisCustody.tenant_id == AuditItemRef.tenant_id)
            & (EpcisCustody.epc == AuditItemRef.item),
        )
        .join(
            AuditEntry,
            (AuditEntry.tenant_id == AuditItemRef.tenant_id) & (AuditEntry.seq == AuditItemRef.seq),
        )
        .where(
            AuditItemRef.tenant_id == tenant_id,
            AuditItemRef.seq == seq,
            AuditEntry.kind == EVENT_CAPTURED,
            EpcisCustody.organisation_id == organisation_id,
        )
        .limit(1)
    )
    return held is not None


def entry_proofs(
    *,
    session: Session,
    tenant_id: str,
    seqs: Iterable[int],
    trees: LogTrees,
    signing_key: sm2.PublicKey,
) -> dict[int, dict[str, Any]]:
    """Proof documents of the entries ``seqs`` that exist, against one checkpoint."""
    wanted = sorted(set(seqs))
    if not wanted:
        return {}
    entries = {
        entry.seq: entry
        for entry in session.scalars(
            select(AuditEntry).where(AuditEntry.tenant_id == tenant_id, AuditEntry.seq.in_(wanted))
        )
    }
    checkpoint = latest_checkpoint(session=session, tenant_id=tenant_id)
    signed = _checkpoint_part(checkpoint, signing_key) if checkpoint else None
    anchor = checkpoint_anchor(session, checkpoint) if checkpoint else None
    out: dict[int, dict[str, Any]] = {}
    with trees.tree(session, tenant_id) as tree:
        if checkpoint is not None and "0x" + tree.root(checkpoint.size).hex() != checkpoint.root:
            raise LogIntegrityError(
                f"the stored log no longer gives the root of checkpoint {checkpoint.size}",
                checkpoint=checkpoint.size,
            )
        for seq, entry in entries.items():
            leaf = entry_leaf_hash(bytes(entry.body))
            if tree.leaf_hash_at(seq) != leaf or bytes(entry.leaf_hash) != leaf:
                raise LogIntegrityError(f"entry {seq} no longer hashes to its leaf", seq=seq)
            document: dict[str, Any] = {
                "v": PROOF_VERSION,
                "hash": tree.hash_name,
                "leaf": leaf.hex(),
                "index": seq,
                "entry": {"seq": seq, "kind": entry.kind, "body": bytes(entry.body).decode()},
            }
            if checkpoint is None or checkpoint.size <= seq:
                document.update(
                    tree_size=None,
                    path=None,
                    root=None,
                    checkpoint=None,
                    anchor=None,
                    status="awaiting_checkpoint",
                    log_size=tree.size,
                )
            else:
                assert signed is not None and anchor is not None
                document.update(
                    tree_size=checkpoint.size,
                    path=[h.hex() for h in tree.inclusion_proof(seq, checkpoint.size)],
                    root=checkpoint.root.removeprefix("0x"),
                    checkpoint=signed,
                    anchor=anchor,
                    status="anchored" if anchor.get("status") == "confirmed" else "pending",
                )
            out[seq] = document
    return out


def _checkpoint_part(record: AuditCheckpoint, key: sm2.PublicKey) -> dict[str, Any]:
    return {
        "size": record.size,
        "root": record.root.removeprefix("0x"),
        "issued_at": iso(record.issued_at),
        "body": bytes(record.body).decode(),
        "signature": bytes(record.signature).hex(),
        "signing_key": key.to_bytes().hex(),
        "signing_key_fingerprint": signing_key_fingerprint(key).hex(),
    }


def checkpoint_anchor(session: Session, record: AuditCheckpoint) -> dict[str, Any]:
    """Where the checkpoint's root is on chain, or ``{"status": "none"}``."""
    if record.anchor_job_id is None:
        return {"status": "none"}
    job = session.get(AnchorJob, record.anchor_job_id)
    if job is None:
        return {"status": "none"}
    deployment = session.get(ChainDeployment, job.deployment_id) if job.deployment_id else None
    return anchoring_service.anchor_reference(job, deployment, head=None)
