"""The binding's top-level resources (eventTypes, epcs, bizSteps, bizLocations, readPoints,
dispositions): which values exist, and the collection of each, as a viewer sees them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trace_api.epcis import hashing, identifiers
from trace_api.epcis.query import Viewer
from trace_api.models import EpcisCustody, EpcisEvent, EpcisEventEpc

EVENT_TYPES = [
    "AggregationEvent",
    "AssociationEvent",
    "ObjectEvent",
    "TransactionEvent",
    "TransformationEvent",
]
_VOCABULARIES = {"bizSteps": "bizStep", "dispositions": "disposition"}
_COLUMNS: dict[str, Any] = {
    "bizSteps": EpcisEvent.biz_step,
    "dispositions": EpcisEvent.disposition,
    "readPoints": EpcisEvent.read_point,
    "bizLocations": EpcisEvent.biz_location,
}


def is_member(*, session: Session, view: Viewer, resource: str, value: str) -> bool:
    """Whether ``value`` is one of the resource's: a standard term, or used by an event
    of the tenant."""
    column: Any
    if resource == "eventTypes":
        column = EpcisEvent.event_type
        if value in EVENT_TYPES:
            return True
    elif resource == "bizSteps":
        column, value = EpcisEvent.biz_step, identifiers.cbv_term(value)
        if value in hashing.vocabulary("bizStep"):
            return True
    elif resource == "dispositions":
        column, value = EpcisEvent.disposition, identifiers.cbv_term(value)
        if value in hashing.vocabulary("disposition"):
            return True
    elif resource == "readPoints":
        column, value = EpcisEvent.read_point, identifiers.canonical(value)
    elif resource == "bizLocations":
        column, value = EpcisEvent.biz_location, identifiers.canonical(value)
    else:
        found = session.scalar(
            select(EpcisEventEpc.event_pk)
            .where(
                EpcisEventEpc.tenant_id == view.tenant_id,
                EpcisEventEpc.epc == identifiers.canonical(value),
            )
            .limit(1)
        )
        return found is not None
    return (
        session.scalar(
            select(EpcisEvent.id)
            .where(EpcisEvent.tenant_id == view.tenant_id, column == value)
            .limit(1)
        )
        is not None
    )


def members(
    *, session: Session, view: Viewer, resource: str, after: str, limit: int
) -> tuple[list[str], bool]:
    """The resource's values after ``after``, at most ``limit``, and whether more follow.

    The first page of bizSteps and dispositions is the CBV's vocabulary followed by the
    other values the events use, unpaged; eventTypes are the standard's five. A dealer
    lists only the items of its custody as epcs."""
    if resource == "eventTypes":
        return list(EVENT_TYPES), False
    column = _COLUMNS.get(resource)
    if column is not None:
        statement = (
            select(column)
            .distinct()
            .where(EpcisEvent.tenant_id == view.tenant_id, column.is_not(None), column > after)
        )
    elif view.organisation_id is not None:
        statement = select(EpcisCustody.epc).where(
            EpcisCustody.tenant_id == view.tenant_id,
            EpcisCustody.organisation_id == view.organisation_id,
            EpcisCustody.epc > after,
        )
        column = EpcisCustody.epc
    else:
        statement = (
            select(EpcisEventEpc.epc)
            .distinct()
            .where(EpcisEventEpc.tenant_id == view.tenant_id, EpcisEventEpc.epc > after)
        )
        column = EpcisEventEpc.epc
    used = [str(v) for v in session.scalars(statement.order_by(column).limit(limit + 1))]
    if resource in _VOCABULARIES and not after:
        vocabulary = hashing.vocabulary(_VOCABULARIES[resource])
        return vocabulary + [u for u in used if u not in vocabulary], False
    return used[:limit], len(used) > limit
