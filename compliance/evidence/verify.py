"""Checking a contract-proof certificate offline, with its document and on chain if given.

`verify_certificate` never raises on bad input: whatever is wrong comes back as a
`Failure` in the `EvidenceVerdict`, in this order:

1. the certificate parses (its canonical bytes, every field in its form);
2. with a document: its size and each digest the statement holds (SM3, SHA-256);
3. each signature verifies over the statement's canonical bytes under its key, belongs
   to a party of the statement, and every required party has signed (when several
   signatures and none verifies, the statement is named first: it is what changed);
4. the leaf is the hash of the statement and signatures, and the inclusion path leads
   from it to the batch root;
5. the anchor: its id is the one derived from the tenant and the batch, it is confirmed,
   and the certificate's status says anchored;
6. with `rpc_url`: the chain holds that root and tree size under that id, as an evidence
   anchor (kind 3), in the TraceAnchor contract the certificate names (or
   `expected_contract`), with enough confirmations, recorded in the block the certificate
   names by the transaction it names; the block's time is when the proof was anchored.
   Every failure of this step is named ``chain``.

Checks 1 to 5 show the certificate is internally consistent and the document is the one
it speaks of. What makes it evidence is the chain (6), and that the parties' keys are
theirs: a signature proves possession of the key named beside it, not who holds it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from compliance._findings import Failure, Findings
from compliance._wire import format_utc
from compliance.batch_proof import check_batch_on_chain, check_batch_proof
from compliance.errors import MalformedEvidence
from compliance.evidence.certificate import ANCHOR_KIND, Certificate, read_certificate
from compliance.evidence.statement import key_fingerprint, leaf_hash, signature_holds
from crypto.sm3 import SM3Hasher

__all__ = ["EvidenceVerdict", "Failure", "verify_certificate"]

EVIDENCE_KIND_BYTE = 3  # trace_api.anchoring's ANCHOR_KINDS["evidence"]
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Signer:
    """A party that signed, with the key's fingerprint and when the signature arrived."""

    party: str
    name: str
    key: str
    signed_at: datetime


@dataclass(frozen=True)
class EvidenceVerdict:
    """What the checks found; ``ok`` only when nothing failed."""

    failures: tuple[Failure, ...]
    notes: tuple[str, ...]
    evidence_id: str | None = None
    signers: tuple[Signer, ...] = ()
    document_checked: bool = False
    chain_checked: bool = False
    contract_pinned: bool = False  # the chain was read at the contract the caller named
    anchored_at: datetime | None = None
    certificate: Certificate | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def first_failure(self) -> Failure | None:
        return self.failures[0] if self.failures else None

    def describe(self) -> str:
        """A verdict for people: what holds, or what failed first, then the rest and notes."""
        cert = self.certificate
        what = f"contract proof {self.evidence_id or '(unreadable)'}"
        if cert is not None:
            what += f', "{cert.statement.title}" ({cert.statement.kind})'
        if self.ok:
            lines = [f"VERIFIED: {what}"]
        else:
            lines = [f"NOT VERIFIED: {what}", f"First failure: {self.failures[0]}"]
        if cert is not None:
            lines.extend(self._figures(cert))
        if len(self.failures) > 1:
            lines.append(f"All {len(self.failures)} failures:")
            lines.extend(f"  - {failure}" for failure in self.failures)
        lines.extend(f"Note: {note}" for note in self.notes)
        return "\n".join(lines)

    def _figures(self, cert: Certificate) -> list[str]:
        statement = cert.statement
        digests = ", ".join(sorted(statement.digests))
        checked = "compared with the file given" if self.document_checked else "no file given"
        lines = [f"  document:  {statement.size} bytes, {digests} ({checked})"]
        lines.extend(
            f"  signed:    {s.name} ({s.party}) at {format_utc(s.signed_at)}, key {s.key}"
            for s in self.signers
        )
        if cert.proof is not None:
            proof, anchor = cert.proof, cert.proof.anchor
            lines.append(
                f"  batch:     leaf {proof.index} of {proof.tree_size}, root {proof.root.hex()}"
            )
            if anchor.status == "confirmed":
                lines.append(
                    f"  anchor:    chain {anchor.chain_id}, contract {anchor.contract}, "
                    f"block {anchor.block}, tx {anchor.tx}"
                )
        if self.anchored_at is not None:
            lines.append(
                f"  anchored:  {format_utc(self.anchored_at)} (the block's time, on chain)"
            )
        return lines

    def to_json(self) -> dict[str, Any]:
        """The verdict as JSON, for scripts (``trace verify-evidence --json``)."""
        return {
            "ok": self.ok,
            "evidence_id": self.evidence_id,
            "first_failure": str(self.failures[0]) if self.failures else None,
            "failures": [{"where": f.where, "reason": f.reason} for f in self.failures],
            "notes": list(self.notes),
            "signers": [
                {
                    "party": s.party,
                    "name": s.name,
                    "key_fingerprint": s.key,
                    "signed_at": format_utc(s.signed_at),
                }
                for s in self.signers
            ],
            "document_checked": self.document_checked,
            "chain_checked": self.chain_checked,
            "contract_pinned": self.contract_pinned,
            "anchored_at": format_utc(self.anchored_at) if self.anchored_at else None,
        }


