"""The channel configuration: the tree, territories, geofences, product scopes, cross-edges
and locations. docs/channels.md states the rules; every change lands in the audit log.

Services never commit: the caller owns the transaction (one per request or job).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from trace_api.audit import log as audit_log
from trace_api.channels import divisions, geofence
from trace_api.codes import service as codes_service
from trace_api.codes.errors import InvalidGtin
from trace_api.codes.gs1 import normalise_gtin
from trace_api.epcis import identifiers
from trace_api.errors import Conflict, InvalidInput, NotFound
from trace_api.models import (
    ChannelCrossEdge,
    ChannelGeofence,
    ChannelLocation,
    ChannelProductScope,
    ChannelTerritory,
    Organisation,
    utcnow,
)
from trace_api.owned import get_owned
from trace_api.tenancy import service as tenancy_service

GROUP_PREFIX = "group:"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_GLN_KEYS = (identifiers.CANONICAL_BASE + "/414/", identifiers.CANONICAL_BASE + "/417/")


@dataclass(frozen=True)
class Inherited:
    """What applies to an organisation: its own values or its nearest ancestor's."""

    values: list[str]
    source: str | None  # the organisation they come from; None when there are none anywhere


def organisations(*, session: Session, tenant_id: str) -> dict[str, Organisation]:
    """The tenant's organisations by id."""
    rows = session.scalars(select(Organisation).where(Organisation.tenant_id == tenant_id))
    return {org.id: org for org in rows}


def inherited(
    own: Mapping[str, Sequence[str]], parents: Mapping[str, str | None], organisation_id: str
) -> Inherited:
    """The values of the organisation, else of its nearest ancestor that has some."""
    current: str | None = organisation_id
    seen: set[str] = set()
    while current is not None and current not in seen:
        seen.add(current)
        if own.get(current):
            return Inherited(sorted(own[current]), current)
        current = parents.get(current)
    return Inherited([], None)


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


def _replace_rows(
    session: Session,
    model: type[ChannelTerritory] | type[ChannelProductScope],
    tenant_id: str,
    organisation_id: str,
    column: str,
    values: Sequence[str],
) -> None:
    """Make ``values`` the organisation's whole set of ``model`` rows."""
    session.execute(delete(model).where(model.organisation_id == organisation_id))
    if values:
        session.execute(
            insert(model),
            [
                {"tenant_id": tenant_id, "organisation_id": organisation_id, column: value}
                for value in values
            ],
        )


# -- territories -------------------------------------------------------------------------------


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
    *, session: Session, tenant_id: str, organisation_id: str
) -> tuple[list[str], Inherited]:
    """An organisation's own territories and the effective ones."""
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
    _replace_rows(session, ChannelTerritory, tenant_id, organisation_id, "division_code", stored)
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


# -- geofences ---------------------------------------------------------------------------------


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
    name = _text(name, "name")
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
    *, session: Session, tenant_id: str, organisation_id: str
) -> list[ChannelGeofence]:
    """An organisation's geofences, oldest first."""
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


# -- product scopes ----------------------------------------------------------------------------


def scopes_by_org(*, session: Session, tenant_id: str) -> dict[str, list[str]]:
    """Every organisation's own product scopes (GTIN-14 or group:{name})."""
    out: dict[str, list[str]] = {}
    rows = session.execute(
        select(ChannelProductScope.organisation_id, ChannelProductScope.scope).where(
            ChannelProductScope.tenant_id == tenant_id
        )
    )
    for org_id, scope in rows:
        out.setdefault(org_id, []).append(scope)
    return out


def get_product_scopes(
    *, session: Session, tenant_id: str, organisation_id: str
) -> tuple[list[str], Inherited]:
    """An organisation's own product scopes and the effective ones."""
    tenancy_service.get_organisation(
        session=session, tenant_id=tenant_id, organisation_id=organisation_id
    )
    own = scopes_by_org(session=session, tenant_id=tenant_id)
    parents = {
        org_id: org.parent_id
        for org_id, org in organisations(session=session, tenant_id=tenant_id).items()
    }
    return sorted(own.get(organisation_id, [])), inherited(own, parents, organisation_id)


