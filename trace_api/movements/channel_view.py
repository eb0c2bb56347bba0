"""A snapshot of a tenant's channel configuration, read once per capture for the checks.

The tree, territories, product scopes, cross-edges, geofences, product groups and batch
allocations are read with one statement each; party identifiers and location divisions
only for the identifiers a capture names. Effective territories and scopes (inherited from
the nearest ancestor that has some, docs/channels.md) are worked out on first use and
kept for the rest of the capture.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from trace_api.channels import divisions
from trace_api.channels import geofence as geofences
from trace_api.epcis import sql
from trace_api.epcis.custody import ORG_URN
from trace_api.models import (
    Allocation,
    ChannelCrossEdge,
    ChannelGeofence,
    ChannelLocation,
    ChannelProductScope,
    ChannelTerritory,
    EpcisPartyIdentifier,
    Organisation,
    Product,
)

CHUNK = 500


def chunks(values: Iterable[str], size: int = CHUNK) -> Iterator[list[str]]:
    """``values`` in lists of at most ``size`` (for IN lists)."""
    items = list(values)
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True, slots=True)
class Grant:
    """A current allocation: to whom, for which division (None: its whole territory)."""

    id: str
    organisation_id: str
    division_code: str | None


@dataclass
class ChannelView:
    """What the route rules read about the channel, for one tenant at one moment."""

    tenant_id: str
    parents: dict[str, str | None]
    territories: dict[str, list[str]]
    scopes: dict[str, set[str]]
    cross_edges: set[tuple[str, str]]
    geofence_json: dict[str, list[str]]
    product_groups: dict[str, str]
    batch_grants: dict[str, Grant]
    target_grant_count: int
    item_grant_count: int = 0  # of them, allocations of single items
    parties: dict[str, str] = field(default_factory=dict)
    places: dict[str, str] = field(default_factory=dict)
    _effective_territories: dict[str, list[str]] = field(default_factory=dict)
    _effective_scopes: dict[str, set[str]] = field(default_factory=dict)
    _geofences: dict[str, list[geofences.Geofence]] = field(default_factory=dict)

    # -- the tree -------------------------------------------------------------------------

    def is_org(self, org: str | None) -> bool:
        return org is not None and org in self.parents

    def ancestors(self, org: str) -> Iterator[str]:
        """The organisation's parent, its parent's parent, ... up to the root."""
        seen = {org}
        parent = self.parents.get(org)
        while parent is not None and parent not in seen:
            yield parent
            seen.add(parent)
            parent = self.parents.get(parent)

    def is_edge(self, source: str, destination: str) -> bool:
        """A tree edge (parent -> child) or a current cross-edge."""
        return self.parents.get(destination) == source or (source, destination) in self.cross_edges

    def on_allocated_path(self, party: str, allocated: str) -> bool:
        """The party is the allocated one, inside its sub-tree, or an ancestor of it."""
        if party == allocated:
            return True
        return allocated in self.ancestors(party) or party in self.ancestors(allocated)

    # -- territories, scopes, geofences -------------------------------------------------------

    def territory_owner(self, org: str) -> str | None:
        """The organisation whose territory applies to ``org``: itself if it has divisions
        or geofences, else its nearest ancestor with either (divisions and fences are one
        territory, never mixed from two parties)."""
        for candidate in (org, *self.ancestors(org)):
            if self.territories.get(candidate) or self.geofence_json.get(candidate):
                return candidate
        return None

    def territory_of(self, org: str) -> list[str]:
        """The divisions of the territory that applies to ``org`` (see territory_owner)."""
        found = self._effective_territories.get(org)
        if found is None:
            owner = self.territory_owner(org)
            found = self.territories.get(owner, []) if owner else []
            self._effective_territories[org] = found
        return found

    def scope_of(self, org: str) -> set[str]:
        """The organisation's product scopes (inherited like territories); empty: all."""
        found = self._effective_scopes.get(org)
        if found is None:
            found = self.scopes.get(org) or next(
                (self.scopes[a] for a in self.ancestors(org) if self.scopes.get(a)), set()
            )
            self._effective_scopes[org] = found
        return found

    def handles(self, org: str, gtin: str | None) -> bool:
        """Whether ``org`` may handle the product (no scope, or the GTIN or its group)."""
        scope = self.scope_of(org)
        if not scope or gtin is None:
            return True
        group = self.product_groups.get(gtin)
        return gtin in scope or (group is not None and f"group:{group}" in scope)

    def geofences_of(self, org: str) -> list[geofences.Geofence]:
        """The organisation's geofences (its own, or inherited with its territories)."""
        found = self._geofences.get(org)
        if found is None:
            owner = self.territory_owner(org)
            found = []
            for text in self.geofence_json.get(owner or "", []):
                try:
                    found.append(geofences.parse(text))
                except geofences.InvalidGeofence:
                    continue  # stored through the API, so checked there; never fatal here
            self._geofences[org] = found
        return found

    def covers(self, grant_org: str, grant_division: str | None, observed: str) -> bool:
        """Whether the observed division is inside the allocation's territory."""
        if grant_division is not None:
            return divisions.covers(grant_division, observed)
        return divisions.covered_by_any(self.territory_of(grant_org), observed)

    def inside_geofence(self, org: str, lat: float, lon: float) -> bool:
        return any(fence.contains(lat, lon) for fence in self.geofences_of(org))

    # -- parties --------------------------------------------------------------------------

    def organisation_of(self, party: str | None) -> str | None:
        """The organisation a party or location key stands for, if any."""
        if party is None:
            return None
        if party.startswith(ORG_URN):
            org = party[len(ORG_URN) :]
            return org if org in self.parents else None
        return self.parties.get(party)

    def division_of(self, place: str | None) -> str | None:
        """The division registered for a location or party key, if any."""
        return self.places.get(place) if place else None

    def load_parties(self, session: Session, keys: set[str]) -> None:
        """Read the organisations and divisions of ``keys`` (those not read yet)."""
        wanted = {k for k in keys if k not in self.parties and not k.startswith(ORG_URN)}
        for chunk in chunks(wanted):
            self.parties.update(
                (identifier, org)
                for identifier, org in session.execute(
                    select(EpcisPartyIdentifier.identifier, EpcisPartyIdentifier.organisation_id)
                    .where(EpcisPartyIdentifier.tenant_id == self.tenant_id)
                    .where(EpcisPartyIdentifier.identifier.in_(chunk))
                )
            )
        wanted = {k for k in keys if k not in self.places}
        for chunk in chunks(wanted):
            self.places.update(
                (identifier, code)
                for identifier, code in session.execute(
                    select(ChannelLocation.identifier, ChannelLocation.division_code)
                    .where(ChannelLocation.tenant_id == self.tenant_id)
                    .where(ChannelLocation.identifier.in_(chunk))
                )
            )


