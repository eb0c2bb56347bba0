"""What an item's state and path look like to a caller, with what a dealer may see.

State and path are worked out through the containers the item is or was in
(trace_api/movements/paths.py).

A dealer sees an item only if it is or was in its custody (`epcis_custody`), and only the
alerts in which its organisation is the blamed, expected or observed party.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from crypto import sm2
from trace_api.audit import proofs
from trace_api.audit.trees import LogTrees
from trace_api.errors import NotFound
from trace_api.models import (
    Allocation,
    DiversionAlert,
    EpcisCustody,
    EpcisEvent,
    ItemState,
)
from trace_api.movements import codes as item_codes
from trace_api.movements import paths
from trace_api.movements.evidence import division_name, evidence_json
from trace_api.tenancy.service import Principal


def _dealer_org(principal: Principal) -> str | None:
    return principal.organisation_id if principal.role == "dealer" else None


def _visible_key(session: Session, principal: Principal, code: str) -> str:
    key = item_codes.key_of(session, principal.tenant_id, code)
    org = _dealer_org(principal)
    if org is not None:
        held = session.get(EpcisCustody, (principal.tenant_id, org, key))
        if held is None:
            raise NotFound(f"no item {code} in this organisation's custody")
    return key


def _alert_filter(principal: Principal) -> Any:
    org = _dealer_org(principal)
    if org is None:
        return DiversionAlert.tenant_id == principal.tenant_id
    return (DiversionAlert.tenant_id == principal.tenant_id) & or_(
        DiversionAlert.blamed_org == org,
        DiversionAlert.expected_org == org,
        DiversionAlert.observed_org == org,
    )


def alert_out(alert: DiversionAlert) -> dict[str, Any]:
    """An alert as the scan API and the views show it."""
    return {
        "id": alert.id,
        "rule": alert.rule,
        "severity": alert.severity,
        "status": alert.status,
        "subject": alert.subject,
        "subject_kind": alert.subject_kind,
        "item_count": alert.item_count,
        "expected_org": alert.expected_org,
        "expected_division": alert.expected_division,
        "observed_org": alert.observed_org,
        "observed_division": alert.observed_division,
        "blamed_org": alert.blamed_org,
        "detail": alert.detail,
        "evidence": evidence_json(alert),
        "created_at": alert.created_at.isoformat().replace("+00:00", "Z"),
    }


def _allocation(
    session: Session, tenant_id: str, key: str, containers: list[str], batch_id: str | None
) -> dict[str, Any] | None:
    targets = [key, *containers] + ([batch_id] if batch_id else [])
    rows = {
        row.target: row
        for row in session.scalars(
            select(Allocation).where(
                Allocation.tenant_id == tenant_id,
                Allocation.target.in_(targets),
                Allocation.replaced_at.is_(None),
            )
        )
    }
    for target in targets:
        row = rows.get(target)
        if row is not None and (row.target_kind == "batch") == (target == batch_id):
            return {
                "id": row.id,
                "target_kind": row.target_kind,
                "target": row.target,
                "organisation_id": row.organisation_id,
                "division_code": row.division_code,
                "division_name": division_name(row.division_code),
            }
    return None


def item_state(*, session: Session, principal: Principal, code: str) -> dict[str, Any]:
    """The item's (or container's) state now: holder, place, status, parent, allocation."""
    tenant_id = principal.tenant_id
    key = _visible_key(session, principal, code)
    found = paths.state_values(session, tenant_id, key)
    if found is None:
        raise NotFound(f"no movement of {code} has been recorded")
    own, containers = found
    state = ItemState(**own.columns())
    movements = len(paths.path(session, tenant_id, key))
    alerts = session.scalar(
        select(func.count())
        .select_from(DiversionAlert)
        .where(_alert_filter(principal), DiversionAlert.subject.in_([key, *containers]))
    )
    inside = session.scalar(
        select(func.count()).where(ItemState.tenant_id == tenant_id, ItemState.parent == key)
    )
    return {
        "item": key,
        "kind": state.kind,
        "gtin": state.gtin,
        "batch_id": state.batch_id,
        "status": state.status,
        "holder": state.holder_org,
        "shipped_to": state.shipped_to_org,
        "location": state.location,
        "division": state.division_code,
        "division_name": division_name(state.division_code),
        "parent": state.parent,
        "containers": containers,
        "allocation": _allocation(session, tenant_id, key, containers, state.batch_id),
        "last_event_at": state.updated_at.isoformat().replace("+00:00", "Z"),
        "counts": {
            "movements": int(movements or 0),
            "alerts": int(alerts or 0),
            "inside": int(inside or 0),
        },
    }


def provenance(
    *,
    session: Session,
    principal: Principal,
    code: str,
    trees: LogTrees,
    signing_key: sm2.PublicKey,
) -> dict[str, Any]:
    """The item's path in order: each step's event as captured, its proof, verdict, alerts."""
    tenant_id = principal.tenant_id
    key = _visible_key(session, principal, code)
    steps = paths.path(session, tenant_id, key)
    if not steps:
        raise NotFound(f"no movement of {code} has been recorded")
    pks = [step.event_pk for step in steps]
    events = {
        pk: (event_id, body, seq)
        for pk, event_id, body, seq in session.execute(
            select(EpcisEvent.id, EpcisEvent.event_id, EpcisEvent.body, EpcisEvent.audit_seq).where(
                EpcisEvent.tenant_id == tenant_id, EpcisEvent.id.in_(pks)
            )
        )
    }
    rows = [(step, *events[step.event_pk]) for step in steps if step.event_pk in events]
    subjects = {key} | {step.via for step in steps if step.via}
    alerts: dict[int, list[dict[str, Any]]] = {}
    for alert in session.scalars(
        select(DiversionAlert)
        .where(
            _alert_filter(principal),
            DiversionAlert.event_pk.in_(pks),
            DiversionAlert.subject.in_(subjects),
        )
        .order_by(DiversionAlert.created_at, DiversionAlert.id)
    ):
        assert alert.event_pk is not None
        alerts.setdefault(alert.event_pk, []).append(alert_out(alert))
    seqs = [row[3] for row in rows if row[3] is not None]
    proof_of = proofs.entry_proofs(
        session=session, tenant_id=tenant_id, seqs=seqs, trees=trees, signing_key=signing_key
    )
    path = []
    for movement, event_id, body, seq in rows:
        path.append(
            {
                "at": movement.at.isoformat().replace("+00:00", "Z"),
                "step": movement.step,
                "from": movement.from_org,
                "to": movement.to_org,
                "division": movement.division_code,
                "division_name": division_name(movement.division_code),
                "via": movement.via,
                "verdict": movement.verdict,
                "eventID": event_id,
                "event": json.loads(body),
                "audit_seq": seq,
                "proof": proof_of.get(seq) if seq is not None else None,
                "alerts": alerts.get(movement.event_pk, []),
            }
        )
    return {"item": key, "path": path}
