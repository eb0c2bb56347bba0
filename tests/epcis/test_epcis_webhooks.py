"""Webhook subscriptions: a subscriber that is down for a while loses nothing; who may
subscribe; what a subscriber is told of failures; TLS to a pinned address."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from epcis_support import capture, document, object_event
from fastapi import FastAPI
from fastapi.testclient import TestClient
from webhook_support import TOKEN, Clock, FakeDns, Receiver, tls_contexts

from fixtures.anvil import free_port
from fixtures.app import TenantKeys
from trace_api.components import Components
from trace_api.epcis.webhooks import WebhookDeliverer
from trace_api.settings import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """These subscribers listen on loopback: allowed here, explicitly (it is off by default
    and refused in production; test_epcis_webhook_destinations.py holds that)."""
    return settings.model_copy(update={"epcis_webhook_allow_private": True})


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(free_port())
    yield r
    r.stop()


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
    settings = Components.of(app).settings.model_copy(update={"epcis_webhook_batch": 4})
    deliverer = WebhookDeliverer(
        sessions=Components.of(app).sessions, settings=settings, clock=clock
    )
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
    assert down["lastError"] == "could not connect"
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
        sessions=Components.of(app).sessions, settings=Components.of(app).settings, clock=clock
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
        sessions=Components.of(app).sessions, settings=Components.of(app).settings, clock=clock
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
        sessions=Components.of(app).sessions, settings=Components.of(app).settings, clock=clock
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


def test_last_error_shows_the_class_of_a_failure_and_the_log_the_detail(
    app: FastAPI,
    client: TestClient,
    tenant: TenantKeys,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    subscription = _subscribe(client, tenant, receiver.url)
    clock = Clock()
    deliverer = WebhookDeliverer(
        sessions=Components.of(app).sessions, settings=Components.of(app).settings, clock=clock
    )
    capture(client, tenant, _shipments(1, 2)[0])
    seen = []
    with caplog.at_level("WARNING", logger="trace_api.epcis.webhooks"):
        clock.advance(1)
        deliverer.deliver_due()  # nobody listens
        seen.append(_state(client, tenant, subscription)["delivery"]["lastError"])
        receiver.status = 405
        receiver.start()
        clock.advance(5)
        deliverer.deliver_due()
        seen.append(_state(client, tenant, subscription)["delivery"]["lastError"])
        receiver.status = 200
        receiver.fail_next = 1  # 503
        clock.advance(5)
        deliverer.deliver_due()
        seen.append(_state(client, tenant, subscription)["delivery"]["lastError"])
    assert seen == ["could not connect", "HTTP error status 4xx", "HTTP error status 5xx"]
    assert "Connection refused" in caplog.text  # the detail stays on the server
    assert "HTTP 405" in caplog.text
    assert "HTTP 503" in caplog.text


def test_a_redirect_is_not_followed(
    app: FastAPI, client: TestClient, tenant: TenantKeys, receiver: Receiver
) -> None:
    elsewhere = Receiver(free_port())
    elsewhere.start()
    try:
        subscription = _subscribe(client, tenant, receiver.url)
        receiver.status = 307
        receiver.headers = {"Location": elsewhere.url}
        receiver.start()
        clock = Clock()
        deliverer = WebhookDeliverer(
            sessions=Components.of(app).sessions, settings=Components.of(app).settings, clock=clock
        )
        capture(client, tenant, _shipments(1, 2)[0])
        clock.advance(1)
        deliverer.deliver_due()
        state = _state(client, tenant, subscription)["delivery"]
        assert state["lastError"] == "HTTP redirect status 3xx (redirects are not followed)"
        assert state["status"] == "retrying"
        assert len(receiver.hosts) == 1
        assert elsewhere.hosts == []
    finally:
        elsewhere.stop()


@pytest.mark.parametrize("certified", ["hooks.test", "other.test"])
def test_tls_is_checked_against_the_host_name_while_the_connection_is_pinned(
    app: FastAPI,
    client: TestClient,
    tenant: TenantKeys,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    certified: str,
) -> None:
    """The deliverer connects to the address it resolved and checked, yet TLS still names
    and verifies the URL's host: a certificate for another name fails the delivery."""
    FakeDns(monkeypatch, "hooks.test", ["127.0.0.1"])
    server_tls, client_tls = tls_contexts(tmp_path, certified)
    receiver.start(tls=server_tls)
    subscription = _subscribe(client, tenant, f"https://hooks.test:{receiver.port}/epcis-hook")
    clock = Clock()
    deliverer = WebhookDeliverer(
        sessions=Components.of(app).sessions,
        settings=Components.of(app).settings,
        clock=clock,
        ssl_context=client_tls,
    )
    doc, wanted = _shipments(1, 4)
    capture(client, tenant, doc)
    clock.advance(1)
    deliverer.deliver_due()
    state = _state(client, tenant, subscription)["delivery"]
    assert receiver.server_names == ["hooks.test"]  # SNI: the name, not 127.0.0.1
    if certified == "hooks.test":
        assert state["lastError"] is None
        assert receiver.event_ids() == wanted
        assert receiver.hosts == [f"hooks.test:{receiver.port}"]
    else:
        assert state["lastError"] == "could not connect"
        assert receiver.documents == []


def test_admins_and_operators_subscribe_dealers_and_compliance_only_read(
    client: TestClient, tenant: TenantKeys
) -> None:
    """The role matrix of the subscription endpoints."""
    query = {"name": "all", "query": {}}
    assert client.post("/epcis/queries", json=query, headers=tenant.auth("operator")).is_success
    url = "/epcis/queries/all/subscriptions"
    body = {"dest": "http://127.0.0.1:9/hook", "stream": True}
    may_subscribe = {"admin": 201, "operator": 201, "compliance": 403, "dealer": 403}
    made = {}
    for role, status in may_subscribe.items():
        response = client.post(url, json=body, headers=tenant.auth(role))
        assert response.status_code == status, role
        if status == 403:
            assert response.json()["type"] == "epcisException:SecurityException"
        else:
            made[role] = response.json()["subscriptionID"]
    for role in may_subscribe:  # everyone who reads sees them
        listed = client.get(url, headers=tenant.auth(role))
        assert listed.status_code == 200, role
        assert {s["subscriptionID"] for s in listed.json()} == set(made.values())
        assert client.get(f"{url}/{made['admin']}", headers=tenant.auth(role)).status_code == 200
    for role in ("compliance", "dealer"):
        response = client.delete(f"{url}/{made['admin']}", headers=tenant.auth(role))
        assert response.status_code == 403, role
    for role, made_by in (("operator", "admin"), ("admin", "operator")):
        response = client.delete(f"{url}/{made[made_by]}", headers=tenant.auth(role))
        assert response.status_code == 204, role
