"""Webhook subscriptions: a subscriber that is down for a while loses nothing."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from epcis_support import capture, document, object_event
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fixtures.anvil import free_port
from fixtures.app import TenantKeys
from trace_api.epcis.webhooks import WebhookDeliverer, signature
from trace_api.models import utcnow

TOKEN = "13df38d8275b13f05704629e5f1cf3d45d6132d5"


class Receiver:
    """A webhook subscriber on a loopback port that can be down, up, or failing."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.documents: list[dict[str, Any]] = []
        self.signatures_ok: list[bool] = []
        self.fail_next = 0
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/epcis-hook"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.fail_next:
                    receiver.fail_next -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                receiver.signatures_ok.append(
                    self.headers.get("GS1-Signature") == signature(TOKEN, body)
                )
                receiver.documents.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def event_ids(self) -> list[str]:
        return [
            e["eventID"]
            for d in self.documents
            for e in d["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        ]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(free_port())
    yield r
    r.stop()


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def _subscribe(client: TestClient, tenant: TenantKeys, dest: str, **extra: Any) -> str:
    query = {"name": "shipments", "query": {"EQ_bizStep": ["shipping"]}}
    assert (
        client.post("/epcis/queries", json=query, headers=tenant.auth("operator")).status_code
        == 201
    )
    body = {"dest": dest, "signatureToken": TOKEN, "stream": True, **extra}
    body = {k: v for k, v in body.items() if v is not None}
    created = client.post(
        "/epcis/queries/shipments/subscriptions", json=body, headers=tenant.auth("operator")
    )
    assert created.status_code == 201, created.text
    assert created.headers["location"].endswith(
        f"/subscriptions/{created.json()['subscriptionID']}"
    )
    assert "signatureToken" not in created.json()
    return str(created.json()["subscriptionID"])


def _state(client: TestClient, tenant: TenantKeys, subscription: str) -> dict[str, Any]:
    response = client.get(
        f"/epcis/queries/shipments/subscriptions/{subscription}", headers=tenant.auth("operator")
    )
    assert response.status_code == 200
    return dict(response.json())


def _shipments(start: int, count: int) -> tuple[dict[str, Any], list[str]]:
    events = []
    for n in range(start, start + count):
        step = "shipping" if n % 3 else "receiving"  # every third one does not match
        events.append(
            object_event(n, bizStep=step, eventID=f"urn:uuid:00000000-0000-4000-8000-{n:012d}")
        )
    wanted = [e["eventID"] for e in events if e["bizStep"] == "shipping"]
    return document(*events), wanted


def _drain(deliverer: WebhookDeliverer, clock: Clock, rounds: int = 40) -> None:
    """Let time pass (past any backoff) and deliver what is due, without sleeping."""
    for _ in range(rounds):
        clock.advance(30)
        deliverer.deliver_due()


def test_a_subscriber_down_for_a_while_then_up_gets_every_matching_event(
    app: FastAPI, client: TestClient, tenant: TenantKeys, receiver: Receiver
) -> None:
    subscription = _subscribe(client, tenant, receiver.url)
    clock = Clock()  # from now on: the subscription is due at once, however slow its set-up
    settings = app.state.settings.model_copy(update={"epcis_webhook_batch": 4})
    deliverer = WebhookDeliverer(sessions=app.state.sessions, settings=settings, clock=clock)
    expected: list[str] = []
    for start in (0, 30, 60):  # three captures while nobody listens
        doc, wanted = _shipments(start, 10)
        capture(client, tenant, doc)
        expected += wanted
        deliverer.deliver_due()
        clock.advance(0.5)
    for _ in range(5):
        clock.advance(60)
        deliverer.deliver_due()
    down = _state(client, tenant, subscription)["delivery"]
    assert down["status"] == "retrying"
    assert down["attempts"] >= 5
    assert "ConnectError" in down["lastError"]
    assert down["pendingCaptures"] == 3
    assert down["deliveredEvents"] == 0
    assert receiver.documents == []

    receiver.start()
    receiver.fail_next = 2  # up, but answering 503 at first
    _drain(deliverer, clock)
    doc, wanted = _shipments(90, 7)  # and a capture once it is up
    capture(client, tenant, doc)
    expected += wanted
    _drain(deliverer, clock)

    got = receiver.event_ids()
    assert sorted(set(got)) == sorted(expected)  # every matching event, nothing else
    assert len(got) == len(expected)  # and, here, each once
    assert all(receiver.signatures_ok)
    assert all(
        d["epcisBody"]["queryResults"]["subscriptionID"] == subscription for d in receiver.documents
    )
    assert (
        max(
            len(d["epcisBody"]["queryResults"]["resultsBody"]["eventList"])
            for d in receiver.documents
        )
        <= 4
    )
    up = _state(client, tenant, subscription)
    assert up["delivery"]["status"] == "active"
    assert up["delivery"]["pendingCaptures"] == 0
    assert up["delivery"]["deliveredEvents"] == len(expected)
    assert up["lastNotifiedAt"]


def test_retries_back_off_and_the_wait_is_visible(
    app: FastAPI, client: TestClient, tenant: TenantKeys, receiver: Receiver
) -> None:
    subscription = _subscribe(client, tenant, receiver.url)
    clock = Clock()  # from now on: the subscription is due at once, however slow its set-up
    deliverer = WebhookDeliverer(
        sessions=app.state.sessions, settings=app.state.settings, clock=clock
    )
    capture(client, tenant, _shipments(1, 2)[0])
    clock.advance(1)
    waits = []
    for _ in range(6):
        deliverer.deliver_due()
        state = _state(client, tenant, subscription)["delivery"]
        next_at = datetime.fromisoformat(state["nextAttemptAt"].replace("Z", "+00:00"))
        waits.append(round((next_at - clock.now).total_seconds()))
        clock.now = next_at + timedelta(milliseconds=1)  # shown to the millisecond
    assert waits == [1, 2, 4, 8, 16, 32]


def test_a_crash_before_progress_is_written_means_a_second_delivery_not_a_loss(
    app: FastAPI, client: TestClient, tenant: TenantKeys, receiver: Receiver, monkeypatch: Any
) -> None:
    _subscribe(client, tenant, receiver.url)
    clock = Clock()  # from now on: the subscription is due at once, however slow its set-up
    deliverer = WebhookDeliverer(
        sessions=app.state.sessions, settings=app.state.settings, clock=clock
    )
    doc, wanted = _shipments(3, 5)
    capture(client, tenant, doc)
    receiver.start()
    clock.advance(1)

    def crash(*args: Any) -> None:
        raise RuntimeError("killed after sending")

    with monkeypatch.context() as patched:
        patched.setattr(WebhookDeliverer, "_record", crash)
        with pytest.raises(RuntimeError):
            deliverer.deliver_due()
    _drain(deliverer, clock, rounds=3)
    assert receiver.event_ids() == wanted + wanted  # sent again: at least once


def test_a_subscription_needs_stream_or_schedule_and_an_http_dest(
    client: TestClient, tenant: TenantKeys
) -> None:
    query = {"name": "all", "query": {}}
    client.post("/epcis/queries", json=query, headers=tenant.auth("operator"))
    url = "/epcis/queries/all/subscriptions"
    for body in (
        {"dest": "http://127.0.0.1:9/x"},
        {"dest": "ftp://example.com/x", "stream": True},
        {"dest": "http://127.0.0.1:9/x", "stream": True, "schedule": {"hour": "1"}},
        {"dest": "http://127.0.0.1:9/x", "schedule": {"hour": "25"}},
    ):
        response = client.post(url, json=body, headers=tenant.auth("operator"))
        assert response.status_code == 400, body
        assert response.json()["type"] == "epcisException:SubscriptionControlsException"
    scheduled = client.post(
        url,
        json={"dest": "http://127.0.0.1:9/x", "schedule": {"hour": "1", "minute": "5"}},
        headers=tenant.auth("operator"),
    )
    assert scheduled.status_code == 201
    next_at = scheduled.json()["delivery"]["nextAttemptAt"]
    assert next_at[11:19] == "01:05:00"


def test_a_schedule_delivers_what_gathered_when_it_fires_and_the_past_on_request(
    app: FastAPI, client: TestClient, tenant: TenantKeys, receiver: Receiver
) -> None:
    doc, before = _shipments(200, 6)
    capture(client, tenant, doc)  # captured before the subscription exists
    clock = Clock()
    deliverer = WebhookDeliverer(
        sessions=app.state.sessions, settings=app.state.settings, clock=clock
    )
    subscription = _subscribe(
        client,
        tenant,
        receiver.url,
        stream=None,
        schedule={"second": "0"},
        initialRecordTime="2000-01-01T00:00:00Z",
    )
    doc, after = _shipments(300, 6)
    capture(client, tenant, doc)
    receiver.start()
    fires_at = _state(client, tenant, subscription)["delivery"]["nextAttemptAt"]
    assert fires_at.endswith(":00.000Z")
    clock.now = datetime.fromisoformat(fires_at.replace("Z", "+00:00")) - timedelta(seconds=1)
    deliverer.deliver_due()
    assert receiver.documents == []  # not yet
    clock.advance(2)
    deliverer.deliver_due()
    assert sorted(receiver.event_ids()) == sorted(before + after)
    assert len(receiver.documents) == 1
