"""HTTP routes: diversion alerts, their evidence and their status workflow."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from trace_api.alerts import service
from trace_api.alerts.schemas import (
    AlertDetail,
    AlertOut,
    AlertPage,
    AlertStatus,
    Evidence,
    StatusChange,
    StatusChangeOut,
)
from trace_api.channels import allocations
from trace_api.deps import SessionDep
from trace_api.instants import AwareInstant
from trace_api.principal import Principal
from trace_api.roles import AnyRole, BrandStaff, custody_view

router = APIRouter(prefix="/v1", tags=["alerts"])
Severity = Literal["low", "medium", "high", "critical"]


@router.get("/alerts", response_model=AlertPage)
def list_alerts(
    principal: AnyRole,
    session: SessionDep,
    status: AlertStatus | None = None,
    severity: Severity | None = None,
    rule: str | None = None,
    organisation_id: Annotated[
        str | None, Query(description="The blamed, expected or observed party.")
    ] = None,
    blamed_organisation_id: str | None = None,
    subject: Annotated[str | None, Query(description="An item or case, in any form.")] = None,
    since: Annotated[AwareInstant | None, Query(description="Created at or after.")] = None,
    until: Annotated[AwareInstant | None, Query(description="Created before.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> AlertPage:
    key = (
        allocations.target_key(session=session, tenant_id=principal.tenant_id, code=subject)
        if subject is not None
        else None
    )
    filters = service.AlertFilter(
        status=status,
        severity=severity,
        rule=rule,
        organisation_id=organisation_id,
        blamed_org=blamed_organisation_id,
        subject=key,
        since=since,
        until=until,
    )
    records, next_cursor = service.list_alerts(
        session=session,
        tenant_id=principal.tenant_id,
        filters=filters,
        viewer_org=custody_view(principal),
        limit=limit,
        cursor=cursor,
    )
    return AlertPage(alerts=[AlertOut.model_validate(r) for r in records], next_cursor=next_cursor)


def _detail(session: SessionDep, alert_id: str, principal: Principal) -> AlertDetail:
    alert = service.get_alert(
        session=session,
        tenant_id=principal.tenant_id,
        alert_id=alert_id,
        viewer_org=custody_view(principal),
    )
    evidence = [
        Evidence(
            event_id=e.event_id,
            role=e.role,
            audit_seq=e.audit_seq,
            proof=f"/v1/audit/entries/{e.audit_seq}/proof" if e.audit_seq is not None else None,
        )
        for e in service.alert_evidence(session=session, alert=alert)
    ]
    history = [
        StatusChangeOut.model_validate(c)
        for c in service.alert_history(session=session, alert_id=alert.id)
    ]
    out = AlertOut.model_validate(alert)
    return AlertDetail(**out.model_dump(), evidence=evidence, history=history)


@router.get("/alerts/{alert_id}", response_model=AlertDetail)
def get_alert(alert_id: str, principal: AnyRole, session: SessionDep) -> AlertDetail:
    return _detail(session, alert_id, principal)


@router.post("/alerts/{alert_id}/status", response_model=AlertDetail)
def change_status(
    alert_id: str, body: StatusChange, principal: BrandStaff, session: SessionDep
) -> AlertDetail:
    service.change_status(
        session=session,
        tenant_id=principal.tenant_id,
        alert_id=alert_id,
        status=body.status,
        reason=body.reason,
        actor=principal.key_id,
    )
    return _detail(session, alert_id, principal)