def set_product_scopes(
    *,
    session: Session,
    tenant_id: str,
    organisation_id: str,
    gtins: Sequence[str],
    groups: Sequence[str],
    actor: str,
) -> list[str]:
    """Replace an organisation's product scopes; GTINs are checked and stored as GTIN-14."""
    tenancy_service.get_organisation(
        session=session, tenant_id=tenant_id, organisation_id=organisation_id
    )
    problems = []
    scopes: list[str] = []
    for gtin in gtins:
        try:
            scopes.append(normalise_gtin(gtin))
        except InvalidGtin as exc:
            problems.append({"gtin": gtin, "reason": exc.detail})
    if problems:
        raise InvalidInput(
            "invalid GTINs: " + "; ".join(f"{p['gtin']!r} ({p['reason']})" for p in problems),
            invalid=problems,
        )
    scopes.extend(GROUP_PREFIX + codes_service.product_group_name(g) for g in groups)
    stored = sorted(set(scopes))
    previous = sorted(
        session.scalars(
            select(ChannelProductScope.scope).where(
                ChannelProductScope.organisation_id == organisation_id
            )
        )
    )
    if previous == stored:
        return stored
    _replace_rows(session, ChannelProductScope, tenant_id, organisation_id, "scope", stored)
    audit_log.append(
        session=session,
        tenant_id=tenant_id,
        kind="channel.product_scopes_set",
        actor=actor,
        organisation_id=organisation_id,
        data={"organisation_id": organisation_id, "scopes": stored, "previous": previous},
    )
    return stored


def split_scopes(scopes: Iterable[str]) -> tuple[list[str], list[str]]:
    """(GTINs, group names) of a list of stored scopes."""
    gtins, groups = [], []
    for scope in sorted(scopes):
        if scope.startswith(GROUP_PREFIX):
            groups.append(scope.removeprefix(GROUP_PREFIX))
        else:
            gtins.append(scope)
    return gtins, groups


# -- cross-edges -------------------------------------------------------------------------------


def add_cross_edge(
    *, session: Session, tenant_id: str, from_org: str, to_org: str, reason: str, actor: str
) -> ChannelCrossEdge:
    """Sanction movements from one organisation to another outside the tree."""
    source = tenancy_service.get_organisation(
        session=session, tenant_id=tenant_id, organisation_id=from_org
    )
    target = tenancy_service.get_organisation(
        session=session, tenant_id=tenant_id, organisation_id=to_org
    )
    reason = _text(reason, "reason")
    if not reason:
        raise InvalidInput("a cross-edge needs a reason")
    if source.id == target.id:
        raise InvalidInput("a cross-edge joins two different organisations")
    if target.parent_id == source.id:
        raise InvalidInput(
            f"{target.name} is a child of {source.name}: that edge is in the tree already"
        )
    current = session.scalar(
        select(ChannelCrossEdge.id).where(
            ChannelCrossEdge.tenant_id == tenant_id,
            ChannelCrossEdge.from_org == from_org,
            ChannelCrossEdge.to_org == to_org,
            ChannelCrossEdge.revoked_at.is_(None),
        )
    )
    if current is not None:
        raise Conflict(f"cross-edge {current} from {source.name} to {target.name} exists already")
    record = ChannelCrossEdge(tenant_id=tenant_id, from_org=from_org, to_org=to_org, reason=reason)
    session.add(record)
    session.flush()
    audit_log.append(
        session=session,
        tenant_id=tenant_id,
        kind="channel.cross_edge_added",
        actor=actor,
        organisation_id=from_org,
        data={"id": record.id, "from": from_org, "to": to_org, "reason": reason},
    )
    return record


