"""The EPCIS repository's rules: capture jobs, event queries, named queries, parties.

Services take keyword-only arguments and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from trace_api.audit import log as audit_log
from trace_api.epcis import capture, custody, hashing, identifiers, parameters, query, validation
from trace_api.epcis.errors import (
    CaptureLimitExceeded,
    EpcisForbidden,
    EpcisValidationError,
    NoSuchResource,
    QueryParameterError,
    ResourceExists,
)
from trace_api.epcis.events import format_time
from trace_api.epcis.query import Page, Viewer
from trace_api.epcis.stored import Capturer, OnStored
from trace_api.errors import InvalidInput
from trace_api.models import (
    EpcisCaptureJob,
    EpcisEvent,
    EpcisPartyIdentifier,
    EpcisQuery,
    EpcisSubscription,
    EpcisSubscriptionBacklog,
)
from trace_api.owned import get_owned
from trace_api.tenancy import service as tenancy_service

DEFAULT_PER_PAGE = 30  # GS1's default for perPage


@dataclass(frozen=True)
class CaptureRequest:
    """A checked capture document: its events and @context, ready for a job."""

    events: list[dict[str, Any]]
    context: Any


def check_document(document: Any, *, capture_limit: int, file_size_limit: int) -> CaptureRequest:
    """The events of a valid capture document; 413 above the limits, 400 when invalid."""
    events = validation.event_list(document) if isinstance(document, dict) else []
    if len(events) > capture_limit:
        raise CaptureLimitExceeded(
            f"the document holds {len(events)} events; this repository captures at most "
            f"{capture_limit} per request",
            headers=limit_headers(capture_limit, file_size_limit),
            limit=capture_limit,
        )
    validation.raise_for(validation.document_problems(document))
    return CaptureRequest(events=events, context=document.get("@context"))


def limit_headers(capture_limit: int, file_size_limit: int) -> dict[str, str]:
    """The headers that announce the capture limits."""
    return {
        "GS1-EPCIS-Capture-Limit": str(capture_limit),
        "GS1-EPCIS-Capture-File-Size-Limit": str(file_size_limit),
    }


def start_capture(
    *, session: Session, capturer: Capturer, request: CaptureRequest, behaviour: str
) -> EpcisCaptureJob:
    """The job row of a capture (running until ``run_capture`` finishes it)."""
    return capture.start_job(
        session=session, capturer=capturer, behaviour=behaviour, event_count=len(request.events)
    )


def run_capture(
    *,
    session: Session,
    job: EpcisCaptureJob,
    capturer: Capturer,
    request: CaptureRequest,
    on_stored: OnStored,
) -> capture.CaptureOutcome:
    """Store the request's events under ``job`` in the caller's transaction; ``on_stored``
    hears of those stored."""
    return capture.run(
        session=session,
        job=job,
        capturer=capturer,
        events=request.events,
        context=request.context,
        on_stored=on_stored,
    )


def capture_event(
    *, session: Session, capturer: Capturer, event: Any, on_stored: OnStored
) -> EpcisEvent:
    """POST /events: one event, captured at once; 409 when its eventID is taken."""
    validation.raise_for(validation.event_problems(event))
    context = event.get("@context") if isinstance(event, dict) else None
    request = CaptureRequest(events=[event], context=context)
    job = start_capture(session=session, capturer=capturer, request=request, behaviour="rollback")
    outcome = run_capture(
        session=session, job=job, capturer=capturer, request=request, on_stored=on_stored
    )
    if outcome.rejected:
        first = outcome.rejected[0]
        if first.kind == "duplicate":
            raise ResourceExists(first.detail)
        raise EpcisValidationError(first.detail, errors=[r.problem() for r in outcome.rejected])
    row = session.scalar(
        select(EpcisEvent).where(EpcisEvent.capture_id == job.id).order_by(EpcisEvent.id)
    )
    if row is None:  # an identical event was captured before: answer with that one
        row = session.scalar(
            select(EpcisEvent)
            .where(EpcisEvent.tenant_id == capturer.tenant_id)
            .where(EpcisEvent.digest == hashing.content_digest(event))
            .order_by(EpcisEvent.id)
        )
    assert row is not None
    return row


def job_out(job: EpcisCaptureJob) -> dict[str, Any]:
    """A capture job as GS1's CaptureJob schema shows it."""
    out: dict[str, Any] = {
        "captureID": job.id,
        "createdAt": format_time(job.created_at),
        "running": job.running,
        "success": job.success,
        "captureErrorBehaviour": job.error_behaviour,
        "errors": json.loads(job.errors),
        "eventCount": job.event_count,
        "storedCount": job.stored_count,
    }
    if job.finished_at is not None:
        out["finishedAt"] = format_time(job.finished_at)
    return out


