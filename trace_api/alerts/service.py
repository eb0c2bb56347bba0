"""Diversion alerts: raising them (from the route checks) and their status workflow."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, and_, insert, or_, select, update
from sqlalchemy.orm import Session

from trace_api.audit import log as audit_log
from trace_api.cursors import decode_cursor, encode_cursor
from trace_api.errors import Conflict, InvalidInput, NotFound
from trace_api.models import (
    DiversionAlert,
    DiversionAlertChange,
    EpcisEvent,
    new_id,
    utcnow,
)
from trace_api.owned import get_owned

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


# -- reading alerts and their status workflow ---------------------------------------------------

# open -> acknowledged -> resolved; open or acknowledged -> dismissed (with a reason).
TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"acknowledged", "dismissed"}),
    "acknowledged": frozenset({"resolved", "dismissed"}),
    "resolved": frozenset(),
    "dismissed": frozenset(),
}


@dataclass(frozen=True)
class AlertFilter:
    """What to list; every field left None matches everything."""

    status: str | None = None
    severity: str | None = None
    rule: str | None = None
    organisation_id: str | None = None  # blamed, expected or observed
    blamed_org: str | None = None
    subject: str | None = None  # canonical key
    since: datetime | None = None  # created at or after
    until: datetime | None = None  # created before


def _involving(organisation_id: str) -> ColumnElement[bool]:
    return or_(
        DiversionAlert.blamed_org == organisation_id,
        DiversionAlert.expected_org == organisation_id,
        DiversionAlert.observed_org == organisation_id,
    )


def list_alerts(
    *,
    session: Session,
    tenant_id: str,
    filters: AlertFilter,
    viewer_org: str | None = None,
    limit: int = 100,
    cursor: str | None = None,
) -> tuple[list[DiversionAlert], str | None]:
    """A page of alerts, newest first, and the next page's cursor (None on the last page).

    ``viewer_org`` (a dealer's organisation) limits the alerts to those it is involved in.
    """
    query = select(DiversionAlert).where(DiversionAlert.tenant_id == tenant_id)
    for column, value in (
        (DiversionAlert.status, filters.status),
        (DiversionAlert.severity, filters.severity),
        (DiversionAlert.rule, filters.rule),
        (DiversionAlert.blamed_org, filters.blamed_org),
        (DiversionAlert.subject, filters.subject),
    ):
        if value is not None:
            query = query.where(column == value)
    if filters.organisation_id is not None:
        query = query.where(_involving(filters.organisation_id))
    if viewer_org is not None:
        query = query.where(_involving(viewer_org))
    if filters.since is not None:
        query = query.where(DiversionAlert.created_at >= _aware(filters.since, "since"))
    if filters.until is not None:
        query = query.where(DiversionAlert.created_at < _aware(filters.until, "until"))
    if cursor is not None:
        at, last_id = decode_cursor(cursor)
        query = query.where(
            or_(
                DiversionAlert.created_at < at,
                and_(DiversionAlert.created_at == at, DiversionAlert.id < last_id),
            )
        )
    query = query.order_by(DiversionAlert.created_at.desc(), DiversionAlert.id.desc())
    rows = list(session.scalars(query.limit(limit + 1)))
    page = rows[:limit]
    more = len(rows) > limit and page
    return page, encode_cursor(page[-1].created_at, page[-1].id) if more else None


def get_alert(
    *, session: Session, tenant_id: str, alert_id: str, viewer_org: str | None = None
) -> DiversionAlert:
    """One alert; NotFound for another tenant's, or one ``viewer_org`` is not involved in."""
    alert = get_owned(session, DiversionAlert, alert_id, tenant_id=tenant_id, noun="alert")
    if viewer_org is not None and viewer_org not in (
        alert.blamed_org,
        alert.expected_org,
        alert.observed_org,
    ):
        raise NotFound(f"no alert {alert_id}")
    return alert


def alert_history(*, session: Session, alert_id: str) -> list[DiversionAlertChange]:
    """An alert's status changes, oldest first."""
    query = select(DiversionAlertChange).where(DiversionAlertChange.alert_id == alert_id)
    return list(session.scalars(query.order_by(DiversionAlertChange.id)))


@dataclass(frozen=True)
class EvidenceEvent:
    """An evidence event with the audit-log entry that recorded it (its proof), if any."""

    event_id: str | None
    role: str | None
    audit_seq: int | None


def alert_evidence(*, session: Session, alert: DiversionAlert) -> list[EvidenceEvent]:
    """The alert's evidence events, in the order the route check gave them."""
    listed = [e for e in json.loads(alert.evidence or "[]") if isinstance(e, dict)]
    pks = [int(e["event_pk"]) for e in listed if isinstance(e.get("event_pk"), int)]
    stored = {
        pk: (event_id, seq)
        for pk, event_id, seq in session.execute(
            select(EpcisEvent.id, EpcisEvent.event_id, EpcisEvent.audit_seq).where(
                EpcisEvent.tenant_id == alert.tenant_id, EpcisEvent.id.in_(pks)
            )
        )
    }
    out = []
    for entry in listed:
        pk = entry.get("event_pk")
        event_id, seq = (
            stored[pk] if isinstance(pk, int) and pk in stored else (entry.get("eventID"), None)
        )
        out.append(EvidenceEvent(event_id=event_id, role=entry.get("role"), audit_seq=seq))
    return out


def change_status(
    *,
    session: Session,
    tenant_id: str,
    alert_id: str,
    status: str,
    reason: str | None,
    actor: str,
) -> DiversionAlert:
    """Move an alert along its workflow; Conflict for a transition the workflow lacks."""
    alert = get_alert(session=session, tenant_id=tenant_id, alert_id=alert_id)
    before = alert.status
    if status not in TRANSITIONS.get(before, frozenset()):
        allowed = ", ".join(sorted(TRANSITIONS.get(before, frozenset()))) or "none: it is final"
        raise Conflict(
            f"an alert cannot go from {before} to {status} (from {before}: {allowed})",
            **{"from": before, "to": status},
        )
    reason = (reason or "").strip() or None
    if status == "dismissed" and reason is None:
        raise InvalidInput("dismissing an alert needs a reason")
    now = utcnow()
    # Conditional on the status read above, so two concurrent changes cannot both apply.
    result = session.execute(
        update(DiversionAlert)
        .where(DiversionAlert.id == alert_id, DiversionAlert.status == before)
        .values(status=status, status_reason=reason, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], result).rowcount != 1:
        raise Conflict(f"alert {alert_id} changed meanwhile; read it again")
    session.add(
        DiversionAlertChange(
            alert_id=alert_id,
            from_status=before,
            to_status=status,
            reason=reason,
            actor=actor,
            at=now,
        )
    )
    session.flush()
    session.refresh(alert)
    audit_log.append(
        session=session,
        tenant_id=tenant_id,
        kind=ALERT_STATUS_CHANGED,
        actor=actor,
        organisation_id=alert.blamed_org,
        items=[alert.subject],
        data={"id": alert_id, "from": before, "to": status, "reason": reason},
    )
    return alert


def _aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None:
        raise InvalidInput(f"{what} needs a time zone (for example 2026-11-25T08:00:00Z)")
    return value
