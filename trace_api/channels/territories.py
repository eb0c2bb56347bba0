"""Territories: the administrative divisions (GB/T 2260) and geofences an organisation
is authorised in, its own or inherited down the tree (docs/channels.md).

Services never commit: the caller owns the transaction (one per request or job).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trace_api.audit import log as audit_log
from trace_api.channels import divisions, geofence
from trace_api.channels.inheritance import Inherited, inherited, organisations, replace_own_rows
from trace_api.channels.text import plain_text
from trace_api.channels.visibility import check_readable
from trace_api.errors import InvalidInput, NotFound
from trace_api.models import ChannelGeofence, ChannelTerritory
from trace_api.tenancy import service as tenancy_service


def division_name(code: str) -> str:
    """The display name of a division code (the code itself if the table lacks it)."""
    try:
        return divisions.display_name(code)
    except ValueError:
        return code


def check_division(code: str) -> str:
    """A division code of the table, or InvalidInput saying why not."""
    try:
        divisions.lookup(code)
    except divisions.InvalidDivision as exc:
        raise InvalidInput(f"division {code!r}: {exc}", invalid=[code]) from None
    return code


def territories_by_org(*, session: Session, tenant_id: str) -> dict[str, list[str]]:
    """Every organisation's own territories."""
    out: dict[str, list[str]] = {}
    rows = session.execute(
        select(ChannelTerritory.organisation_id, ChannelTerritory.division_code).where(
            ChannelTerritory.tenant_id == tenant_id
        )
    )
    for org_id, code in rows:
        out.setdefault(org_id, []).append(code)
    return out


def effective_territories(*, session: Session, tenant_id: str, organisation_id: str) -> Inherited:
    """The divisions the rules use for an organisation: the territory (divisions and
    geofences, as one) of itself or of its nearest ancestor that has either."""
    orgs = organisations(session=session, tenant_id=tenant_id)
    parents = {org_id: org.parent_id for org_id, org in orgs.items()}
    own = territories_by_org(session=session, tenant_id=tenant_id)
    fenced = set(
        session.scalars(
            select(ChannelGeofence.organisation_id).where(ChannelGeofence.tenant_id == tenant_id)
        )
    )
    territory = {org: own.get(org) or ["geofence"] for org in set(own) | fenced}
    found = inherited(territory, parents, organisation_id)
    return Inherited(sorted(own.get(found.source, [])) if found.source else [], found.source)


def get_territories(
    *, session: Session, tenant_id: str, organisation_id: str, viewer_org: str | None = None
) -> tuple[list[str], Inherited]:
    """An organisation's own territories and the effective ones (a dealer's own only)."""
    check_readable(viewer_org=viewer_org, organisation_id=organisation_id)
    tenancy_service.get_organisation(
        session=session, tenant_id=tenant_id, organisation_id=organisation_id
    )
    own = territories_by_org(session=session, tenant_id=tenant_id).get(organisation_id, [])
    return sorted(own), effective_territories(
        session=session, tenant_id=tenant_id, organisation_id=organisation_id
    )


def set_territories(
    *, session: Session, tenant_id: str, organisation_id: str, codes: Sequence[str], actor: str
) -> tuple[list[str], list[str]]:
    """Replace an organisation's territories; return (stored, folded).

    Unknown or malformed codes are all named in one InvalidInput. A code covered by another
    code of the same set is folded into it (dropped), so the stored set has no overlap.
    """
    tenancy_service.get_organisation(
        session=session, tenant_id=tenant_id, organisation_id=organisation_id
    )
    unique = list(dict.fromkeys(code.strip() for code in codes))
    problems = []
    for code in unique:
        try:
            divisions.lookup(code)
        except divisions.InvalidDivision as exc:
            problems.append({"code": code, "reason": str(exc)})
    if problems:
        raise InvalidInput(
            "unknown or malformed division codes: "
            + "; ".join(f"{p['code']!r} ({p['reason']})" for p in problems),
            invalid=problems,
        )
    folded = [
        code
        for code in unique
        if any(other != code and divisions.covers(other, code) for other in unique)
    ]
    stored = sorted(code for code in unique if code not in folded)
    previous = sorted(
        session.scalars(
            select(ChannelTerritory.division_code).where(
                ChannelTerritory.organisation_id == organisation_id
            )
        )
    )
    if previous == stored:
        return stored, folded
    replace_own_rows(session, ChannelTerritory, tenant_id, organisation_id, "division_code", stored)
    audit_log.append(
        session=session,
        tenant_id=tenant_id,
        kind="channel.territories_set",
        actor=actor,
        organisation_id=organisation_id,
        data={
            "organisation_id": organisation_id,
            "division_codes": stored,
            "previous": previous,
            "folded": folded,
        },
    )
    return stored, folded


def add_geofence(
    *,
    session: Session,
    tenant_id: str,
    organisation_id: str,
    name: str,
    value: str | dict[str, Any],
    actor: str,
) -> ChannelGeofence:
    """Add a GeoJSON polygon the organisation may sell in; InvalidInput if it is not one."""
    tenancy_service.get_organisation(
        session=session, tenant_id=tenant_id, organisation_id=organisation_id
    )
    name = plain_text(name, "name")
    try:
        fence = geofence.parse(value)
    except geofence.InvalidGeofence as exc:
        raise InvalidInput(f"geojson: {exc}") from None
    text = json.dumps(fence.geojson, separators=(",", ":"))
    record = ChannelGeofence(
        tenant_id=tenant_id, organisation_id=organisation_id, name=name, geojson=text
    )
    session.add(record)
    session.flush()
    audit_log.append(
        session=session,
        tenant_id=tenant_id,
        kind="channel.geofence_added",
        actor=actor,
        organisation_id=organisation_id,
        data={
            "id": record.id,
            "organisation_id": organisation_id,
            "name": name,
            "geojson": json.loads(text),
        },
    )
    return record


def list_geofences(
    *, session: Session, tenant_id: str, organisation_id: str, viewer_org: str | None = None
) -> list[ChannelGeofence]:
    """An organisation's geofences, oldest first (a dealer's own only)."""
    check_readable(viewer_org=viewer_org, organisation_id=organisation_id)
    tenancy_service.get_organisation(
        session=session, tenant_id=tenant_id, organisation_id=organisation_id
    )
    query = select(ChannelGeofence).where(ChannelGeofence.organisation_id == organisation_id)
    return list(session.scalars(query.order_by(ChannelGeofence.created_at, ChannelGeofence.id)))


def delete_geofence(
    *, session: Session, tenant_id: str, organisation_id: str, geofence_id: str, actor: str
) -> None:
    """Remove one of an organisation's geofences."""
    record = session.get(ChannelGeofence, geofence_id)
    if record is None or record.tenant_id != tenant_id or record.organisation_id != organisation_id:
        raise NotFound(f"no geofence {geofence_id} of organisation {organisation_id}")
    session.delete(record)
    session.flush()
    audit_log.append(
        session=session,
        tenant_id=tenant_id,
        kind="channel.geofence_removed",
        actor=actor,
        organisation_id=organisation_id,
        data={"id": geofence_id, "organisation_id": organisation_id, "name": record.name},
    )
