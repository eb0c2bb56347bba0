"""The channel tree: which organisation sits under which, and the tree view's data.

Services never commit: the caller owns the transaction (one per request or job).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from trace_api.audit import log as audit_log
from trace_api.channels.edges import list_cross_edges
from trace_api.channels.inheritance import organisations
from trace_api.channels.scopes import scopes_by_org
from trace_api.channels.territories import territories_by_org
from trace_api.errors import Conflict
from trace_api.models import ChannelCrossEdge, ChannelGeofence, Organisation
from trace_api.tenancy import service as tenancy_service


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
