"""Delivering subscription results to webhooks: at least once, with retries and backoff.

The deliverer walks each due subscription's backlog (one row per capture, oldest first),
selects the capture's events that match the named query as the subscriber may see them,
and POSTs them as an EPCISQueryDocument, at most ``epcis_webhook_batch`` events per
request, signed with ``GS1-Signature: sha256=<HMAC-SHA256 of the body, key =
signatureToken>``. Progress (the last event delivered per capture) is written only after
the subscriber answered 2xx, so a crash or a failure sends the same events again: at least
once, never lost. A failure waits 1, 2, 4, ... seconds (up to ``epcis_webhook_retry_max``)
and is visible on the subscription (``delivery``: status, attempts, lastError).

Connections go only to public addresses checked as they are made (trace_api/epcis/
outbound.py), unless ``epcis_webhook_allow_private``; redirects are not followed. What the
subscriber sees of a failure is its class only ("could not connect", "timed out", "HTTP
error status 5xx", ...), never the OS error or the exact status: otherwise lastError
would tell whoever can subscribe which ports answer where. The detail goes to the log.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpcore
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from trace_api.db import transaction
from trace_api.epcis import destinations, documents, outbound, parameters, query, subscriptions
from trace_api.epcis.query import Viewer
from trace_api.models import (
    EpcisEvent,
    EpcisQuery,
    EpcisSubscription,
    EpcisSubscriptionBacklog,
    utcnow,
)
from trace_api.settings import Settings

_log = logging.getLogger(__name__)


@dataclass
class _Batch:
    subscription_id: str
    body: bytes
    signature_token: str | None
    dest: str
    count: int
    progress: dict[str, int]  # capture id -> last event id delivered
    finished: list[str]  # captures with nothing left
    fire_next: datetime | None  # for a schedule: when it fires next once this run is done
    send: bool  # whether there is a document to POST


class WebhookDeliverer:
    """Delivers due subscriptions; run by a thread in ``trace serve`` (or called by tests)."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        settings: Settings,
        clock: Callable[[], datetime] = utcnow,
        network: httpcore.NetworkBackend | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """``network`` makes the connections to the addresses checked (tests record them);
        ``ssl_context`` verifies subscribers' certificates (default: certifi's roots)."""
        self._sessions = sessions
        self._settings = settings
        self._clock = clock
        backend = outbound.PinnedBackend(
            allow_private=settings.epcis_webhook_allow_private, inner=network
        )
        self._pool = httpcore.ConnectionPool(ssl_context=ssl_context, network_backend=backend)

    def run_forever(self, stop: threading.Event) -> None:
        """Deliver until ``stop`` is set; never raises."""
        while not stop.is_set():
            try:
                busy = self.deliver_due()
            except Exception:  # a broken database must not kill the thread
                _log.exception("webhook delivery failed")
                busy = 0
            stop.wait(0 if busy else self._settings.epcis_webhook_poll)

    def close(self) -> None:
        self._pool.close()

    def deliver_due(self) -> int:
        """One attempt for every subscription due now; how many requests were sent."""
        now = self._clock()
        with transaction(self._sessions) as session:
            due = list(
                session.scalars(
                    select(EpcisSubscription.id)
                    .where(EpcisSubscription.next_attempt_at <= now)
                    .order_by(EpcisSubscription.next_attempt_at)
                )
            )
        return sum(self.deliver(subscription_id, now) for subscription_id in due)

    def deliver(self, subscription_id: str, now: datetime) -> int:
        """Send the subscription's next batch, if it has one; 1 when a request was sent."""
        with transaction(self._sessions) as session:
            batch = self._next_batch(session, subscription_id, now)
        if batch is None:
            return 0
        error = self._post(batch) if batch.send else None
        with transaction(self._sessions) as session:
            self._record(session, batch, error, now)
        return int(batch.send)

    def _next_batch(self, session: Session, subscription_id: str, now: datetime) -> _Batch | None:
        record = session.get(EpcisSubscription, subscription_id)
        if record is None:
            return None
        named = session.get(EpcisQuery, record.query_id)
        assert named is not None
        parsed = parameters.parse(json.loads(named.query))
        viewer = Viewer(record.tenant_id, record.organisation_id)
        limit = self._settings.epcis_webhook_batch
        rows: list[EpcisEvent] = []
        progress: dict[str, int] = {}
        finished: list[str] = []
        backlog = session.scalars(
            select(EpcisSubscriptionBacklog)
            .where(EpcisSubscriptionBacklog.subscription_id == record.id)
            .order_by(EpcisSubscriptionBacklog.created_at, EpcisSubscriptionBacklog.capture_id)
        ).all()
        for item in backlog:
            if len(rows) >= limit:
                break
            found, last, done = self._capture_events(
                session, viewer, parsed, record, item, limit - len(rows)
            )
            rows += found
            progress[item.capture_id] = last
            if done:
                finished.append(item.capture_id)
        fire_next = None
        send = bool(rows)
        if not record.stream and len(rows) < limit:  # this run is complete
            allowed = subscriptions.parse_schedule(json.loads(record.schedule or "{}"))
            fire_next = subscriptions.next_fire(allowed, now)
            send = send or record.report_if_empty
        body = b""
        if send:
            document = documents.query_document(
                rows, query_name=named.name, subscription_id=record.id
            )
            body = json.dumps(document, ensure_ascii=False).encode()
        return _Batch(
            record.id,
            body,
            record.signature_token,
            record.dest,
            len(rows),
            progress,
            finished,
            fire_next,
            send,
        )

    def _capture_events(
        self,
        session: Session,
        viewer: Viewer,
        parsed: parameters.EventQuery,
        record: EpcisSubscription,
        item: EpcisSubscriptionBacklog,
        room: int,
    ) -> tuple[list[EpcisEvent], int, bool]:
        statement = (
            select(EpcisEvent)
            .where(*query.conditions(viewer, parsed))
            .where(
                EpcisEvent.capture_id == item.capture_id,
                EpcisEvent.id > item.after_pk,
                EpcisEvent.record_time >= record.initial_record_time,
            )
            .order_by(EpcisEvent.id)
        )
        found: list[EpcisEvent] = []
        last = item.after_pk
        for row in session.scalars(statement.limit(room * 4 + 50)):
            last = row.id
            if all(check(json.loads(row.body)) for check in parsed.checks):
                found.append(row)
                if len(found) == room:
                    more = session.scalar(statement.where(EpcisEvent.id > last).limit(1))
                    return found, last, more is None
        return found, last, True

    def _post(self, batch: _Batch) -> str | None:
        """None when the subscriber answered 2xx, else the coarse class of the failure."""
        try:
            status = self._send(batch)
        except _FAILURES as exc:
            _log.warning(
                "webhook delivery for subscription %s to %s failed: %s: %s",
                batch.subscription_id,
                batch.dest,
                type(exc).__name__,
                exc,
            )
            return _coarse(exc)
        if 200 <= status < 300:
            return None
        _log.warning(
            "webhook delivery for subscription %s to %s: HTTP %d",
            batch.subscription_id,
            batch.dest,
            status,
        )
        if 300 <= status < 400:
            return "HTTP redirect status 3xx (redirects are not followed)"
        return f"HTTP error status {min(status // 100, 5)}xx"

    def _send(self, batch: _Batch) -> int:
        """POST the batch; the subscriber's status code (its body is not read)."""
        dest = destinations.parse(batch.dest)  # stored ones may predate today's rules
        headers = [
            ("Host", dest.netloc),
            ("Content-Type", "application/json"),
            ("GS1-EPCIS-Version", "2.0.0"),
        ]
        if batch.signature_token:
            headers.append(("GS1-Signature", signature(batch.signature_token, batch.body)))
        url = httpcore.URL(scheme=dest.scheme, host=dest.host, port=dest.port, target=dest.target)
        seconds = self._settings.epcis_webhook_timeout
        timeout = {"connect": seconds, "read": seconds, "write": seconds, "pool": seconds}
        with self._pool.stream(
            "POST", url, headers=headers, content=batch.body, extensions={"timeout": timeout}
        ) as response:
            return response.status

    def _record(self, session: Session, batch: _Batch, error: str | None, now: datetime) -> None:
        record = session.get(EpcisSubscription, batch.subscription_id)
        if record is None:  # unsubscribed meanwhile
            return
        if batch.send:
            record.last_attempt_at = now
        if error is not None:
            record.attempts += 1
            record.status = "retrying"
            record.last_error = error
            wait = min(self._settings.epcis_webhook_retry_max, 2.0 ** (record.attempts - 1))
            record.next_attempt_at = now + timedelta(seconds=wait)
            return
        for capture_id, last in batch.progress.items():
            item = session.get(EpcisSubscriptionBacklog, (record.id, capture_id))
            if item is None:
                continue
            if capture_id in batch.finished:
                session.delete(item)
            else:
                item.after_pk = max(item.after_pk, last)
        record.attempts = 0
        record.status = "active"
        record.last_error = None
        if batch.send:
            record.last_notified_at = now
        record.delivered_events += batch.count
        record.next_attempt_at = batch.fire_next or now
        if record.stream and not batch.progress:
            # nothing in the backlog: look again when the next capture arrives
            record.next_attempt_at = now + timedelta(seconds=self._settings.epcis_webhook_poll)


# What a delivery can fail with short of an answer; anything else is a bug, for the log.
_FAILURES = (
    destinations.InvalidDestination,
    outbound.DestinationRefused,
    httpcore.TimeoutException,
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.UnsupportedProtocol,
    OSError,
)


def _coarse(exc: Exception) -> str:
    """The class of a failure, as the subscription shows it."""
    if isinstance(exc, outbound.DestinationRefused):
        return "destination refused: not a public address"
    if isinstance(exc, destinations.InvalidDestination):
        return "destination refused: not an http(s) URL without credentials"
    if isinstance(exc, httpcore.TimeoutException):
        return "timed out"
    return "could not connect"


def has_work(session: Session, subscription_id: str) -> bool:
    """Whether a subscription still has captures to look at (tests and health)."""
    return (
        session.scalar(
            select(EpcisSubscriptionBacklog.capture_id)
            .where(EpcisSubscriptionBacklog.subscription_id == subscription_id)
            .limit(1)
        )
        is not None
    )


def signature(token: str, body: bytes) -> str:
    """The GS1-Signature header value a subscriber should expect for ``body``."""
    return "sha256=" + hmac.new(token.encode(), body, hashlib.sha256).hexdigest()