def get_job(*, session: Session, tenant_id: str, capture_id: str) -> EpcisCaptureJob:
    """One of the tenant's capture jobs; another tenant's is not found."""
    return get_owned(
        session,
        EpcisCaptureJob,
        capture_id,
        tenant_id=tenant_id,
        noun="capture job",
        missing=NoSuchResource,
    )


def list_jobs(
    *, session: Session, tenant_id: str, per_page: int, after: str | None
) -> tuple[list[EpcisCaptureJob], str | None]:
    """The tenant's capture jobs, newest first, paged by job id order."""
    statement = select(EpcisCaptureJob).where(EpcisCaptureJob.tenant_id == tenant_id)
    if after:
        anchor = session.get(EpcisCaptureJob, after)
        if anchor is None or anchor.tenant_id != tenant_id:
            raise QueryParameterError("nextPageToken is not a token of this listing")
        statement = statement.where(
            (EpcisCaptureJob.created_at < anchor.created_at)
            | ((EpcisCaptureJob.created_at == anchor.created_at) & (EpcisCaptureJob.id < anchor.id))
        )
    statement = statement.order_by(EpcisCaptureJob.created_at.desc(), EpcisCaptureJob.id.desc())
    jobs = list(session.scalars(statement.limit(per_page + 1)))
    return jobs[:per_page], (jobs[per_page - 1].id if len(jobs) > per_page else None)


