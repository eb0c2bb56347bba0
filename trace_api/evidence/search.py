"""Reading contract proofs back: one by id, and the tenant's lists and search.

A proof's status is ``pending_signatures`` or ``complete`` as stored, and ``anchored``
once the anchor job of the batch holding it (kind ``evidence``, subject
``evidence-batch-<id>``) is confirmed. A dealer key (``viewer_org``) reads only the proofs
its organisation is a party to; another tenant's proofs do not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, and_, cast, exists, literal, not_, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from compliance.evidence.certificate import ANCHOR_KIND, batch_subject
from compliance.evidence.statement import Signature, Statement
from trace_api.cursors import decode_cursor, encode_cursor
from trace_api.errors import NotFound
from trace_api.evidence import links
from trace_api.evidence.certificates import read_statement, stored_signatures
from trace_api.evidence.service import COMPLETE, PENDING
from trace_api.models import (
    AnchorJob,
    Evidence,
    EvidenceLink,
    EvidenceParty,
    EvidenceSigner,
)
from trace_api.owned import get_owned

ANCHORED = "anchored"
_SUBJECT_PREFIX = batch_subject(0)[:-1]  # "evidence-batch-": a batch's subject before its id


@dataclass(frozen=True)
class ProofView:
    """A proof as read: its row, its statement, its signatures and its status."""

    row: Evidence
    statement: Statement
    signatures: tuple[Signature, ...]
    status: str


@dataclass(frozen=True)
class EvidenceFilter:
    """What a search keeps: every field given must hold."""

    kind: str | None = None
    party: str | None = None
    link_type: str | None = None
    link_id: str | None = None
    status: str | None = None
    created_from: datetime | None = None  # at or after
    created_to: datetime | None = None  # before


def get_proof(
    *, session: Session, tenant_id: str, evidence_id: str, viewer_org: str | None = None
) -> ProofView:
    """One proof of the tenant; NotFound for a dealer that is not one of its parties."""
    row = get_owned(session, Evidence, evidence_id, tenant_id=tenant_id, noun="contract proof")
    view = views(session, [row])[0]
    if viewer_org is not None and not any(
        p.organisation == viewer_org for p in view.statement.parties
    ):
        raise NotFound(f"no contract proof {evidence_id}")
    return view


def list_proofs(
    *,
    session: Session,
    tenant_id: str,
    filters: EvidenceFilter,
    viewer_org: str | None = None,
    limit: int = 100,
    cursor: str | None = None,
) -> tuple[list[ProofView], str | None]:
    """A page of the tenant's proofs, newest first, and the next page's cursor (or None)."""
    query = select(Evidence).where(Evidence.tenant_id == tenant_id)
    if filters.kind is not None:
        query = query.where(Evidence.kind == filters.kind)
    if filters.party is not None:
        query = query.where(
            exists().where(
                EvidenceSigner.evidence_id == Evidence.id,
                EvidenceSigner.party_id == filters.party,
            )
        )
    if viewer_org is not None:
        query = query.where(
            exists()
            .where(EvidenceSigner.evidence_id == Evidence.id)
            .where(EvidenceParty.id == EvidenceSigner.party_id)
            .where(EvidenceParty.organisation_id == viewer_org)
        )
    if filters.link_type is not None and filters.link_id is not None:
        stored = links.search_id(session, tenant_id, filters.link_type, filters.link_id)
        if stored is None:
            return [], None
        query = query.where(
            exists().where(
                EvidenceLink.evidence_id == Evidence.id,
                EvidenceLink.link_type == filters.link_type,
                EvidenceLink.object_id == stored,
            )
        )
    if filters.status is not None:
        query = query.where(_in_status(filters.status))
    if filters.created_from is not None:
        query = query.where(Evidence.created_at >= filters.created_from)
    if filters.created_to is not None:
        query = query.where(Evidence.created_at < filters.created_to)
    if cursor is not None:
        at, last_id = decode_cursor(cursor)
        query = query.where(
            or_(Evidence.created_at < at, and_(Evidence.created_at == at, Evidence.id < last_id))
        )
    query = query.order_by(Evidence.created_at.desc(), Evidence.id.desc()).limit(limit + 1)
    rows = list(session.scalars(query))
    page = rows[:limit]
    more = len(rows) > limit and page
    return views(session, page), encode_cursor(page[-1].created_at, page[-1].id) if more else None


def views(session: Session, rows: list[Evidence]) -> list[ProofView]:
    """The rows with their statements, signatures and statuses (three queries in all)."""
    signatures = stored_signatures(session, [r.id for r in rows])
    confirmed = _confirmed_batches(session, rows)
    return [
        ProofView(
            row=row,
            statement=read_statement(row),
            signatures=tuple(signatures.get(row.id, ())),
            status=ANCHORED if row.batch_id in confirmed else row.status,
        )
        for row in rows
    ]


def _confirmed_batches(session: Session, rows: list[Evidence]) -> set[int | None]:
    subjects = {batch_subject(r.batch_id): r.batch_id for r in rows if r.batch_id is not None}
    if not subjects:
        return set()
    found = session.scalars(
        select(AnchorJob.subject).where(
            AnchorJob.tenant_id == rows[0].tenant_id,
            AnchorJob.kind == ANCHOR_KIND,
            AnchorJob.subject.in_(subjects),
            AnchorJob.status == "confirmed",
        )
    )
    return {subjects[subject] for subject in found}


def _anchored() -> ColumnElement[bool]:
    subject = literal(_SUBJECT_PREFIX) + cast(Evidence.batch_id, String)
    return and_(
        Evidence.batch_id.is_not(None),
        exists().where(
            AnchorJob.tenant_id == Evidence.tenant_id,
            AnchorJob.kind == ANCHOR_KIND,
            AnchorJob.subject == subject,
            AnchorJob.status == "confirmed",
        ),
    )


def _in_status(status: str) -> ColumnElement[bool]:
    if status == ANCHORED:
        return _anchored()
    if status == COMPLETE:
        return and_(Evidence.status == COMPLETE, not_(_anchored()))
    return Evidence.status == PENDING
