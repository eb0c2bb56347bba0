"""The dealer scan API: ship / receive / sell / pack / unpack as EPCIS 2.0 documents.

Each call builds the document a GS1 scanner would send and runs it through the EPCIS
capture service in the request's transaction, so it is validated, stored, logged, moved
and checked exactly like a capture. A retry with the same ``event_id`` stores nothing new.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trace_api.channels import divisions
from trace_api.epcis import identifiers
from trace_api.epcis import service as epcis_service
from trace_api.epcis.custody import ORG_URN
from trace_api.epcis.events import DEFAULT_CONTEXT, format_time
from trace_api.epcis.stored import Capturer, OnStored
from trace_api.errors import Conflict, Forbidden, InvalidInput, NotFound
from trace_api.models import DiversionAlert, EpcisEvent, EpcisPartyIdentifier, Organisation, utcnow
from trace_api.movements import codes as item_codes
from trace_api.movements.steps import TC_NAMESPACE
from trace_api.settings import Settings
from trace_api.tenancy import service as tenancy_service
from trace_api.tenancy.service import Principal

ACTIONS = ("ship", "receive", "sell", "pack", "unpack")
_OBJECT_STEPS = {
    "ship": ("shipping", "in_transit"),
    "receive": ("receiving", "in_progress"),
    "sell": ("retail_selling", "retail_sold"),
}
_PGLN_PREFIX = "https://id.gs1.org/417/"


@dataclass(frozen=True)
class ScanCall:
    """One scan call, as checked by the schema (codes still as given)."""

    action: str
    codes: list[str]
    to: str | None = None
    from_: str | None = None
    parent: str | None = None
    division: str | None = None
    lat: float | None = None
    lon: float | None = None
    at: datetime | None = None
    event_id: str | None = None


@dataclass
class ScanOutcome:
    """What the capture did: its job, the event, whether it was a repeat, the alerts."""

    capture_id: str
    event_ids: list[str]
    stored: int
    duplicate: bool
    alerts: list[DiversionAlert]
    document: dict[str, Any]


def scan(
    *,
    session: Session,
    principal: Principal,
    settings: Settings,
    call: ScanCall,
    on_stored: OnStored,
) -> ScanOutcome:
    """Capture the scan as an EPCIS event (see the module docstring); ``on_stored`` is the
    hook the application gives every capture."""
    tenant_id = principal.tenant_id
    actor = _acting_organisation(session, principal, call)
    event = _event(session, tenant_id, actor, call)
    document = {
        "@context": [DEFAULT_CONTEXT, {"tc": TC_NAMESPACE}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": format_time(utcnow()),
        "epcisBody": {"eventList": [event]},
    }
    checked = epcis_service.check_document(
        document,
        capture_limit=settings.epcis_capture_limit,
        file_size_limit=settings.epcis_capture_file_size_limit,
    )
    capturer = Capturer(
        tenant_id,
        principal.key_id,
        principal.organisation_id if principal.role == "dealer" else None,
        route_checks=settings.route_checks,
    )
    job = epcis_service.start_capture(
        session=session, capturer=capturer, request=checked, behaviour="rollback"
    )
    outcome = epcis_service.run_capture(
        session=session, job=job, capturer=capturer, request=checked, on_stored=on_stored
    )
    if outcome.rejected:
        first = outcome.rejected[0]
        if first.kind == "duplicate":
            raise Conflict(f"{first.detail}: use a new event_id for a different scan")
        raise InvalidInput(first.detail, errors=[r.problem() for r in outcome.rejected])
    pk = session.scalar(
        select(EpcisEvent.id).where(
            EpcisEvent.tenant_id == tenant_id,
            EpcisEvent.event_id == event["eventID"],
            EpcisEvent.declared_at.is_(None),
        )
    )
    alerts = list(
        session.scalars(
            select(DiversionAlert)
            .where(DiversionAlert.tenant_id == tenant_id, DiversionAlert.event_pk == pk)
            .order_by(DiversionAlert.created_at, DiversionAlert.id)
        )
    )
    return ScanOutcome(
        capture_id=job.id,
        event_ids=[event["eventID"]],
        stored=job.stored_count,
        duplicate=job.stored_count == 0,
        alerts=alerts,
        document=document,
    )


def _organisation(session: Session, tenant_id: str, org_id: str, what: str) -> Organisation:
    try:
        return tenancy_service.get_organisation(
            session=session, tenant_id=tenant_id, organisation_id=org_id
        )
    except NotFound as missing:
        raise NotFound(f"{what}: {missing.detail}") from None


def _acting_organisation(session: Session, principal: Principal, call: ScanCall) -> str:
    if principal.role == "dealer":
        own = principal.organisation_id
        assert own is not None  # dealer keys are bound to an organisation
        if call.from_ is not None and call.from_ != own:
            raise Forbidden("a dealer key scans as its own organisation; leave 'from' out")
        return own
    if call.from_ is None:
        raise InvalidInput("name the scanning organisation in 'from' (an organisation id)")
    return _organisation(session, principal.tenant_id, call.from_, "from").id


def party_uri(session: Session, tenant_id: str, org_id: str) -> str:
    """How an event names an organisation: its registered PGLN, or its organisation URN."""
    gln = session.scalar(
        select(EpcisPartyIdentifier.identifier)
        .where(
            EpcisPartyIdentifier.tenant_id == tenant_id,
            EpcisPartyIdentifier.organisation_id == org_id,
            EpcisPartyIdentifier.identifier.startswith(_PGLN_PREFIX),
        )
        .order_by(EpcisPartyIdentifier.identifier)
        .limit(1)
    )
    return gln or ORG_URN + org_id


def _event(session: Session, tenant_id: str, actor: str, call: ScanCall) -> dict[str, Any]:
    if call.action not in ACTIONS:
        raise NotFound(f"no scan action {call.action!r}: use one of {', '.join(ACTIONS)}")
    needs_codes = call.action != "unpack"
    if needs_codes and not call.codes:
        raise InvalidInput(f"'{call.action}' needs at least one code in 'codes'")
    keys = item_codes.keys_of(session, tenant_id, call.codes)
    if len(set(keys)) != len(keys):
        raise InvalidInput("'codes' names the same item twice")
    if call.division is not None:
        try:
            divisions.lookup(call.division)
        except divisions.InvalidDivision as exc:
            raise InvalidInput(f"division: {exc}") from None
    if (call.lat is None) != (call.lon is None):
        raise InvalidInput("give both lat and lon, or neither")
    event_id = call.event_id or f"urn:uuid:{uuid.uuid4()}"
    at = call.at or _time_of_earlier(session, tenant_id, call.event_id) or utcnow()
    me = party_uri(session, tenant_id, actor)
    event: dict[str, Any] = {
        "eventID": event_id,
        "eventTime": format_time(at),
        "eventTimeZoneOffset": "+00:00",
    }
    if call.action in _OBJECT_STEPS:
        step, disposition = _OBJECT_STEPS[call.action]
        event = {
            "type": "ObjectEvent",
            **event,
            "epcList": keys,
            "action": "OBSERVE",
            "bizStep": step,
            "disposition": disposition,
        }
        if call.action == "ship":
            if call.to is None:
                raise InvalidInput("'ship' needs 'to': the receiving organisation's id")
            if call.to == actor:
                raise InvalidInput("'to' is the shipping organisation itself")
            target = _organisation(session, tenant_id, call.to, "to").id
            event["sourceList"] = [{"type": "owning_party", "source": me}]
            event["destinationList"] = [
                {"type": "owning_party", "destination": party_uri(session, tenant_id, target)}
            ]
        elif call.action == "receive":
            event["destinationList"] = [{"type": "owning_party", "destination": me}]
        else:
            event["sourceList"] = [{"type": "owning_party", "source": me}]
    else:
        if call.parent is None:
            raise InvalidInput(f"'{call.action}' needs 'parent': the case or pallet SSCC")
        parent = identifiers.sscc_key(call.parent)
        if parent is None:
            raise InvalidInput(f"parent ({call.parent}) is not an SSCC")
        if parent in keys:
            raise InvalidInput("a container cannot hold itself")
        event = {
            "type": "AggregationEvent",
            **event,
            "parentID": parent,
            "childEPCs": keys,
            "action": "ADD" if call.action == "pack" else "DELETE",
            "bizStep": "packing" if call.action == "pack" else "unpacking",
            "sourceList": [{"type": "owning_party", "source": me}],
        }
    if call.lat is not None and call.lon is not None:
        event["readPoint"] = {"id": f"geo:{call.lat:.6f},{call.lon:.6f}"}
    if call.division is not None:
        event["tc:division"] = call.division
    return event


def _time_of_earlier(session: Session, tenant_id: str, event_id: str | None) -> datetime | None:
    """The time of an event already captured under ``event_id`` (a retry keeps it)."""
    if event_id is None:
        return None
    return session.scalar(
        select(EpcisEvent.event_time)
        .where(EpcisEvent.tenant_id == tenant_id, EpcisEvent.event_id == event_id)
        .limit(1)
    )
