"""HTTP routes: the channel configuration (tree, territories, geofences, product scopes,
cross-edges, locations) and allocations. Admin keys configure; operators allocate."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Response, status

from trace_api.channels import allocations, service
from trace_api.channels.schemas import (
    AllocationCreate,
    AllocationOut,
    AllocationPage,
    AllocationResult,
    ChannelTree,
    CrossEdgeCreate,
    CrossEdgeOut,
    Division,
    GeofenceCreate,
    GeofenceOut,
    LocationOut,
    LocationSet,
    ParentSet,
    ProductScopesOut,
    ProductScopesSet,
    TerritoriesOut,
    TerritoriesSet,
    TreeNode,
)
from trace_api.deps import SessionDep
from trace_api.errors import InvalidInput
from trace_api.models import ChannelLocation
from trace_api.roles import AdminOnly, AdminOrOperator, AnyRole, BrandStaff, custody_view
from trace_api.tenancy.schemas import OrganisationOut

router = APIRouter(prefix="/v1", tags=["channels"])


def _divisions(codes: list[str]) -> list[Division]:
    return [Division(code=c, name=service.division_name(c)) for c in codes]


# -- territories -------------------------------------------------------------------------------


def _territories_out(
    session: SessionDep,
    tenant_id: str,
    organisation_id: str,
    folded: list[str],
    viewer_org: str | None = None,
) -> TerritoriesOut:
    own, effective = service.get_territories(
        session=session, tenant_id=tenant_id, organisation_id=organisation_id, viewer_org=viewer_org
    )
    return TerritoriesOut(
        organisation_id=organisation_id,
        territories=_divisions(own),
        effective=_divisions(effective.values),
        inherited_from=effective.source if effective.source != organisation_id else None,
        folded=folded,
    )


@router.put("/organisations/{organisation_id}/territories", response_model=TerritoriesOut)
def set_territories(
    organisation_id: str, body: TerritoriesSet, admin: AdminOnly, session: SessionDep
) -> TerritoriesOut:
    _, folded = service.set_territories(
        session=session,
        tenant_id=admin.tenant_id,
        organisation_id=organisation_id,
        codes=body.division_codes,
        actor=admin.key_id,
    )
    return _territories_out(session, admin.tenant_id, organisation_id, folded)


@router.get("/organisations/{organisation_id}/territories", response_model=TerritoriesOut)
def get_territories(
    organisation_id: str, principal: AnyRole, session: SessionDep
) -> TerritoriesOut:
    return _territories_out(
        session, principal.tenant_id, organisation_id, [], viewer_org=custody_view(principal)
    )


# -- geofences ---------------------------------------------------------------------------------


@router.post(
    "/organisations/{organisation_id}/geofences",
    response_model=GeofenceOut,
    status_code=status.HTTP_201_CREATED,
)
def add_geofence(
    organisation_id: str, body: GeofenceCreate, admin: AdminOnly, session: SessionDep
) -> GeofenceOut:
    record = service.add_geofence(
        session=session,
        tenant_id=admin.tenant_id,
        organisation_id=organisation_id,
        name=body.name,
        value=body.geojson,
        actor=admin.key_id,
    )
    return GeofenceOut.model_validate(record)


@router.get("/organisations/{organisation_id}/geofences", response_model=list[GeofenceOut])
def list_geofences(
    organisation_id: str, principal: AnyRole, session: SessionDep
) -> list[GeofenceOut]:
    records = service.list_geofences(
        session=session,
        tenant_id=principal.tenant_id,
        organisation_id=organisation_id,
        viewer_org=custody_view(principal),
    )
    return [GeofenceOut.model_validate(r) for r in records]


@router.delete(
    "/organisations/{organisation_id}/geofences/{geofence_id}",
    status_code=status.HTTP_204_NO_CONTENT,
)
def delete_geofence(
    organisation_id: str, geofence_id: str, admin: AdminOnly, session: SessionDep
) -> Response:
    service.delete_geofence(
        session=session,
        tenant_id=admin.tenant_id,
        organisation_id=organisation_id,
        geofence_id=geofence_id,
        actor=admin.key_id,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- product scopes ----------------------------------------------------------------------------


def _scopes_out(
    session: SessionDep, tenant_id: str, organisation_id: str, viewer_org: str | None = None
) -> ProductScopesOut:
    own, effective = service.get_product_scopes(
        session=session, tenant_id=tenant_id, organisation_id=organisation_id, viewer_org=viewer_org
    )
    gtins, groups = service.split_scopes(own)
    effective_gtins, effective_groups = service.split_scopes(effective.values)
    return ProductScopesOut(
        organisation_id=organisation_id,
        gtins=gtins,
        groups=groups,
        effective_gtins=effective_gtins,
        effective_groups=effective_groups,
        inherited_from=effective.source if effective.source != organisation_id else None,
    )


@router.put("/organisations/{organisation_id}/product-scopes", response_model=ProductScopesOut)
def set_product_scopes(
    organisation_id: str, body: ProductScopesSet, admin: AdminOnly, session: SessionDep
) -> ProductScopesOut:
    service.set_product_scopes(
        session=session,
        tenant_id=admin.tenant_id,
        organisation_id=organisation_id,
        gtins=body.gtins,
        groups=body.groups,
        actor=admin.key_id,
    )
    return _scopes_out(session, admin.tenant_id, organisation_id)


@router.get("/organisations/{organisation_id}/product-scopes", response_model=ProductScopesOut)
def get_product_scopes(
    organisation_id: str, principal: AnyRole, session: SessionDep
) -> ProductScopesOut:
    return _scopes_out(
        session, principal.tenant_id, organisation_id, viewer_org=custody_view(principal)
    )


# -- the tree ----------------------------------------------------------------------------------


@router.patch("/organisations/{organisation_id}", response_model=OrganisationOut)
def set_parent(
    organisation_id: str, body: ParentSet, admin: AdminOnly, session: SessionDep
) -> OrganisationOut:
    record = service.set_parent(
        session=session,
        tenant_id=admin.tenant_id,
        organisation_id=organisation_id,
        parent_id=body.parent_id,
        actor=admin.key_id,
    )
    return OrganisationOut.model_validate(record)


@router.get("/channel/tree", response_model=ChannelTree)
def channel_tree(principal: BrandStaff, session: SessionDep) -> ChannelTree:
    data = service.tree_data(session=session, tenant_id=principal.tenant_id)
    parents = {org_id: org.parent_id for org_id, org in data.organisations.items()}
    children: dict[str | None, list[str]] = {}
    for org in sorted(data.organisations.values(), key=lambda o: (o.name, o.id)):
        children.setdefault(org.parent_id, []).append(org.id)

    def node(org_id: str) -> TreeNode:
        org = data.organisations[org_id]
        territory = service.inherited(data.territories, parents, org_id)
        scopes = service.inherited(data.scopes, parents, org_id)
        return TreeNode(
            id=org.id,
            name=org.name,
            kind=org.kind,  # type: ignore[arg-type]
            parent_id=org.parent_id,
            territories=_divisions(sorted(data.territories.get(org_id, []))),
            effective_territories=_divisions(territory.values),
            territories_inherited_from=territory.source if territory.source != org_id else None,
            product_scopes=sorted(data.scopes.get(org_id, [])),
            effective_product_scopes=scopes.values,
            geofence_count=data.geofence_counts.get(org_id, 0),
            children=[node(child) for child in children.get(org_id, [])],
        )

    return ChannelTree(
        organisations=[node(root) for root in children.get(None, [])],
        cross_edges=[CrossEdgeOut.model_validate(e) for e in data.cross_edges],
    )


# -- cross-edges -------------------------------------------------------------------------------


@router.post(
    "/channel/cross-edges", response_model=CrossEdgeOut, status_code=status.HTTP_201_CREATED
)
def add_cross_edge(body: CrossEdgeCreate, admin: AdminOnly, session: SessionDep) -> CrossEdgeOut:
    record = service.add_cross_edge(
        session=session,
        tenant_id=admin.tenant_id,
        from_org=body.from_organisation_id,
        to_org=body.to_organisation_id,
        reason=body.reason,
        actor=admin.key_id,
    )
    return CrossEdgeOut.model_validate(record)


@router.get("/channel/cross-edges", response_model=list[CrossEdgeOut])
def list_cross_edges(principal: BrandStaff, session: SessionDep) -> list[CrossEdgeOut]:
    records = service.list_cross_edges(session=session, tenant_id=principal.tenant_id)
    return [CrossEdgeOut.model_validate(r) for r in records]


@router.delete("/channel/cross-edges/{edge_id}", response_model=CrossEdgeOut)
def revoke_cross_edge(edge_id: str, admin: AdminOnly, session: SessionDep) -> CrossEdgeOut:
    record = service.revoke_cross_edge(
        session=session, tenant_id=admin.tenant_id, edge_id=edge_id, actor=admin.key_id
    )
    return CrossEdgeOut.model_validate(record)


# -- locations ---------------------------------------------------------------------------------


def _location_out(record: ChannelLocation) -> LocationOut:
    return LocationOut(
        identifier=record.identifier,
        division_code=record.division_code,
        division_name=service.division_name(record.division_code),
    )


@router.put("/channel/locations", response_model=list[LocationOut])
def set_locations(
    body: Annotated[list[LocationSet], Body(max_length=10_000)],
    admin: AdminOnly,
    session: SessionDep,
) -> list[LocationOut]:
    records = service.set_locations(
        session=session,
        tenant_id=admin.tenant_id,
        locations=[(entry.identifier, entry.division_code) for entry in body],
        actor=admin.key_id,
    )
    return [_location_out(r) for r in records]


@router.get("/channel/locations", response_model=list[LocationOut])
def list_locations(principal: BrandStaff, session: SessionDep) -> list[LocationOut]:
    records = service.list_locations(session=session, tenant_id=principal.tenant_id)
    return [_location_out(r) for r in records]


# -- allocations -------------------------------------------------------------------------------


@router.post("/allocations", response_model=AllocationResult, status_code=status.HTTP_201_CREATED)
def allocate(
    body: AllocationCreate, principal: AdminOrOperator, session: SessionDep
) -> AllocationResult:
    given = [
        kind
        for kind, value in (
            ("items", body.items),
            ("containers", body.containers),
            ("batch_id", body.batch_id),
        )
        if value
    ]
    if len(given) != 1:
        raise InvalidInput("name exactly one kind of target: items, containers or batch_id")
    tenant_id = principal.tenant_id
    if body.items:
        kind = "item"
        targets = allocations.item_keys(session=session, tenant_id=tenant_id, codes=body.items)
    elif body.containers:
        kind = "container"
        targets = allocations.container_keys(body.containers)
    else:
        assert body.batch_id is not None
        kind = "batch"
        targets = [
            allocations.batch_target(session=session, tenant_id=tenant_id, batch_id=body.batch_id)
        ]
    summary = allocations.allocate(
        session=session,
        tenant_id=tenant_id,
        organisation_id=body.organisation_id,
        target_kind=kind,
        targets=targets,
        division_code=body.division_code,
        note=body.note.strip(),
        actor=principal.key_id,
    )
    return AllocationResult(
        target_kind=summary.target_kind,  # type: ignore[arg-type]
        organisation_id=summary.organisation_id,
        division_code=summary.division_code,
        created=summary.created,
        changed=summary.changed,
        unchanged=summary.unchanged,
        allocations=[AllocationOut.model_validate(r) for r in summary.rows]
        if len(targets) <= allocations.SHOWN
        else None,
    )


@router.get("/allocations", response_model=AllocationPage)
def list_allocations(
    principal: AnyRole,
    session: SessionDep,
    organisation_id: str | None = None,
    target: Annotated[str | None, Query(description="A code in any accepted form.")] = None,
    include_replaced: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> AllocationPage:
    records, next_cursor = allocations.list_allocations(
        session=session,
        tenant_id=principal.tenant_id,
        organisation_id=organisation_id,
        target=target,
        include_replaced=include_replaced,
        limit=limit,
        cursor=cursor,
        viewer_org=custody_view(principal),
    )
    return AllocationPage(
        allocations=[AllocationOut.model_validate(r) for r in records], next_cursor=next_cursor
    )


@router.get("/allocations/{allocation_id}", response_model=AllocationOut)
def get_allocation(allocation_id: str, principal: AnyRole, session: SessionDep) -> AllocationOut:
    record = allocations.get_allocation(
        session=session,
        tenant_id=principal.tenant_id,
        allocation_id=allocation_id,
        viewer_org=custody_view(principal),
    )
    return AllocationOut.model_validate(record)
