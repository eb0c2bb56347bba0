"""Contract proofs: submitting one, its parties' signatures, and reading them back.

A proof's id and time are fixed first, so its statement
(`compliance.evidence.statement.Statement`) is built before anything is stored and its
canonical bytes are what ``evidence.statement`` keeps. Each signature is checked on
arrival against the party's registered keys; a proof is ``complete`` once every required
party has signed (at once when none is required), and its Merkle leaf is then fixed.
Any refusal raises before the transaction commits, so a refused request writes nothing.

Services never commit: the caller owns the transaction (one per request or job).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, BinaryIO

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from compliance.evidence.statement import (
    Party,
    Signature,
    Statement,
    leaf_hash,
    signature_holds,
)
from crypto.sm3 import sm3_hex
from trace_api.audit import log as audit_log
from trace_api.audit.log import Change
from trace_api.errors import Conflict, Forbidden, InvalidInput, NotFound
from trace_api.evidence import documents, links
from trace_api.evidence import parties as party_service
from trace_api.evidence.certificates import read_statement, stored_signatures
from trace_api.evidence.schemas import EvidenceSubmit, PartyIn
from trace_api.instants import iso
from trace_api.models import (
    Evidence,
    EvidenceLink,
    EvidenceParty,
    EvidencePartyKey,
    EvidenceSignature,
    EvidenceSigner,
    new_id,
    utcnow,
)
from trace_api.tenancy import service as tenancy_service

REVOKED_KEYS_TRIED = 5
PENDING = "pending_signatures"
COMPLETE = "complete"
SUBMITTED = "evidence.submitted"
SIGNED = "evidence.signed"
COMPLETED = "evidence.completed"
# A statement time chosen by the client (so that its parties could sign before the
# submission) may lie this far from the service's clock.
EARLIEST = timedelta(minutes=10)
LATEST = timedelta(minutes=1)


class SignatureRefused(InvalidInput):
    """A signature that does not verify under a live key of its party."""

    slug = "signature-refused"
    title = "Signature refused"


def submit(
    *,
    session: Session,
    tenant_id: str,
    actor: str,
    master_key: bytes,
    request: EvidenceSubmit,
    document: BinaryIO | None = None,
    keep: bool = False,
) -> Evidence:
    """Store a proof of ``document`` (hashed and, with ``keep``, sealed as it is read once)
    or, without one, of the digests the request gives."""
    now = utcnow()
    evidence_id, created_at = _identity(session, request, now, uploaded=document is not None)
    signers, keys = _parties(session, tenant_id, request.parties)
    linked = [
        (link.type, links.checked(session, tenant_id, link.type, link.id, f"links[{n}]"))
        for n, link in enumerate(request.links)
    ]
    if len(set(linked)) != len(linked):  # an EPCIS event by its eventID and by its digest
        raise InvalidInput("links name the same object twice")
    given = request.digests.given()
    row = Evidence(
        id=evidence_id,
        tenant_id=tenant_id,
        title=request.title,
        kind=request.kind,
        statement=b"",
        status=PENDING,
        created_by=actor,
        created_at=created_at,
        document_chunks=0,
    )
    if document is None:
        if not given:
            raise InvalidInput("give digests (sm3 and/or sha256), or upload the document")
        if keep:
            raise InvalidInput("keep=true keeps an uploaded document: upload it")
        digests, size = given, request.size
    else:
        keeping = None
        if keep:  # its chunks refer to the proof's row, which must come first
            _insert(session, row)
            keyring = tenancy_service.tenant_keyring(
                session=session, master_key=master_key, tenant_id=tenant_id
            )
            keeping = documents.Keeping(session, keyring, evidence_id)
        read = documents.read_document(document, keeping)
        _check_given(given, request.size, read)
        digests, size = read.digests, read.size
        row.document_key_id, row.document_chunks = read.key_id, read.chunks
    statement = Statement(
        tenant=tenant_id,
        evidence_id=evidence_id,
        title=request.title,
        kind=request.kind,
        digests=digests,
        size=size,
        parties=tuple(Party(p.id, p.name, p.uscc, p.organisation_id, p.required) for p in signers),
        links=tuple(linked),
        created_at=created_at,
    )
    row.statement = statement.canonical_bytes()
    row.sm3, row.sha256, row.size = digests.get("sm3"), digests.get("sha256"), size
    accepted = [
        _accept(row, statement, s.party, s.signature, actor, keys) for s in request.signatures
    ]
    changes = [
        Change(
            SUBMITTED,
            {
                "evidence_id": evidence_id,
                "kind": request.kind,
                "statement_sm3": sm3_hex(row.statement),
                "digests": dict(digests),
                "size": size,
                "document_kept": row.document_chunks > 0,
            },
            actor,
        ),
        *(a.change for a in accepted),
        *_complete(row, statement, [a.signature for a in accepted], actor),
    ]
    _insert(session, row)
    # Nothing reads these rows back in this transaction: plain inserts, no ORM objects.
    _insert_all(
        session,
        EvidenceSigner,
        [
            {"evidence_id": evidence_id, "party_id": p.id, "position": n, "required": p.required}
            for n, p in enumerate(signers)
        ],
    )
    _insert_all(
        session,
        EvidenceLink,
        [{"evidence_id": evidence_id, "link_type": t, "object_id": i} for t, i in linked],
    )
    _insert_all(session, EvidenceSignature, [a.row for a in accepted])
    audit_log.append_many(session=session, tenant_id=tenant_id, changes=changes)
    return row


def sign(
    *,
    session: Session,
    tenant_id: str,
    evidence_id: str,
    party_id: str,
    signature: str,
    actor: str,
    viewer_org: str | None = None,
) -> Evidence:
    """Add a party's signature to a proof; the proof is complete once every required party
    has signed. A dealer (``viewer_org``) signs only for its own organisation's party."""
    row = _locked(session, tenant_id, evidence_id)
    statement = read_statement(row)
    party = statement.party(party_id)
    if viewer_org is not None:
        if not any(p.organisation == viewer_org for p in statement.parties):
            raise NotFound(f"no contract proof {evidence_id}")
        if party is not None and party.organisation != viewer_org:
            raise Forbidden("a dealer key signs only for its own organisation's party")
    if row.status != PENDING:
        raise Conflict(f"proof {evidence_id} is complete: it takes no more signatures")
    signed = select(EvidenceSignature.id).where(
        EvidenceSignature.evidence_id == evidence_id, EvidenceSignature.party_id == party_id
    )
    if session.scalar(signed) is not None:
        raise Conflict(f"party {party_id} has signed proof {evidence_id} already")
    accepted = _accept(
        row, statement, party_id, signature, actor, party_service.keys_of(session, [party_id])
    )
    try:
        _insert_all(session, EvidenceSignature, [accepted.row])
    except IntegrityError:
        raise Conflict(f"party {party_id} has signed proof {evidence_id} already") from None
    signatures = stored_signatures(session, [row.id]).get(row.id, [])
    changes = [accepted.change, *_complete(row, statement, signatures, actor)]
    audit_log.append_many(session=session, tenant_id=tenant_id, changes=changes)
    return row


