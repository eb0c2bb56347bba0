"""Cross-edges: channel steps the tree does not give, authorised between two organisations
until revoked (docs/channels.md).

Services never commit: the caller owns the transaction (one per request or job).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from trace_api.audit import log as audit_log
from trace_api.channels.text import plain_text
from trace_api.errors import Conflict, InvalidInput
from trace_api.models import ChannelCrossEdge, utcnow
from trace_api.owned import get_owned
from trace_api.tenancy import service as tenancy_service


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
    reason = plain_text(reason, "reason")
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