def list_cross_edges(
    *, session: Session, tenant_id: str, current_only: bool = False
) -> list[ChannelCrossEdge]:
    """The tenant's cross-edges, oldest first (revoked ones too unless ``current_only``)."""
    query = select(ChannelCrossEdge).where(ChannelCrossEdge.tenant_id == tenant_id)
    if current_only:
        query = query.where(ChannelCrossEdge.revoked_at.is_(None))
    return list(session.scalars(query.order_by(ChannelCrossEdge.created_at, ChannelCrossEdge.id)))


def revoke_cross_edge(
    *, session: Session, tenant_id: str, edge_id: str, actor: str
) -> ChannelCrossEdge:
    """Revoke a cross-edge (kept, with ``revoked_at``); revoking twice changes nothing."""
    record = get_owned(session, ChannelCrossEdge, edge_id, tenant_id=tenant_id, noun="cross-edge")
    if record.revoked_at is not None:
        return record
    record.revoked_at = utcnow()
    session.flush()
    audit_log.append(
        session=session,
        tenant_id=tenant_id,
        kind="channel.cross_edge_revoked",
        actor=actor,
        organisation_id=record.from_org,
        data={"id": record.id, "from": record.from_org, "to": record.to_org},
    )
    return record


# -- locations ---------------------------------------------------------------------------------


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


# -- the tree ----------------------------------------------------------------------------------


def set_parent(
    *, session: Session, tenant_id: str, organisation_id: str, parent_id: str | None, actor: str
) -> Organisation:
    """Move an organisation under another one of the tenant (or make it a root).

    Conflict when the new parent is the organisation itself or inside its sub-tree.
    """
    org = tenancy_service.get_organisation(
        session=session, tenant_id=tenant_id, organisation_id=organisation_id
    )
    if parent_id is not None:
        tenancy_service.get_organisation(
            session=session, tenant_id=tenant_id, organisation_id=parent_id
        )
        parents = {
            org_id: o.parent_id
            for org_id, o in organisations(session=session, tenant_id=tenant_id).items()
        }
        ancestor: str | None = parent_id
        while ancestor is not None:
            if ancestor == organisation_id:
                raise Conflict(
                    f"organisation {parent_id} is {org.name} itself or inside its sub-tree: "
                    "the tree would get a cycle"
                )
            ancestor = parents.get(ancestor)
    previous = org.parent_id
    if previous == parent_id:
        return org
    org.parent_id = parent_id
    session.flush()
    audit_log.append(
        session=session,
        tenant_id=tenant_id,
        kind="channel.parent_changed",
        actor=actor,
        organisation_id=organisation_id,
        data={"organisation_id": organisation_id, "parent_id": parent_id, "previous": previous},
    )
    return org


@dataclass(frozen=True)
class TreeData:
    """Everything the tree view shows, read in a few queries."""

    organisations: dict[str, Organisation]
    territories: dict[str, list[str]]
    scopes: dict[str, list[str]]
    geofence_counts: dict[str, int]
    cross_edges: list[ChannelCrossEdge]


def tree_data(*, session: Session, tenant_id: str) -> TreeData:
    """The tenant's organisations with their configuration, for the tree view."""
    counts: dict[str, int] = {}
    for org_id in session.scalars(
        select(ChannelGeofence.organisation_id).where(ChannelGeofence.tenant_id == tenant_id)
    ):
        counts[org_id] = counts.get(org_id, 0) + 1
    return TreeData(
        organisations=organisations(session=session, tenant_id=tenant_id),
        territories=territories_by_org(session=session, tenant_id=tenant_id),
        scopes=scopes_by_org(session=session, tenant_id=tenant_id),
        geofence_counts=counts,
        cross_edges=list_cross_edges(session=session, tenant_id=tenant_id, current_only=True),
    )


def _text(value: str, what: str) -> str:
    value = value.strip()
    if _CONTROL.search(value.replace("\n", "").replace("\t", "")):
        raise InvalidInput(f"{what} may not contain control characters")
    return value