def _identity(
    session: Session, request: EvidenceSubmit, now: datetime, *, uploaded: bool
) -> tuple[str, datetime]:
    """The proof's id and statement time: the client's, when it chose them, else new. A
    taken id is refused here before an upload is read; without one, by the insert."""
    if request.signatures and (request.id is None or request.created_at is None):
        raise InvalidInput(
            "signatures sent with a proof sign its statement, which holds the proof's id and "
            "time: give id and created_at too (or send the signatures afterwards)"
        )
    created_at = request.created_at or now
    if not now - EARLIEST <= created_at <= now + LATEST:
        raise InvalidInput(
            f"created_at must lie within {EARLIEST} before and {LATEST} after now ({iso(now)})"
        )
    if uploaded and request.id is not None and session.get(Evidence, request.id) is not None:
        raise Conflict(f"id {request.id} is taken")
    return request.id or new_id(), created_at


@dataclass(frozen=True, slots=True)
class _Signer:
    """A party of the proof being submitted, and whether it must sign."""

    id: str
    name: str
    uscc: str | None
    organisation_id: str | None
    required: bool


@dataclass(frozen=True, slots=True)
class _Key:
    """A registered key of a party, as a signature is checked against it."""

    id: str
    public_key: str
    fingerprint: str
    revoked_at: datetime | None


def _parties(
    session: Session, tenant_id: str, given: list[PartyIn]
) -> tuple[list[_Signer], dict[str, list[_Key]]]:
    """The proof's parties, each with whether it must sign, and their keys (oldest first),
    in one query of the columns they need."""
    found: dict[str, tuple[str, str | None, str | None]] = {}
    keys: dict[str, list[_Key]] = {}
    if given:
        rows = session.execute(
            select(
                EvidenceParty.id,
                EvidenceParty.name,
                EvidenceParty.uscc,
                EvidenceParty.organisation_id,
                EvidencePartyKey.id,
                EvidencePartyKey.public_key,
                EvidencePartyKey.fingerprint,
                EvidencePartyKey.revoked_at,
            )
            .outerjoin(EvidencePartyKey, EvidencePartyKey.party_id == EvidenceParty.id)
            .where(
                EvidenceParty.id.in_([item.party for item in given]),
                EvidenceParty.tenant_id == tenant_id,
            )
            .order_by(EvidencePartyKey.registered_at)
        )
        for party_id, name, uscc, org, key_id, public_key, fingerprint, revoked_at in rows:
            found[party_id] = (name, uscc, org)
            if key_id is not None:
                keys.setdefault(party_id, []).append(
                    _Key(key_id, public_key, fingerprint, revoked_at)
                )
    for n, item in enumerate(given):
        if item.party not in found:
            raise InvalidInput(f"parties[{n}]: the tenant has no party {item.party}")
    return [_Signer(item.party, *found[item.party], item.required) for item in given], keys