def load(session: Session, tenant_id: str) -> ChannelView:
    """The tenant's channel as it stands in ``session``'s transaction."""
    parents: dict[str, str | None] = {
        org: parent
        for org, parent in session.execute(
            select(Organisation.id, Organisation.parent_id).where(
                Organisation.tenant_id == tenant_id
            )
        )
    }
    territories: dict[str, list[str]] = {}
    for org, code in session.execute(
        select(ChannelTerritory.organisation_id, ChannelTerritory.division_code).where(
            ChannelTerritory.tenant_id == tenant_id
        )
    ):
        territories.setdefault(org, []).append(code)
    scopes: dict[str, set[str]] = {}
    for org, scope in session.execute(
        select(ChannelProductScope.organisation_id, ChannelProductScope.scope).where(
            ChannelProductScope.tenant_id == tenant_id
        )
    ):
        scopes.setdefault(org, set()).add(scope)
    cross_edges = {
        (source, destination)
        for source, destination in session.execute(
            select(ChannelCrossEdge.from_org, ChannelCrossEdge.to_org).where(
                ChannelCrossEdge.tenant_id == tenant_id, ChannelCrossEdge.revoked_at.is_(None)
            )
        )
    }
    fences: dict[str, list[str]] = {}
    for org, text in session.execute(
        select(ChannelGeofence.organisation_id, ChannelGeofence.geojson).where(
            ChannelGeofence.tenant_id == tenant_id
        )
    ):
        fences.setdefault(org, []).append(text)
    groups = {
        gtin: group
        for gtin, group in session.execute(
            select(Product.gtin, Product.product_group).where(
                Product.tenant_id == tenant_id, Product.product_group.is_not(None)
            )
        )
        if group is not None
    }
    batch_grants: dict[str, Grant] = {}
    for grant_id, target, org, division in session.execute(
        _current_grants(tenant_id, Allocation.target_kind == "batch")
    ):
        batch_grants[target] = Grant(grant_id, org, division)
    target_grant_count = int(
        session.scalar(
            select(func.count()).where(
                Allocation.tenant_id == tenant_id,
                Allocation.replaced_at.is_(None),
                Allocation.target_kind != "batch",
            )
        )
        or 0
    )
    item_grant_count = (
        int(
            session.scalar(
                select(func.count()).where(
                    Allocation.tenant_id == tenant_id,
                    Allocation.replaced_at.is_(None),
                    Allocation.target_kind == "item",
                )
            )
            or 0
        )
        if target_grant_count
        else 0
    )
    return ChannelView(
        tenant_id=tenant_id,
        parents=parents,
        territories=territories,
        scopes=scopes,
        cross_edges=cross_edges,
        geofence_json=fences,
        product_groups=groups,
        batch_grants=batch_grants,
        target_grant_count=target_grant_count,
        item_grant_count=item_grant_count,
    )


ALL_GRANTS_UP_TO = 20_000  # item and container allocations read whole below this count


def target_grants(
    session: Session, tenant_id: str, targets: Iterable[str], count: int
) -> dict[str, Grant]:
    """The current item and container allocations of ``targets``: all of the tenant's when
    there are at most ALL_GRANTS_UP_TO (one scan of a small set beats a probe per key),
    else those of ``targets``."""
    found: dict[str, Grant] = {}
    if count <= ALL_GRANTS_UP_TO:
        for grant_id, target, org, division in session.connection().execute(
            _current_grants(tenant_id, Allocation.target_kind != "batch")
        ):
            found[target] = Grant(grant_id, org, division)
        return found
    for batch in sql.batches(set(targets)):
        for grant_id, target, org, division in session.connection().execute(
            _current_grants(
                tenant_id,
                sql.one_of(session, Allocation.target, batch),
                Allocation.target_kind != "batch",
            )
        ):
            found[target] = Grant(grant_id, org, division)
    return found


def _current_grants(
    tenant_id: str, *where: ColumnElement[bool]
) -> Select[str, str, str, str | None]:
    """The tenant's current allocations as (id, target, organisation, division) rows."""
    return select(
        Allocation.id, Allocation.target, Allocation.organisation_id, Allocation.division_code
    ).where(Allocation.tenant_id == tenant_id, Allocation.replaced_at.is_(None), *where)
