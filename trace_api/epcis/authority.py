"""A dealer's key records what its own organisation did, not what another one did.

A dealer may name other parties where they are the other side of its act (the shipper of
goods it receives, the receiver of goods it ships), never as the actor: the source of a
shipment, a return or a sale, or the destination of a receipt. Otherwise a dealer could
record a shipment in another party's name, move goods it never held, and have the route
checks blame that party.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from trace_api.epcis import identifiers
from trace_api.epcis.custody import party_organisations
from trace_api.epcis.events import PreparedEvent

# bizStep -> the list whose parties act in it
_ACTING_LIST = {
    "shipping": ("sourceList", "source"),
    "departing": ("sourceList", "source"),
    "returning": ("sourceList", "source"),
    "retail_selling": ("sourceList", "source"),
    "receiving": ("destinationList", "destination"),
    "arriving": ("destinationList", "destination"),
    "accepting": ("destinationList", "destination"),
}


def _acting_parties(prepared: PreparedEvent) -> list[str]:
    acting = _ACTING_LIST.get(prepared.biz_step or "")
    if acting is None:
        return []
    name, member = acting
    return [
        identifiers.canonical(element[member])
        for element in prepared.event.get(name) or []
        if isinstance(element, dict) and isinstance(element.get(member), str)
    ]


def foreign_acts(
    *, session: Session, tenant_id: str, organisation_id: str, events: Sequence[PreparedEvent]
) -> list[tuple[PreparedEvent, str]]:
    """The events in which ``organisation_id`` records another organisation acting, each
    with the reason."""
    acting = {p.index: _acting_parties(p) for p in events}
    wanted = {party for parties in acting.values() for party in parties}
    if not wanted:
        return []
    owners = party_organisations(session=session, tenant_id=tenant_id, parties=wanted)
    found: list[tuple[PreparedEvent, str]] = []
    for prepared in events:
        for party in acting[prepared.index]:
            owner: Any = owners.get(party)
            if owner is not None and owner != organisation_id:
                found.append(
                    (
                        prepared,
                        f"a dealer key records its own organisation's acts: {party} stands "
                        f"for another organisation and cannot be the party {prepared.biz_step}",
                    )
                )
                break
    return found
