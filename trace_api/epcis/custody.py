"""Who may read which events: custody of items, as recorded by the events themselves.

The rule (docs/epcis.md, "Dealers"): an item is or was in the custody of organisation O
when an event about it names O, as a source or destination (owning or possessing party,
location), as its bizLocation or as its readPoint: by a GLN registered to O (``POST
/v1/epcis/parties``) or as ``urn:tracechain:org:{id}`` (the dealer scan API). Capturing
an event is not enough: a dealer who knows a serial could otherwise read the item's whole
history, business transactions included, by recording that it looked at it. Naming itself
as holder is a claim the route checks hold it to (`trace_api/movements`).

Custody passes down containment: the children an aggregation event put in a parent
(transitively) share the parent's custody, whichever of the two events came first. Custody
is never taken away (the rule says "is or was"). A dealer reads an event when it was
captured by O, names one of O's GLNs, or is about an item in O's custody.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, or_, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from trace_api.epcis import sql
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
    new_parents: set[str],
) -> None:
    """Record the custody these events establish (see the module docstring).

    Custody of a parent always comes with custody of everything inside it (this function
    and ``regrant_for_party`` grant both together, and a child packed into a held parent
    is granted to the parent's holders), so a key the organisation holds already is
    skipped with its contents: moving a pallet down the channel writes its 1,000 items
    once per new holder, not once per event.
    """
    parties = set().union(*(p.parties for p in events)) if events else set()
    owners = party_organisations(session=session, tenant_id=tenant_id, parties=parties)
    grants: dict[str, set[str]] = {}
    for prepared in events:
        orgs = {owners[p] for p in prepared.parties if p in owners}
        for org in orgs:
            grants.setdefault(org, set()).update(prepared.items)
    forced: dict[str, set[str]] = {}
    for parent in new_parents:  # children put into a parent someone holds or held
        for org in session.scalars(
            select(EpcisCustody.organisation_id).where(
                EpcisCustody.tenant_id == tenant_id, EpcisCustody.epc == parent
            )
        ):
            forced.setdefault(org, set()).add(parent)
    fresh: dict[str, set[str]] = {}
    for org in grants.keys() | forced.keys():
        named = grants.get(org, set()) | forced.get(org, set())
        new = named - _held(session, tenant_id, org, named)
        fresh[org] = new | (named & new_parents)
    for org, roots in fresh.items():
        _grant_with_contents(session, tenant_id, org, roots)


# Custody of some keys and of everything inside them, in one statement: the containment
# tree is walked by the database, and the keys go as one parameter (an array, JSON text).
_GRANT_POSTGRES = """
WITH RECURSIVE goods(epc) AS (
    SELECT unnest(CAST(:roots AS text[]))
    UNION
    SELECT c.child FROM epcis_containment c JOIN goods g ON c.parent = g.epc
    WHERE c.tenant_id = :tenant
)
INSERT INTO epcis_custody (tenant_id, organisation_id, epc)
SELECT :tenant, :org, epc FROM goods
ON CONFLICT DO NOTHING
"""
_GRANT_SQLITE = """
WITH RECURSIVE goods(epc) AS (
    SELECT value FROM json_each(:roots)
    UNION
    SELECT c.child FROM epcis_containment c JOIN goods g ON c.parent = g.epc
    WHERE c.tenant_id = :tenant
)
INSERT OR IGNORE INTO epcis_custody (tenant_id, organisation_id, epc)
SELECT :tenant, :org, epc FROM goods
"""


def _grant_with_contents(session: Session, tenant_id: str, org: str, roots: set[str]) -> None:
    """Custody of ``roots`` and of everything packed inside them for ``org`` (rows it has
    already are skipped)."""
    postgres = sql.is_postgres(session)
    for batch in sql.batches(sorted(roots)):
        session.execute(
            text(_GRANT_POSTGRES if postgres else _GRANT_SQLITE),
            {"roots": batch if postgres else json.dumps(batch), "tenant": tenant_id, "org": org},
        )


def _held(session: Session, tenant_id: str, org: str, keys: set[str]) -> set[str]:
    """Those of ``keys`` in ``org``'s custody already."""
    held: set[str] = set()
    for chunk in _chunks(keys):
        held.update(
            session.scalars(
                select(EpcisCustody.epc).where(
                    EpcisCustody.tenant_id == tenant_id,
                    EpcisCustody.organisation_id == org,
                    EpcisCustody.epc.in_(chunk),
                )
            )
        )
    return held


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
    _grant_with_contents(session, tenant_id, organisation_id, items)


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
