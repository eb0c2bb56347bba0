"""Capture: storing a document's events as one job, all or nothing unless told otherwise.

A job runs inside the caller's transaction. Every event is checked first (hash ID, times,
eventID clashes); with ``rollback`` (the default) one bad event means nothing is stored,
with ``proceed`` the good ones are. Storing is bulk: one multi-row INSERT ... RETURNING
for the events, executemany for their identifier index, custody and audit log entries.
Each stored event is a leaf of the tenant's audit log, appended in the same transaction.
Each event not stored comes back as a :class:`Rejection` whose kind callers branch on; the
job keeps the same rejections as the problem list the API shows.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from trace_api.audit import log as audit_log
from trace_api.audit.kinds import EVENT_CAPTURED
from trace_api.epcis import authority, bulk, custody
from trace_api.epcis.events import EventError, PreparedEvent, context_text, format_time, prepare
from trace_api.epcis.stored import Capturer, OnStored, StoredEvent
from trace_api.models import (
    AuditHead,
    EpcisCaptureJob,
    EpcisEvent,
    EpcisEventEpc,
    EpcisEventParty,
    EpcisSubscription,
    EpcisSubscriptionBacklog,
    utcnow,
)

_log = logging.getLogger(__name__)
_CHUNK = 500

RejectionKind = Literal["duplicate", "foreign", "invalid", "refused"]


@dataclass(frozen=True, slots=True)
class Rejection:
    """An event capture did not store, and why; callers branch on ``kind``.

    ``duplicate``: its eventID belongs to a stored event with other content. ``foreign``: a
    dealer key recorded another organisation's act (trace_api/epcis/authority.py).
    ``invalid``: it cannot be stored as given (its eventID, times). ``refused``: the database
    refused the whole capture (index 0), e.g. a concurrent capture of the same eventID.
    ``detail`` is the text the job's problem list shows.
    """

    kind: RejectionKind
    index: int
    detail: str

    def problem(self) -> dict[str, Any]:
        """The entry of the job's ``errors`` (GS1's problem shape, as the API shows it)."""
        return {
            "type": "epcisException:ValidationException",
            "title": "Event not captured",
            "status": 400,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class CaptureOutcome:
    """The finished job and the events it did not store, ordered as ``job.errors``."""

    job: EpcisCaptureJob
    rejected: list[Rejection]


def start_job(
    *, session: Session, capturer: Capturer, behaviour: str, event_count: int
) -> EpcisCaptureJob:
    """A running capture job row (GS1's 'all' behaviour is recorded as 'rollback')."""
    job = EpcisCaptureJob(
        tenant_id=capturer.tenant_id,
        requested_by=capturer.key_id,
        organisation_id=capturer.organisation_id,
        error_behaviour="proceed" if behaviour == "proceed" else "rollback",
        running=True,
        success=True,
        event_count=event_count,
        stored_count=0,
        errors="[]",
    )
    session.add(job)
    session.flush()
    return job


def _rejection(kind: RejectionKind, index: int, event_id: str | None, reason: str) -> Rejection:
    where = f"event {index}" + (f" ({event_id})" if event_id else "")
    return Rejection(kind, index, f"{where}: {reason}")


def _prepare_all(
    events: Sequence[dict[str, Any]], context: Any
) -> tuple[list[PreparedEvent], list[Rejection]]:
    stored_context = context_text(context)
    prepared, errors = [], []
    for index, event in enumerate(events):
        try:
            prepared.append(prepare(index, event, context, stored_context))
        except EventError as exc:
            given = event.get("eventID")
            event_id = given if isinstance(given, str) else None
            errors.append(_rejection("invalid", index, event_id, str(exc)))
    return prepared, errors


def _drop_duplicates(
    session: Session, tenant_id: str, prepared: list[PreparedEvent]
) -> tuple[list[PreparedEvent], list[Rejection]]:
    """Events to store: a repeat of a stored event (same id, same content) is skipped."""
    known: dict[tuple[str, bool], bytes] = {}
    ids = sorted({p.event_id for p in prepared})
    for start in range(0, len(ids), _CHUNK):
        rows = session.execute(
            select(EpcisEvent.event_id, EpcisEvent.declared_at.is_not(None), EpcisEvent.digest)
            .where(EpcisEvent.tenant_id == tenant_id)
            .where(EpcisEvent.event_id.in_(ids[start : start + _CHUNK]))
        )
        known.update({(event_id, bool(is_decl)): digest for event_id, is_decl, digest in rows})
    keep: list[PreparedEvent] = []
    errors: list[Rejection] = []
    for p in prepared:
        key = (p.event_id, p.is_declaration)
        if key not in known:
            known[key] = p.digest
            keep.append(p)
        elif known[key] != p.digest:
            what = "an error declaration" if p.is_declaration else "an event"
            reason = f"{what} with this eventID and other content exists"
            errors.append(_rejection("duplicate", p.index, p.event_id, reason))
    return keep, errors


def run(
    *,
    session: Session,
    job: EpcisCaptureJob,
    capturer: Capturer,
    events: Sequence[dict[str, Any]],
    context: Any,
    on_stored: OnStored,
) -> CaptureOutcome:
    """Capture ``events`` under ``job``; the job records the outcome, it never raises.

    ``on_stored`` hears of the events stored (trace_api/epcis/stored.py).
    """
    prepared, errors = _prepare_all(events, context)
    if capturer.organisation_id is not None:
        refused = authority.foreign_acts(
            session=session,
            tenant_id=capturer.tenant_id,
            organisation_id=capturer.organisation_id,
            events=prepared,
        )
        errors += [_rejection("foreign", p.index, p.event_id, why) for p, why in refused]
        prepared = [p for p in prepared if p.index not in {r.index for r, _ in refused}]
    to_store: list[PreparedEvent] = []
    if session.get_bind().dialect.name == "postgresql":
        # psycopg prepares repeated statements; a generic plan made while the table was
        # small (a sequential scan) would stay cached as it grows. Plan each one afresh.
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
        # One capture per tenant at a time, so two cannot both find an eventID free: the
        # audit log's head row, which this transaction locks to append anyway, is taken
        # now. (On SQLite the job row already holds the database's write lock.)
        session.execute(
            select(AuditHead.size)
            .where(AuditHead.tenant_id == capturer.tenant_id)
            .with_for_update()
        )
    try:
        with session.begin_nested():
            to_store, clashes = _drop_duplicates(session, capturer.tenant_id, prepared)
            errors += clashes
            if errors and job.error_behaviour == "rollback":
                to_store = []
            else:
                _store(session, job, capturer, to_store, on_stored)
    except SQLAlchemyError as exc:  # e.g. a concurrent capture of the same eventID
        _log.warning("capture %s failed in the database: %s", job.id, exc)
        reason = "the database refused the capture; nothing was stored"
        errors.append(_rejection("refused", 0, None, reason))
        to_store = []
    job.running = False
    job.success = not errors
    job.stored_count = len(to_store)
    rejected = sorted(errors, key=lambda r: r.detail)
    job.errors = json.dumps([r.problem() for r in rejected], ensure_ascii=False)
    job.finished_at = utcnow()
    session.flush()
    return CaptureOutcome(job, rejected)


def _store(
    session: Session,
    job: EpcisCaptureJob,
    capturer: Capturer,
    events: list[PreparedEvent],
    on_stored: OnStored,
) -> None:
    if not events:
        return
    tenant_id = capturer.tenant_id
    record_time = utcnow()
    pks = _allocate_ids(session, len(events))
    # The log entries first, so each event row carries the seq of the entry that proves it.
    seqs = audit_log.append_many(
        session=session,
        tenant_id=tenant_id,
        changes=[
            _change(job, capturer, pk, p, record_time) for pk, p in zip(pks, events, strict=True)
        ],
        at=record_time,
    )
    rows: list[dict[str, Any]] = [
        {
            "id": pk,
            "tenant_id": tenant_id,
            "event_id": p.event_id,
            "event_id_generated": p.generated_id,
            "event_type": p.event_type,
            "action": p.action,
            "event_time": p.event_time,
            "record_time": record_time,
            "biz_step": p.biz_step,
            "disposition": p.disposition,
            "read_point": p.read_point,
            "biz_location": p.biz_location,
            "declared_at": p.declared_at,
            "corrects_id": None,
            "group_id": pk,
            "capture_id": job.id,
            "organisation_id": capturer.organisation_id,
            "digest": p.digest,
            "content_key": p.content_key,
            "context": p.context,
            "body": p.body,
            "audit_seq": seq,
        }
        for pk, p, seq in zip(pks, events, seqs, strict=True)
    ]
    bulk.insert_rows(session, EpcisEvent, rows)
    index_rows = [
        {"tenant_id": tenant_id, "epc": key, "role": role, "event_pk": pk}
        for pk, p in zip(pks, events, strict=True)
        for key, role in p.epcs
    ]
    bulk.insert_rows(session, EpcisEventEpc, index_rows)
    party_rows = [
        {"tenant_id": tenant_id, "party": party, "event_pk": pk}
        for pk, p in zip(pks, events, strict=True)
        for party in p.parties
    ]
    bulk.insert_rows(session, EpcisEventParty, party_rows)
    new_parents = custody.record_containment(session=session, tenant_id=tenant_id, events=events)
    custody.grant_custody(
        session=session,
        tenant_id=tenant_id,
        events=events,
        new_parents=new_parents,
    )
    on_stored(
        session=session,
        capturer=capturer,
        events=[StoredEvent(pk, p, seq) for pk, p, seq in zip(pks, events, seqs, strict=True)],
    )
    _link_declarations(session, tenant_id, dict(zip(pks, events, strict=True)))
    _queue_for_subscriptions(session, tenant_id, job.id)


def _allocate_ids(session: Session, count: int) -> list[int]:
    """Ids for ``count`` new events, so they go in by plain executemany (an INSERT with
    RETURNING in parameter order runs row by row on SQLite).

    PostgreSQL: from the table's sequence. SQLite: after the highest id; the capture job
    row this transaction wrote first holds the database's write lock until commit, so no
    other writer can take the same ids.
    """
    if session.get_bind().dialect.name == "postgresql":
        return list(
            session.scalars(
                text("SELECT nextval('epcis_events_id_seq') FROM generate_series(1, :n)"),
                {"n": count},
            )
        )
    highest = session.scalar(select(func.max(EpcisEvent.id))) or 0
    return list(range(highest + 1, highest + 1 + count))


def _change(
    job: EpcisCaptureJob, capturer: Capturer, pk: int, p: PreparedEvent, at: Any
) -> audit_log.Change:
    data = {
        "eventID": p.event_id,
        "hash": "sha256:" + p.digest.hex(),
        "type": p.event_type,
        "eventTime": format_time(p.event_time),
        "recordTime": format_time(at),
        "captureID": job.id,
        "errorDeclaration": p.is_declaration,
    }
    return audit_log.Change(
        EVENT_CAPTURED,
        data,
        actor=capturer.key_id,
        organisation_id=capturer.organisation_id,
        items=p.items,
    )


def _link_declarations(session: Session, tenant_id: str, stored: dict[int, PreparedEvent]) -> None:
    """Point each error declaration at the event it corrects, whichever came first.

    The declaration repeats the event's eventID (the standard) or, failing that, its
    content apart from eventID, recordTime and errorDeclaration.
    """
    for pk, p in stored.items():
        if not p.is_declaration:
            continue
        original = session.scalar(
            select(EpcisEvent.id)
            .where(EpcisEvent.tenant_id == tenant_id, EpcisEvent.declared_at.is_(None))
            .where((EpcisEvent.event_id == p.event_id) | (EpcisEvent.content_key == p.content_key))
            .order_by(EpcisEvent.id)
            .limit(1)
        )
        if original is not None:
            session.execute(
                update(EpcisEvent)
                .where(EpcisEvent.id == pk)
                .values(corrects_id=original, group_id=original)
            )
    if all(p.is_declaration for p in stored.values()):
        return
    waiting = session.execute(
        select(EpcisEvent.id, EpcisEvent.event_id, EpcisEvent.content_key).where(
            EpcisEvent.tenant_id == tenant_id,
            EpcisEvent.declared_at.is_not(None),
            EpcisEvent.corrects_id.is_(None),
        )
    ).all()
    if not waiting:
        return
    by_id = {p.event_id: pk for pk, p in stored.items() if not p.is_declaration}
    by_content = {p.content_key: pk for pk, p in stored.items() if not p.is_declaration}
    for declaration_pk, event_id, key in waiting:
        original = by_id.get(event_id) or by_content.get(key)
        if original is not None:
            session.execute(
                update(EpcisEvent)
                .where(EpcisEvent.id == declaration_pk)
                .values(corrects_id=original, group_id=original)
            )


def _queue_for_subscriptions(session: Session, tenant_id: str, capture_id: str) -> None:
    """Outbox: every subscription of the tenant owes its subscriber a look at this capture."""
    subscriptions = list(
        session.scalars(
            select(EpcisSubscription.id).where(EpcisSubscription.tenant_id == tenant_id)
        )
    )
    if subscriptions:
        session.execute(
            insert(EpcisSubscriptionBacklog),
            [
                {
                    "subscription_id": s,
                    "capture_id": capture_id,
                    "after_pk": 0,
                    "created_at": utcnow(),
                }
                for s in subscriptions
            ],
        )
