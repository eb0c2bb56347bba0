"""Who may read which events: custody of items, as recorded by the events themselves.

The rule (docs/epcis.md, "Dealers"): an item is or was in the custody of organisation O
when an event about it

1. was captured with a dealer key of O, or
2. names, as a source or destination (owning or possessing party, location), as its
   bizLocation or as its readPoint, a GLN registered to O (``POST /v1/epcis/parties``);

and custody passes down containment: the children an aggregation event put in a parent
(transitively) share the parent's custody, whichever of the two events came first. Custody
is never taken away (the rule says "is or was"). A dealer reads an event when it was
captured by O, names one of O's GLNs, or is about an item in O's custody.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from trace_api.epcis.events import INSTANCE_ROLES, PreparedEvent
from trace_api.models import (
    EpcisContainment,
    EpcisCustody,
    EpcisEvent,
    EpcisEventEpc,
    EpcisEventParty,
    EpcisPartyIdentifier,
    Organisation,
)

_CHUNK = 500
ORG_URN = "urn:tracechain:org:"  # an organisation named directly (the dealer scan API)


def insert_ignoring_duplicates(
    session: Session, model: Any, rows: Sequence[dict[str, Any]]
) -> None:
    """INSERT rows, skipping those whose primary key exists already (both databases)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    for start in range(0, len(rows), 5000):
        session.execute(module.insert(model).on_conflict_do_nothing(), rows[start : start + 5000])


def _chunks(values: Iterable[str]) -> Iterable[list[str]]:
    items = list(values)
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def party_organisations(*, session: Session, tenant_id: str, parties: set[str]) -> dict[str, str]:
    """The organisation each registered party or location key stands for, and each
    ``urn:tracechain:org:{id}`` naming one of the tenant's organisations."""
    found: dict[str, str] = {}
    named = {p[len(ORG_URN) :]: p for p in parties if p.startswith(ORG_URN)}
    for chunk in _chunks(named):
        found.update(
            (named[org], org)
            for org in session.scalars(
                select(Organisation.id).where(
                    Organisation.tenant_id == tenant_id, Organisation.id.in_(chunk)
                )
            )
        )
    for chunk in _chunks(parties - set(named.values())):
        rows = session.execute(
            select(EpcisPartyIdentifier.identifier, EpcisPartyIdentifier.organisation_id).where(
                EpcisPartyIdentifier.tenant_id == tenant_id,
                EpcisPartyIdentifier.identifier.in_(chunk),
            )
        )
        found.update({identifier: org for identifier, org in rows})
    return found


def _children(session: Session, tenant_id: str, parents: set[str]) -> set[str]:
    """Every item held, directly or through cases and pallets, by one of ``parents``."""
    seen: set[str] = set()
    frontier = set(parents)
    while frontier:
        found: set[str] = set()
        for chunk in _chunks(frontier):
            found.update(
                session.scalars(
                    select(EpcisContainment.child).where(
                        EpcisContainment.tenant_id == tenant_id, EpcisContainment.parent.in_(chunk)
                    )
                )
            )
        frontier = found - seen - parents
        seen |= found
    return seen


def record_containment(
    *, session: Session, tenant_id: str, events: Sequence[PreparedEvent]
) -> set[str]:
    """Store the parent/child links of aggregation events; return the parents that gained."""
    added: list[dict[str, Any]] = []
    for prepared in events:
        event = prepared.event
        if prepared.event_type != "AggregationEvent" or prepared.is_declaration:
            continue
        parent = next((key for key, role in prepared.epcs if role == "p"), None)
        if parent is None:
            continue
        children = [key for key, role in prepared.epcs if role == "c"]
        if event.get("action") == "DELETE":
            query = delete(EpcisContainment).where(
                EpcisContainment.tenant_id == tenant_id, EpcisContainment.parent == parent
            )
            if children:
                query = query.where(EpcisContainment.child.in_(children))
            session.execute(query)
            continue
        added.extend({"tenant_id": tenant_id, "parent": parent, "child": c} for c in children)
    insert_ignoring_duplicates(session, EpcisContainment, added)
    return {row["parent"] for row in added}


def grant_custody(
    *,
    session: Session,
    tenant_id: str,
    events: Sequence[PreparedEvent],
    capturing_org: str | None,
    new_parents: set[str],
) -> None:
    """Record the custody these events establish (see the module docstring)."""
    parties = set().union(*(p.parties for p in events)) if events else set()
    owners = party_organisations(session=session, tenant_id=tenant_id, parties=parties)
    grants: dict[str, set[str]] = {}
    for prepared in events:
        orgs = {owners[p] for p in prepared.parties if p in owners}
        if capturing_org:
            orgs.add(capturing_org)
        for org in orgs:
            grants.setdefault(org, set()).update(prepared.items)
    for parent in new_parents:  # children put into a parent someone holds or held
        for org in session.scalars(
            select(EpcisCustody.organisation_id).where(
                EpcisCustody.tenant_id == tenant_id, EpcisCustody.epc == parent
            )
        ):
            grants.setdefault(org, set()).add(parent)
    rows = []
    for org, items in grants.items():
        for item in items | _children(session, tenant_id, items):
            rows.append({"tenant_id": tenant_id, "organisation_id": org, "epc": item})
    insert_ignoring_duplicates(session, EpcisCustody, rows)


def regrant_for_party(
    *, session: Session, tenant_id: str, party: str, organisation_id: str
) -> None:
    """Custody for events captured before ``party`` was registered to the organisation."""
    items = set(
        session.scalars(
            select(EpcisEventEpc.epc)
            .join(
                EpcisEventParty,
                and_(
                    EpcisEventParty.event_pk == EpcisEventEpc.event_pk,
                    EpcisEventParty.tenant_id == EpcisEventEpc.tenant_id,
                ),
            )
            .where(
                EpcisEventParty.tenant_id == tenant_id,
                EpcisEventParty.party == party,
                EpcisEventEpc.role.in_(INSTANCE_ROLES),
            )
        )
    )
    rows = [
        {"tenant_id": tenant_id, "organisation_id": organisation_id, "epc": item}
        for item in items | _children(session, tenant_id, items)
    ]
    insert_ignoring_duplicates(session, EpcisCustody, rows)


def visible_to(tenant_id: str, organisation_id: str) -> ColumnElement[bool]:
    """The condition on EpcisEvent rows a dealer of ``organisation_id`` may read.

    Written as IN (subquery) rather than correlated EXISTS, so both databases can drive
    the query from the custody and party indexes instead of probing every event.
    """
    about_custody = (
        select(EpcisEventEpc.event_pk)
        .join(
            EpcisCustody,
            and_(
                EpcisCustody.tenant_id == EpcisEventEpc.tenant_id,
                EpcisCustody.epc == EpcisEventEpc.epc,
            ),
        )
        .where(
            EpcisCustody.tenant_id == tenant_id,
            EpcisCustody.organisation_id == organisation_id,
            EpcisEventEpc.role.in_(INSTANCE_ROLES),
        )
    )
    names_party = (
        select(EpcisEventParty.event_pk)
        .join(
            EpcisPartyIdentifier,
            and_(
                EpcisPartyIdentifier.tenant_id == EpcisEventParty.tenant_id,
                EpcisPartyIdentifier.identifier == EpcisEventParty.party,
            ),
        )
        .where(
            EpcisPartyIdentifier.tenant_id == tenant_id,
            EpcisPartyIdentifier.organisation_id == organisation_id,
        )
    )
    return or_(
        EpcisEvent.organisation_id == organisation_id,
        EpcisEvent.id.in_(names_party),
        EpcisEvent.id.in_(about_custody),
    )
