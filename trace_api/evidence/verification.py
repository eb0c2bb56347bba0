"""The public side of contract proofs: find a document's proofs, and check one by id.

Anyone holding a document (or its digest) may ask whether it was proven, when and by whom,
in any tenant; anyone holding a certificate's URL may check that proof. The answer shows
what the certificate itself shows (title, kind, parties, signers, digests, batch and
anchor) and the certificate, so the asker can verify it offline without trusting us; it
never shows the document, other proofs, or who asked.

`EvidenceProofs` is the component the routes use: the batch trees it keeps, the verdicts
of the certificates it checked (a certificate's bytes change when its proof changes, so a
verdict kept under their digest is never stale), and the per-client budget of public
requests, charged one check per certificate it has to verify afresh.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance.evidence.certificate import certificate_bytes
from compliance.evidence.statement import DIGESTS, key_fingerprint
from compliance.evidence.verify import EvidenceVerdict, verify_certificate
from crypto.sm3 import sm3
from trace_api.errors import InvalidInput
from trace_api.evidence.certificates import (
    BatchTrees,
    StoredProof,
    certificate_document,
    load_proof,
)
from trace_api.instants import iso
from trace_api.models import Evidence
from trace_api.ratelimit import TokenBuckets

MAX_MATCHES = 20
Charge = Callable[[int], None]  # takes this many more checks from the asker's budget
KEPT_VERDICTS = 4096
_HEX32 = re.compile(r"[0-9a-f]{64}")


@dataclass
class EvidenceProofs:
    """What the certificate and verification routes share for the app's lifetime."""

    trees: BatchTrees
    public_requests: TokenBuckets
    public_base_url: str
    _verdicts: OrderedDict[bytes, EvidenceVerdict] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def certificate(self, session: Session, proof: StoredProof) -> dict[str, Any]:
        return certificate_document(
            session, proof, trees=self.trees, public_base_url=self.public_base_url
        )

    def verdict(self, certificate: bytes) -> EvidenceVerdict:
        """The offline check of these certificate bytes, done once while they are kept."""
        digest = sm3(certificate)
        with self._lock:
            kept = self._verdicts.get(digest)
            if kept is not None:
                self._verdicts.move_to_end(digest)
                return kept
        verdict = verify_certificate(certificate)
        with self._lock:
            self._verdicts[digest] = verdict
            while len(self._verdicts) > KEPT_VERDICTS:
                self._verdicts.popitem(last=False)
        return verdict

    def is_checked(self, certificate: bytes) -> bool:
        with self._lock:
            return sm3(certificate) in self._verdicts


def parse_digest(algorithm: str, digest: str) -> tuple[str, str]:
    """(algorithm, digest) checked: sm3 or sha256, 64 hex digits (case folded)."""
    if algorithm not in DIGESTS:
        raise InvalidInput(f"a digest is one of {', '.join(DIGESTS)}, not {algorithm!r}")
    digest = digest.strip().lower()
    if _HEX32.fullmatch(digest) is None:
        raise InvalidInput(f"a {algorithm} digest is 64 hex digits")
    return algorithm, digest


def proofs_of_digests(session: Session, digests: dict[str, str]) -> list[StoredProof]:
    """The proofs whose statement holds any of these digests, oldest first, in any tenant."""
    columns = {"sm3": Evidence.sm3, "sha256": Evidence.sha256}
    found: dict[str, None] = {}
    for algorithm, digest in digests.items():
        ids = session.scalars(
            select(Evidence.id)
            .where(columns[algorithm] == digest)
            .order_by(Evidence.created_at, Evidence.id)
            .limit(MAX_MATCHES)
        )
        found.update(dict.fromkeys(ids))
    proofs = [load_proof(session, evidence_id) for evidence_id in list(found)[:MAX_MATCHES]]
    return sorted(proofs, key=lambda p: (p.statement.created_at, p.row.id))


def public_answers(
    session: Session, proofs: EvidenceProofs, found: list[StoredProof], charge: Charge
) -> list[dict[str, Any]]:
    """`public_answer` of each proof, after ``charge`` has taken one check for each
    certificate beyond the first that is not checked yet (it raises when the asker's
    budget runs short, before any is checked)."""
    documents = [proofs.certificate(session, proof) for proof in found]
    fresh = sum(not proofs.is_checked(certificate_bytes(d)) for d in documents)
    if fresh > 1:
        charge(fresh - 1)
    return [public_answer(proofs, p, d) for p, d in zip(found, documents, strict=True)]


def public_answer(
    proofs: EvidenceProofs, proof: StoredProof, document: dict[str, Any]
) -> dict[str, Any]:
    """What anyone may know of a proof, the result of checking its ``document`` (its
    certificate), and the certificate."""
    verdict = proofs.verdict(certificate_bytes(document))
    signed = {s.party: s for s in proof.signatures}
    statement = proof.statement
    anchor = document["proof"]["anchor"] if document["proof"] else None
    return {
        "evidence_id": proof.row.id,
        "title": statement.title,
        "kind": statement.kind,
        "status": proof.status,
        "created_at": iso(statement.created_at),
        "digests": dict(statement.digests),
        "size": statement.size,
        "parties": [
            {
                "name": party.name,
                "uscc": party.uscc,
                "required": party.required,
                "signed": party.ref in signed,
                "signed_at": iso(signed[party.ref].signed_at) if party.ref in signed else None,
                "key_fingerprint": (
                    key_fingerprint(signed[party.ref].public_key) if party.ref in signed else None
                ),
            }
            for party in statement.parties
        ],
        "anchor": anchor,
        "verified": verdict.ok,
        "checks": [str(failure) for failure in verdict.failures],
        "certificate": document,
    }
