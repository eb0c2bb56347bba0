"""Diversion alerts: raising them (from the route checks) and their status workflow."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from trace_api.audit import log as audit_log
from trace_api.models import DiversionAlert, new_id, utcnow

ALERT_RAISED = "diversion.alert_raised"
ALERT_STATUS_CHANGED = "diversion.alert_status_changed"


@dataclass(frozen=True)
class NewAlert:
    """A breach found by a route check; see docs/channels.md for the rules and severities."""

    subject: str
    subject_kind: str  # item | container
    rule: str
    severity: str  # low | medium | high | critical
    detail: str
    item_count: int = 1
    expected_org: str | None = None
    expected_division: str | None = None
    observed_org: str | None = None
    observed_division: str | None = None
    blamed_org: str | None = None
    event_pk: int | None = None
    # The evidence events: [{"event_pk": int, "eventID": str, "role": "shipment" | ...}]
    evidence: Sequence[dict[str, Any]] = field(default_factory=tuple)


def raise_alerts(
    *, session: Session, tenant_id: str, alerts: Sequence[NewAlert], actor: str
) -> list[str]:
    """Store ``alerts`` (open) and log each one; return their ids in order."""
    if not alerts:
        return []
    now = utcnow()
    rows = [
        {
            "id": new_id(),
            "tenant_id": tenant_id,
            "subject": a.subject,
            "subject_kind": a.subject_kind,
            "item_count": a.item_count,
            "rule": a.rule,
            "severity": a.severity,
            "status": "open",
            "status_reason": None,
            "expected_org": a.expected_org,
            "expected_division": a.expected_division,
            "observed_org": a.observed_org,
            "observed_division": a.observed_division,
            "blamed_org": a.blamed_org,
            "event_pk": a.event_pk,
            "evidence": json.dumps(list(a.evidence), separators=(",", ":")),
            "detail": a.detail,
            "created_at": now,
            "updated_at": now,
        }
        for a in alerts
    ]
    session.execute(insert(DiversionAlert), rows)
    audit_log.append_many(
        session=session,
        tenant_id=tenant_id,
        changes=[
            audit_log.Change(
                ALERT_RAISED,
                {
                    key: row[key]
                    for key in (
                        "id",
                        "subject",
                        "subject_kind",
                        "item_count",
                        "rule",
                        "severity",
                        "expected_org",
                        "expected_division",
                        "observed_org",
                        "observed_division",
                        "blamed_org",
                        "detail",
                    )
                }
                | {"evidence": list(alert.evidence)},
                actor=actor,
                organisation_id=alert.blamed_org,
                items=[alert.subject],
            )
            for row, alert in zip(rows, alerts, strict=True)
        ],
        at=now,
    )
    return [str(row["id"]) for row in rows]