def document_digests(stream: BinaryIO) -> tuple[int, dict[str, str]]:
    """Size, SM3 and SHA-256 (hex) of a document read in chunks (flat memory)."""
    sm3, sha256, size = SM3Hasher(), hashlib.sha256(), 0
    while chunk := stream.read(_CHUNK):
        sm3.update(chunk)
        sha256.update(chunk)
        size += len(chunk)
    return size, {"sm3": sm3.hexdigest(), "sha256": sha256.hexdigest()}


def _check_document(cert: Certificate, document: Path | BinaryIO, findings: Findings) -> None:
    findings.step = 2
    try:
        if isinstance(document, Path):
            with document.open("rb") as stream:
                size, digests = document_digests(stream)
        else:
            size, digests = document_digests(document)
    except OSError as exc:
        findings.fail("document", f"cannot be read: {exc}")
        return
    statement = cert.statement
    if statement.size is not None and size != statement.size:
        findings.fail("document", f"is {size} bytes; the statement says {statement.size}")
    for name, expected in statement.digests.items():
        if digests[name] != expected:
            findings.fail("document", f"its {name} digest is {digests[name]}, not {expected}")


def _check_signatures(cert: Certificate, findings: Findings) -> list[Signer]:
    findings.step = 3
    message = cert.statement.canonical_bytes()
    signers, signed, failed = [], set(), []
    for n, sig in enumerate(cert.signatures):
        where = f"signatures[{n}] (party {sig.party})"
        party = cert.statement.party(sig.party)
        if party is None:
            failed.append((where, "names no party of the statement"))
        elif not signature_holds(sig.public_key, sig.signature, message):
            failed.append((where, "does not verify over the statement under its key"))
        else:
            signed.add(sig.party)
            fingerprint = key_fingerprint(sig.public_key)
            signers.append(Signer(sig.party, party.name, fingerprint, sig.signed_at))
    if len(cert.signatures) > 1 and not signers:
        # Every signature failing at once is what a changed statement looks like.
        findings.fail("statement", "no signature verifies over it: it is not what was signed")
    for where, reason in failed:
        findings.fail(where, reason)
    for party in cert.statement.parties:
        if party.required and party.ref not in signed:
            findings.fail(f"party {party.ref}", f"{party.name} has not signed")
    return signers


def _check_proof(cert: Certificate, findings: Findings) -> bool:
    # Step 5's anchor checks run in check_batch_proof too, tagged 4: it fails once at
    # most, between steps 3 and 6, so the failures come out in the same order.
    findings.step = 4
    if not check_batch_proof(
        cert.proof,
        leaf=leaf_hash(cert.statement, cert.signatures),
        leaf_mismatch="is not the hash of this statement and these signatures",
        anchor_kind=ANCHOR_KIND,
        tenant=cert.statement.tenant,
        findings=findings,
        what="proof",
    ):
        return False
    findings.step = 5
    if cert.status != "anchored":
        findings.fail("status", f"is {cert.status}, but the proof is signed and anchored")
        return False
    return True


def _check_chain(
    cert: Certificate,
    rpc_url: str,
    expected_contract: str | None,
    min_confirmations: int,
    findings: Findings,
) -> datetime | None:
    findings.step = 6
    assert cert.proof is not None  # step 5 held: the anchor is confirmed, all of it said
    return check_batch_on_chain(
        cert.proof,
        rpc_url=rpc_url,
        expected_contract=expected_contract,
        min_confirmations=min_confirmations,
        kind_byte=EVIDENCE_KIND_BYTE,
        kind_name=ANCHOR_KIND,
        findings=findings,
        document_name="the certificate",
    )


def verify_certificate(
    certificate: bytes | dict[str, Any],
    *,
    document: Path | BinaryIO | None = None,
    rpc_url: str | None = None,
    expected_contract: str | None = None,
    min_confirmations: int = 1,
) -> EvidenceVerdict:
    """Check a certificate (and the document it speaks of, and the chain); never raises."""
    findings = Findings()
    try:
        cert = read_certificate(certificate)
    except MalformedEvidence as exc:
        findings.fail("certificate", str(exc))
        return EvidenceVerdict(tuple(findings.failures()), tuple(findings.notes))
    if document is not None:
        _check_document(cert, document, findings)
    signers = _check_signatures(cert, findings)
    anchored = _check_proof(cert, findings)
    anchored_at = None
    if anchored and rpc_url is not None:
        anchored_at = _check_chain(cert, rpc_url, expected_contract, min_confirmations, findings)
    elif anchored:
        findings.note("the anchor was not checked on chain: give an RPC URL to check it")
    if anchored_at is not None and expected_contract is None:
        findings.note(
            "the chain was read at the contract the certificate names, which anyone can "
            "deploy: pin the service's TraceAnchor address to rule out a forged anchor"
        )
    if document is None:
        findings.note("the document was not checked: give it to compare its digests")
    return EvidenceVerdict(
        failures=tuple(findings.failures()),
        notes=tuple(findings.notes),
        evidence_id=cert.statement.evidence_id,
        signers=tuple(signers),
        document_checked=document is not None,
        chain_checked=anchored_at is not None,
        contract_pinned=anchored_at is not None and expected_contract is not None,
        anchored_at=anchored_at,
        certificate=cert,
    )