def _check_given(given: dict[str, str], size: int | None, read: documents.ReadDocument) -> None:
    for name, digest in given.items():
        if read.digests[name] != digest:
            raise InvalidInput(
                f"digests.{name} is {digest}, but the uploaded document's is {read.digests[name]}"
            )
    if size is not None and size != read.size:
        raise InvalidInput(f"size is {size}, but the uploaded document has {read.size} bytes")


def _insert(session: Session, row: Evidence) -> None:
    try:
        session.add(row)
        session.flush()
    except IntegrityError:
        raise Conflict(f"id {row.id} is taken") from None


def _insert_all(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(model), rows)


def _locked(session: Session, tenant_id: str, evidence_id: str) -> Evidence:
    """The proof, locked for the rest of the transaction: a no-op UPDATE takes its row lock
    on PostgreSQL and the write lock on SQLite, so signatures arriving at once are taken
    one after the other and each sees the proof as the one before left it (a signature
    arriving just after completion is refused, never folded into a fixed leaf)."""
    touched = session.execute(
        update(Evidence)
        .where(Evidence.id == evidence_id, Evidence.tenant_id == tenant_id)
        .values(status=Evidence.status)
        .execution_options(synchronize_session=False)
    )
    row = session.get(Evidence, evidence_id, populate_existing=True)
    if not touched.rowcount or row is None:  # type: ignore[attr-defined]
        raise NotFound(f"no contract proof {evidence_id}")
    return row


@dataclass(frozen=True)
class _Accepted:
    """A signature checked and ready to store: its row, its form in the leaf, its audit."""

    row: dict[str, Any]  # an EvidenceSignature's columns
    signature: Signature
    change: Change


def _accept(
    row: Evidence,
    statement: Statement,
    party_id: str,
    signature: str,
    actor: str,
    keys: Mapping[str, Sequence[_Key | EvidencePartyKey]],
) -> _Accepted:
    """Check one signature against the party's ``keys``; SignatureRefused (422) says why it
    is not taken."""
    party = statement.party(party_id)
    if party is None:
        raise InvalidInput(f"party {party_id} is not a party of proof {row.id}")
    signature = signature.lower()
    message = bytes(row.statement)
    now = utcnow()
    own = keys.get(party_id, [])
    live = [k for k in own if k.revoked_at is None]
    key = next((k for k in live if signature_holds(k.public_key, signature, message)), None)
    if key is None:
        # Only to say why: the last few revoked keys, so many revocations cost no more.
        revoked = sorted(
            (k for k in own if k.revoked_at is not None), key=lambda k: k.revoked_at or now
        )[-REVOKED_KEYS_TRIED:]
        made = next((k for k in revoked if signature_holds(k.public_key, signature, message)), None)
        if made is not None:
            raise SignatureRefused(
                f"the signature verifies under key {made.fingerprint} of party {party_id}, "
                f"which was revoked at {iso(made.revoked_at)}: a signature arriving after its "
                "key's revocation is not taken"
            )
        raise SignatureRefused(
            f"the signature does not verify over proof {row.id}'s statement under any of the "
            f"{len(live)} live keys of party {party_id} (SM2 over SM3, user id "
            "1234567812345678)"
        )
    at = now
    return _Accepted(
        row={
            "evidence_id": row.id,
            "party_id": party_id,
            "key_id": key.id,
            "signature": signature,
            "signed_at": at,
        },
        signature=Signature(party_id, key.public_key, signature, at),
        change=Change(
            SIGNED,
            {
                "evidence_id": row.id,
                "party": party_id,
                "key": key.fingerprint,
                "signed_at": iso(at),
            },
            actor,
            party.organisation,
        ),
    )


def _complete(
    row: Evidence, statement: Statement, signatures: list[Signature], actor: str
) -> list[Change]:
    """Complete the proof once every required party has signed, fixing its leaf over
    ``signatures``; return the audit change, if it completed."""
    signed = {s.party for s in signatures}
    if any(p.required and p.ref not in signed for p in statement.parties):
        return []
    row.status = COMPLETE
    row.completed_at = utcnow()
    row.leaf_hash = leaf_hash(statement, signatures)
    return [
        Change(
            COMPLETED,
            {"evidence_id": row.id, "leaf_hash": row.leaf_hash.hex(), "signatures": len(signed)},
            actor,
        )
    ]