def fingerprint(viewer: Viewer, params: Mapping[str, Any], fixed: Mapping[str, Any]) -> str:
    """What a page token is bound to: the viewer and the query's parameters."""
    material = {
        "t": viewer.tenant_id,
        "o": viewer.organisation_id,
        "p": {k: v for k, v in params.items() if k not in parameters.PAGING},
        "x": dict(fixed),
    }
    text = json.dumps(material, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def query_events(
    *,
    session: Session,
    viewer: Viewer,
    params: Mapping[str, Any],
    fixed: Mapping[str, Any] | None = None,
    per_page: int,
    token: str | None,
) -> Page:
    """One page of the events the parameters select, as the viewer may see them."""
    fixed = fixed or {}
    parsed = parameters.parse(params, fixed=fixed)
    return query.run(
        session=session,
        viewer=viewer,
        query=parsed,
        per_page=per_page,
        token=token,
        fingerprint=fingerprint(viewer, params, fixed),
    )


def get_event(*, session: Session, viewer: Viewer, event_id: str) -> Page:
    """The event with ``event_id`` and its error declarations; 404 when not visible."""
    page = query_events(
        session=session, viewer=viewer, params={"EQ_eventID": [event_id]}, per_page=50, token=None
    )
    if not page.rows:
        raise NoSuchResource(f"no event {event_id}")
    return page


# -- named queries ------------------------------------------------------------------------


def create_query(
    *, session: Session, tenant_id: str, name: str, definition: Any, actor: str
) -> EpcisQuery:
    """A named query; its parameters are checked now, 409 when the name is taken."""
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise QueryParameterError("name must be a non-empty string of at most 200 characters")
    if not isinstance(definition, dict):
        raise QueryParameterError("query must be a JSON object of EPCIS query parameters")
    parameters.parse(definition)
    if session.scalar(
        select(EpcisQuery.id).where(EpcisQuery.tenant_id == tenant_id, EpcisQuery.name == name)
    ):
        raise ResourceExists(f"a query named {name!r} exists already")
    record = EpcisQuery(
        tenant_id=tenant_id,
        name=name,
        query=json.dumps(definition, ensure_ascii=False),
        created_by=actor,
    )
    session.add(record)
    try:
        session.flush()
    except IntegrityError:
        raise ResourceExists(f"a query named {name!r} exists already") from None
    audit_log.append(
        session=session,
        tenant_id=tenant_id,
        kind="epcis.query_created",
        actor=actor,
        data={"name": name, "query": definition},
    )
    return record


def get_query(*, session: Session, tenant_id: str, name: str) -> EpcisQuery:
    """One of the tenant's named queries."""
    record = session.scalar(
        select(EpcisQuery).where(EpcisQuery.tenant_id == tenant_id, EpcisQuery.name == name)
    )
    if record is None:
        raise NoSuchResource(f"no query named {name!r}")
    return record


def list_queries(
    *, session: Session, tenant_id: str, per_page: int, after: str | None
) -> tuple[list[EpcisQuery], str | None]:
    """The tenant's named queries by name, paged."""
    statement = select(EpcisQuery).where(EpcisQuery.tenant_id == tenant_id)
    if after:
        statement = statement.where(EpcisQuery.name > after)
    records = list(session.scalars(statement.order_by(EpcisQuery.name).limit(per_page + 1)))
    return records[:per_page], (records[per_page - 1].name if len(records) > per_page else None)


def delete_query(
    *, session: Session, tenant_id: str, name: str, actor: str, others_too: bool
) -> None:
    """Remove a named query and every subscription to it. Only the key that made it may,
    unless ``others_too`` (the caller's role manages every key's queries)."""
    record = get_query(session=session, tenant_id=tenant_id, name=name)
    if not others_too and record.created_by != actor:
        raise EpcisForbidden("only admins, operators and the key that made it delete a query")
    for subscription in session.scalars(
        select(EpcisSubscription).where(EpcisSubscription.query_id == record.id)
    ):
        session.query(EpcisSubscriptionBacklog).filter_by(subscription_id=subscription.id).delete()
        session.delete(subscription)
    session.flush()
    session.delete(record)
    session.flush()
    audit_log.append(
        session=session,
        tenant_id=tenant_id,
        kind="epcis.query_deleted",
        actor=actor,
        data={"name": name},
    )


def query_out(record: EpcisQuery) -> dict[str, Any]:
    """A named query as GS1's QueryDefinition shows it."""
    return {"name": record.name, "query": json.loads(record.query)}


# -- parties ------------------------------------------------------------------------------


def register_party(
    *, session: Session, tenant_id: str, organisation_id: str, identifier: str, actor: str
) -> EpcisPartyIdentifier:
    """Say that a GLN (party or location, URN or Digital Link) stands for an organisation."""
    org = tenancy_service.get_organisation(
        session=session, tenant_id=tenant_id, organisation_id=organisation_id
    )
    key = identifiers.canonical(identifier)
    if not key.startswith(identifiers.CANONICAL_BASE + "/41"):
        raise InvalidInput(
            f"{identifier!r} is not a GLN: give urn:epc:id:pgln:..., urn:epc:id:sgln:... or "
            "a Digital Link with AI 417 or 414"
        )
    existing = session.get(EpcisPartyIdentifier, (tenant_id, key))
    if existing is not None:
        if existing.organisation_id != organisation_id:
            raise ResourceExists(f"{identifier} is registered to another organisation")
        return existing
    record = EpcisPartyIdentifier(tenant_id=tenant_id, identifier=key, organisation_id=org.id)
    session.add(record)
    session.flush()
    custody.regrant_for_party(
        session=session, tenant_id=tenant_id, party=key, organisation_id=org.id
    )
    audit_log.append(
        session=session,
        tenant_id=tenant_id,
        kind="epcis.party_registered",
        actor=actor,
        organisation_id=org.id,
        data={"identifier": key, "organisation_id": org.id},
    )
    return record


def list_parties(*, session: Session, tenant_id: str) -> list[EpcisPartyIdentifier]:
    """The tenant's registered GLNs."""
    return list(
        session.scalars(
            select(EpcisPartyIdentifier)
            .where(EpcisPartyIdentifier.tenant_id == tenant_id)
            .order_by(EpcisPartyIdentifier.identifier)
        )
    )
