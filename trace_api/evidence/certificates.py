"""A proof's certificate, built from what is stored: statement, signatures, batch, anchor.

The statement is read back from the exact bytes the parties signed and rebuilt from them;
if the rebuilt bytes differ (the stored row was altered) the certificate is refused
rather than served. The proof member is DESIGN.md's proof document of the proof's leaf in
its batch tree, with the anchor reference and the batch's subject.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance.evidence.certificate import certificate_json
from compliance.evidence.statement import Signature, Statement, statement_from_json
from trace_api.audit import leaf_proofs
from trace_api.errors import NotFound, ServiceError
from trace_api.evidence.batches import EVIDENCE
from trace_api.models import (
    AnchorJob,
    Evidence,
    EvidencePartyKey,
    EvidenceSignature,
)


class StoredProofAltered(ServiceError):
    """The stored statement or batch no longer gives what was signed or anchored."""

    status = 500
    slug = "evidence-integrity"
    title = "Stored proof does not check out"


@dataclass(frozen=True)
class StoredProof:
    """A proof as stored, with its statement read back and its status."""

    row: Evidence
    statement: Statement
    signatures: tuple[Signature, ...]
    status: str  # pending_signatures | complete | anchored
    job: AnchorJob | None


class BatchTrees(leaf_proofs.BatchTrees):
    """The batch trees of contract proofs."""

    def __init__(self, keep: int = 64) -> None:
        super().__init__(EVIDENCE, keep=keep, altered=StoredProofAltered)


def read_statement(row: Evidence) -> Statement:
    """The statement of a stored proof, from the bytes its parties signed."""
    stored = bytes(row.statement)
    statement = statement_from_json(json.loads(stored))
    if statement.canonical_bytes() != stored:
        raise StoredProofAltered(f"evidence {row.id}: its stored statement is not canonical")
    return statement


def stored_signatures(session: Session, evidence_ids: list[str]) -> dict[str, list[Signature]]:
    """The signatures of each proof, with the keys they verify under."""
    found: dict[str, list[Signature]] = {}
    rows = session.execute(
        select(EvidenceSignature, EvidencePartyKey.public_key)
        .join(EvidencePartyKey, EvidencePartyKey.id == EvidenceSignature.key_id)
        .where(EvidenceSignature.evidence_id.in_(evidence_ids))
        .order_by(EvidenceSignature.signed_at, EvidenceSignature.id)
    )
    for sig, public_key in rows:
        signature = Signature(sig.party_id, public_key, sig.signature, sig.signed_at)
        found.setdefault(sig.evidence_id, []).append(signature)
    return found


def anchor_job(session: Session, row: Evidence) -> AnchorJob | None:
    return leaf_proofs.batch_job(session, EVIDENCE, row.tenant_id, row.batch_id)


def load_proof(session: Session, evidence_id: str, tenant_id: str | None = None) -> StoredProof:
    """A proof by id (within ``tenant_id`` when given; another tenant's is NotFound)."""
    row = session.get(Evidence, evidence_id)
    if row is None or (tenant_id is not None and row.tenant_id != tenant_id):
        raise NotFound(f"no contract proof {evidence_id!r}")
    job = anchor_job(session, row)
    status = "anchored" if job is not None and job.status == "confirmed" else row.status
    signatures = tuple(stored_signatures(session, [row.id]).get(row.id, []))
    return StoredProof(row, read_statement(row), signatures, status, job)


def proof_member(session: Session, proof: StoredProof, trees: BatchTrees) -> dict[str, Any] | None:
    """The certificate's ``proof``: the inclusion proof and anchor, or None before a batch."""
    return leaf_proofs.leaf_proof(session, trees, proof.row, proof.job)


def verify_url(public_base_url: str, evidence_id: str) -> str:
    """The public verification page of a proof, which its certificate's QR code holds."""
    return f"{public_base_url.rstrip('/')}/v1/evidence/{evidence_id}/verify"


def certificate_document(
    session: Session, proof: StoredProof, *, trees: BatchTrees, public_base_url: str
) -> dict[str, Any]:
    """The certificate of a stored proof (compliance.evidence.certificate's format)."""
    return certificate_json(
        statement=proof.statement,
        signatures=proof.signatures,
        status=proof.status,
        proof=proof_member(session, proof, trees),
        verify_url=verify_url(public_base_url, proof.row.id),
    )
