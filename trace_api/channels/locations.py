"""Locations: the division each GLN (a place or a party) stands in, so an event read at it
is placed (docs/channels.md, "Parties in events").

Services never commit: the caller owns the transaction (one per request or job).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from trace_api.audit import log as audit_log
from trace_api.channels.territories import check_division
from trace_api.epcis import identifiers
from trace_api.errors import InvalidInput
from trace_api.models import ChannelLocation

_GLN_KEYS = (identifiers.CANONICAL_BASE + "/414/", identifiers.CANONICAL_BASE + "/417/")


def location_key(identifier: str) -> str:
    """The canonical key of a location or party GLN; InvalidInput for anything else."""
    key = identifiers.canonical(identifier)
    if not key.startswith(_GLN_KEYS):
        raise InvalidInput(
            f"{identifier!r} is not a GLN: give urn:epc:id:sgln:..., urn:epc:id:pgln:... or "
            "a GS1 Digital Link with AI 414 or 417",
            invalid=[identifier],
        )
    return key


def set_locations(
    *, session: Session, tenant_id: str, locations: Sequence[tuple[str, str | None]], actor: str
) -> list[ChannelLocation]:
    """Set (or with None, remove) the division of each identifier given; others stay."""
    wanted: dict[str, str | None] = {}
    problems = []
    for identifier, code in locations:
        try:
            key = location_key(identifier)
            if code is not None:
                check_division(code)
        except InvalidInput as exc:
            problems.append({"identifier": identifier, "reason": exc.detail})
            continue
        if key in wanted and wanted[key] != code:
            problems.append({"identifier": identifier, "reason": "given twice, differently"})
        wanted[key] = code
    if problems:
        raise InvalidInput(
            "invalid locations: "
            + "; ".join(f"{p['identifier']!r} ({p['reason']})" for p in problems),
            invalid=problems,
        )
    current = {
        row.identifier: row.division_code
        for row in session.scalars(
            select(ChannelLocation).where(
                ChannelLocation.tenant_id == tenant_id,
                ChannelLocation.identifier.in_(list(wanted)),
            )
        )
    }
    changes = [
        (key, code, current.get(key))
        for key, code in sorted(wanted.items())
        if current.get(key) != code
    ]
    for key, code, previous in changes:
        where = (ChannelLocation.tenant_id == tenant_id, ChannelLocation.identifier == key)
        if code is None:
            session.execute(delete(ChannelLocation).where(*where))
        elif previous is None:
            session.add(ChannelLocation(tenant_id=tenant_id, identifier=key, division_code=code))
        else:
            session.execute(update(ChannelLocation).where(*where).values(division_code=code))
    session.flush()
    if changes:
        audit_log.append(
            session=session,
            tenant_id=tenant_id,
            kind="channel.locations_set",
            actor=actor,
            items=[key for key, _, _ in changes],
            data={
                "locations": [
                    {"identifier": key, "division_code": code, "previous": previous}
                    for key, code, previous in changes
                ]
            },
        )
    return list_locations(session=session, tenant_id=tenant_id)


def list_locations(*, session: Session, tenant_id: str) -> list[ChannelLocation]:
    """The tenant's located identifiers."""
    query = select(ChannelLocation).where(ChannelLocation.tenant_id == tenant_id)
    return list(session.scalars(query.order_by(ChannelLocation.identifier)))
