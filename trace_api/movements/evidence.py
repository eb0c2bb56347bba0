"""The evidence of a diversion alert: who is to blame, which events show it, their proofs."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trace_api.alerts import service as alerts_service
from trace_api.channels import divisions
from trace_api.epcis.stored import StoredEvent
from trace_api.models import DiversionAlert, EpcisEvent
from trace_api.movements import paths, rules
from trace_api.movements.steps import HOLDING_STEPS


def authorised_holder(
    session: Session, tenant_id: str, item: str, fallback: str | None
) -> str | None:
    """The last party whose custody of ``item`` was authorised (from its path)."""
    for step in reversed(paths.path(session, tenant_id, item)):
        if step.verdict == "alert":
            continue
        if step.step in HOLDING_STEPS and step.to_org:
            return step.to_org
        if step.step == "ship" and step.from_org and step.verdict == "ok":
            return step.from_org  # an unchecked shipment proves no authorised custody
    return fallback


def last_shipment(session: Session, tenant_id: str, item: str) -> int | None:
    """The event that last shipped ``item`` (the evidence of where it was meant to go)."""
    shipped = [s.event_pk for s in paths.path(session, tenant_id, item) if s.step == "ship"]
    return shipped[-1] if shipped else None


def build_alert(
    *,
    session: Session,
    tenant_id: str,
    subject: str,
    subject_kind: str,
    item_count: int,
    breaches: list[rules.Breach],
    blamed: str | None,
    event: StoredEvent | None,
    shipment_pk: int | None,
    known: dict[int, StoredEvent],
    scan: dict[str, Any] | None = None,
) -> alerts_service.NewAlert:
    """An alert for ``breaches`` of ``subject``, with its evidence events."""
    headline = rules.headline(breaches)
    evidence: list[dict[str, Any]] = []
    if shipment_pk is not None:
        evidence.append(_evidence(session, tenant_id, shipment_pk, "shipment", known))
    if event is not None:
        evidence.append(_evidence(session, tenant_id, event.pk, "deviation", known))
    if scan is not None:
        evidence.append({"role": "consumer_scan", **scan})
    others = sorted({b.rule for b in breaches} - {headline.rule})
    detail = headline.detail + (f" (also: {', '.join(others)})" if others else "")
    return alerts_service.NewAlert(
        subject=subject,
        subject_kind=subject_kind,
        rule=headline.rule,
        severity=headline.severity,
        detail=detail,
        item_count=item_count,
        expected_org=headline.expected_org,
        expected_division=headline.expected_division,
        observed_org=headline.observed_org,
        observed_division=headline.observed_division,
        blamed_org=blamed,
        event_pk=event.pk if event else None,
        evidence=evidence,
    )


def _evidence(
    session: Session, tenant_id: str, pk: int, role: str, known: dict[int, StoredEvent]
) -> dict[str, Any]:
    stored = known.get(pk)
    event_id: str | None
    seq: int | None
    if stored is not None:
        event_id, seq = stored.prepared.event_id, stored.audit_seq
    else:
        row = session.execute(
            select(EpcisEvent.event_id, EpcisEvent.audit_seq).where(
                EpcisEvent.id == pk, EpcisEvent.tenant_id == tenant_id
            )
        ).one_or_none()
        event_id, seq = (row[0], row[1]) if row else (None, None)
    return {
        "role": role,
        "event_pk": pk,
        "eventID": event_id,
        "audit_seq": seq,
        "proof": f"/v1/audit/entries/{seq}/proof" if seq is not None else None,
    }


def division_name(code: str | None) -> str | None:
    """The display name of a division code, if it is in the shipped table."""
    if code is None or not divisions.is_known(code):
        return None
    return divisions.display_name(code)


def evidence_json(alert: DiversionAlert) -> list[dict[str, Any]]:
    """The stored evidence list of an alert."""
    value = json.loads(alert.evidence or "[]")
    return list(value) if isinstance(value, list) else []
