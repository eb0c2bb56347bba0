"""Webhook subscriptions to named queries: creating, showing, removing, and schedules.

Delivery is trace_api/epcis/webhooks.py. A subscription is either a stream (every capture
that brings matching events is delivered as soon as possible) or a schedule (matching
events gathered since the last run are delivered when the schedule fires, like cron).
Each capture leaves a backlog row per subscription in its own transaction (an outbox),
so nothing captured after a subscription exists can be missed.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from trace_api.audit import log as audit_log
from trace_api.epcis import destinations, outbound
from trace_api.epcis.errors import EpcisForbidden, NoSuchResource, SubscriptionControlsError
from trace_api.epcis.events import format_time, parse_time
from trace_api.models import (
    EpcisCaptureJob,
    EpcisQuery,
    EpcisSubscription,
    EpcisSubscriptionBacklog,
    utcnow,
)

# Schedule fields, smallest first, with their ranges (EPCIS 2.0 section 8.2.5.3).
_FIELDS = (
    ("second", 0, 59),
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("dayOfMonth", 1, 31),
    ("month", 1, 12),
    ("dayOfWeek", 1, 7),
)
_ELEMENT = re.compile(r"\s*(?:(\d+)|\[(\d+)-(\d+)\])\s*")


def parse_schedule(schedule: Any) -> dict[str, set[int] | None]:
    """Each field's allowed values (None: any). Fields smaller than the smallest one given
    default to their minimum, larger ones to any value: {"hour": "1", "minute": "5"} fires
    daily at 01:05:00."""
    if not isinstance(schedule, dict) or not schedule:
        raise SubscriptionControlsError("schedule must be an object with at least one field")
    unknown = set(schedule) - {name for name, _, _ in _FIELDS}
    if unknown:
        raise SubscriptionControlsError(f"schedule: unknown field {sorted(unknown)[0]!r}")
    given = [name for name, _, _ in _FIELDS if name in schedule]
    smallest = [name for name, _, _ in _FIELDS].index(given[0])
    allowed: dict[str, set[int] | None] = {}
    for position, (name, low, high) in enumerate(_FIELDS):
        if name in schedule:
            allowed[name] = _field_values(name, str(schedule[name]), low, high)
        elif position < smallest and name != "dayOfWeek":
            allowed[name] = {low}
        else:
            allowed[name] = None
    return allowed


def _field_values(name: str, text: str, low: int, high: int) -> set[int]:
    values: set[int] = set()
    for element in text.split(","):
        m = _ELEMENT.fullmatch(element)
        if m is None:
            raise SubscriptionControlsError(
                f"schedule.{name}: {text!r} is not a list of numbers and [n-m] ranges"
            )
        first, last = (int(m[1]), int(m[1])) if m[1] else (int(m[2]), int(m[3]))
        if not low <= first <= last <= high:
            raise SubscriptionControlsError(f"schedule.{name}: values run from {low} to {high}")
        values.update(range(first, last + 1))
    return values


def next_fire(allowed: dict[str, set[int] | None], after: datetime) -> datetime:
    """The first second after ``after`` (UTC) that the schedule matches."""

    def ok(field: str, value: int) -> bool:
        wanted = allowed[field]
        return wanted is None or value in wanted

    moment = after.replace(microsecond=0) + timedelta(seconds=1)
    for _ in range(366 * 24 * 60 + 1):
        if (
            ok("month", moment.month)
            and ok("dayOfMonth", moment.day)
            and ok("dayOfWeek", moment.isoweekday())
            and ok("hour", moment.hour)
            and ok("minute", moment.minute)
        ):
            seconds = sorted(s for s in (allowed["second"] or range(60)) if s >= moment.second)
            if seconds:
                return moment.replace(second=seconds[0])
        moment = moment.replace(second=0) + timedelta(minutes=1)
    raise SubscriptionControlsError("the schedule never fires")


def _check_dest(dest: Any, allow_private: bool) -> str:
    """``dest`` when it is an http(s) URL without credentials whose host resolves to
    public addresses only (any address, with ``allow_private``). The deliverer checks the
    addresses again as it connects: DNS answers change."""
    if not isinstance(dest, str):
        raise SubscriptionControlsError("dest must be the subscriber's http(s) URL")
    try:
        target = destinations.parse(dest)
    except destinations.InvalidDestination as exc:
        raise SubscriptionControlsError(f"dest {exc.reason}") from None
    if not allow_private:
        try:
            outbound.checked_addresses(target.host, target.port, allow_private=False)
        except outbound.DestinationRefused:
            raise SubscriptionControlsError(
                f"dest host {target.host} is not a public internet address: loopback, "
                "private, link-local, shared (CGNAT), multicast, reserved and documentation "
                "addresses, and IPv6 forms of them, are refused"
            ) from None
        except OSError:
            raise SubscriptionControlsError(f"dest host {target.host} does not resolve") from None
    return dest


def create(
    *,
    session: Session,
    query: EpcisQuery,
    body: Any,
    actor: str,
    organisation_id: str | None,
    allow_private: bool,
) -> EpcisSubscription:
    """A subscription of ``query`` for the caller (a dealer's deliveries keep its view)."""
    if not isinstance(body, dict):
        raise SubscriptionControlsError("the body must be a JSON object")
    dest = _check_dest(body.get("dest"), allow_private)
    stream, schedule = body.get("stream"), body.get("schedule")
    if (stream is True) == (schedule is not None):
        raise SubscriptionControlsError('give either "stream": true or a schedule')
    allowed = parse_schedule(schedule) if schedule is not None else None
    token = body.get("signatureToken")
    if token is not None and not isinstance(token, str):
        raise SubscriptionControlsError("signatureToken must be a string")
    now = utcnow()
    initial = now
    if body.get("initialRecordTime") is not None:
        try:
            initial = parse_time(str(body["initialRecordTime"]))
        except ValueError:
            raise SubscriptionControlsError("initialRecordTime is not a date-time") from None
    record = EpcisSubscription(
        tenant_id=query.tenant_id,
        query_id=query.id,
        dest=dest,
        signature_token=token,
        stream=allowed is None,
        schedule=json.dumps(schedule) if schedule is not None else None,
        report_if_empty=bool(body.get("reportIfEmpty", False)),
        initial_record_time=initial,
        created_by=actor,
        organisation_id=organisation_id,
        status="active",
        attempts=0,
        next_attempt_at=next_fire(allowed, now) if allowed else now,
        delivered_events=0,
    )
    session.add(record)
    session.flush()
    _backfill(session, record)
    audit_log.append(
        session=session,
        tenant_id=query.tenant_id,
        kind="epcis.subscription_created",
        actor=actor,
        organisation_id=organisation_id,
        data={"subscriptionID": record.id, "query": query.name, "dest": dest},
    )
    return record


def _backfill(session: Session, record: EpcisSubscription) -> None:
    """Backlog rows for captures already stored when initialRecordTime lies before now."""
    captures = session.scalars(
        select(EpcisCaptureJob.id).where(
            EpcisCaptureJob.tenant_id == record.tenant_id,
            EpcisCaptureJob.stored_count > 0,
            EpcisCaptureJob.finished_at >= record.initial_record_time,
        )
    ).all()
    if captures:
        session.execute(
            insert(EpcisSubscriptionBacklog),
            [
                {
                    "subscription_id": record.id,
                    "capture_id": c,
                    "after_pk": 0,
                    "created_at": utcnow(),
                }
                for c in captures
            ],
        )


def get(*, session: Session, query: EpcisQuery, subscription_id: str) -> EpcisSubscription:
    """One subscription of a named query."""
    record = session.get(EpcisSubscription, subscription_id)
    if record is None or record.query_id != query.id:
        raise NoSuchResource(f"no subscription {subscription_id} of query {query.name!r}")
    return record


def list_for(*, session: Session, query: EpcisQuery) -> list[EpcisSubscription]:
    """The query's subscriptions, oldest first."""
    return list(
        session.scalars(
            select(EpcisSubscription)
            .where(EpcisSubscription.query_id == query.id)
            .order_by(EpcisSubscription.created_at, EpcisSubscription.id)
        )
    )


def delete(*, session: Session, record: EpcisSubscription, actor: str, others_too: bool) -> None:
    """Unsubscribe: the subscription and its backlog go. Only the subscriber may, unless
    ``others_too`` (the caller's role manages every key's subscriptions)."""
    if not others_too and record.created_by != actor:
        raise EpcisForbidden("only admins, operators and the subscriber end a subscription")
    session.query(EpcisSubscriptionBacklog).filter_by(subscription_id=record.id).delete()
    session.delete(record)
    session.flush()
    audit_log.append(
        session=session,
        tenant_id=record.tenant_id,
        kind="epcis.subscription_deleted",
        actor=actor,
        data={"subscriptionID": record.id},
    )


def pending_captures(session: Session, record: EpcisSubscription) -> int:
    """How many captures the subscription has still to look at."""
    return int(
        session.scalar(
            select(func.count()).where(EpcisSubscriptionBacklog.subscription_id == record.id)
        )
        or 0
    )


def out(session: Session, record: EpcisSubscription, query_name: str) -> dict[str, Any]:
    """A subscription as GS1's response schema shows it, with its delivery state."""
    body: dict[str, Any] = {
        "subscriptionID": record.id,
        "queryName": query_name,
        "dest": record.dest,
        "createdAt": format_time(record.created_at),
        "initialRecordTime": format_time(record.initial_record_time),
    }
    if record.stream:
        body["stream"] = True
    else:
        body["schedule"] = json.loads(record.schedule or "{}")
        body["reportIfEmpty"] = record.report_if_empty
    if record.last_notified_at is not None:
        body["lastNotifiedAt"] = format_time(record.last_notified_at)
    body["delivery"] = {
        "status": record.status,
        "attempts": record.attempts,
        "lastError": record.last_error,
        "lastAttemptAt": format_time(record.last_attempt_at) if record.last_attempt_at else None,
        "nextAttemptAt": format_time(record.next_attempt_at),
        "pendingCaptures": pending_captures(session, record),
        "deliveredEvents": record.delivered_events,
    }
    return body
