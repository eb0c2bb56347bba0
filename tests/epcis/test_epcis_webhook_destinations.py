"""Webhooks reach the public internet only, by default: checked when a subscription is
made, and again on every connection, to the very address connected to."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from epcis_support import capture, document, object_event
from fastapi import FastAPI
from fastapi.testclient import TestClient
from webhook_support import Clock, FakeDns, LoopbackOnlyNetwork, Receiver

from fixtures.anvil import free_port
from fixtures.app import TenantKeys
from trace_api.components import Components
from trace_api.epcis.webhooks import WebhookDeliverer

SUBSCRIPTIONS = "/epcis/queries/all/subscriptions"
PUBLIC = "8.8.8.8"
REFUSED = "destination refused: not a public address"


@pytest.fixture
def named(client: TestClient, tenant: TenantKeys) -> TenantKeys:
    """A tenant with a named query to subscribe to."""
    query = {"name": "all", "query": {}}
    assert client.post("/epcis/queries", json=query, headers=tenant.auth("operator")).is_success
    return tenant


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(free_port())
    r.start()
    yield r
    r.stop()


def _subscribe(client: TestClient, tenant: TenantKeys, dest: str) -> Any:
    return client.post(
        SUBSCRIPTIONS, json={"dest": dest, "stream": True}, headers=tenant.auth("operator")
    )


def _refused(client: TestClient, tenant: TenantKeys, dest: str) -> str:
    response = _subscribe(client, tenant, dest)
    assert response.status_code == 400, (dest, response.text)
    assert response.json()["type"] == "epcisException:SubscriptionControlsException"
    listed = client.get(SUBSCRIPTIONS, headers=tenant.auth("operator")).json()
    assert listed == []
    return str(response.json()["detail"])


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "127.1",
        "[::1]",
        "localhost",
        "0",
        "0.0.0.0",
        "169.254.169.254",
        "2130706433",  # 127.0.0.1 as one decimal number
        "0x7f000001",  # and in hex
        "0177.0.0.1",  # and in octal
        "100.64.0.1",  # CGNAT
        "[::ffff:127.0.0.1]",
        "[::ffff:169.254.169.254]",
        "[2002:7f00:1::]",  # 6to4
        "[64:ff9b::7f00:1]",  # NAT64
        "10.0.0.1",
        "172.16.0.1",
        "192.168.1.1",
        "198.18.0.1",
        "224.0.0.1",
        "[fd00::1]",
        "[fe80::1]",
    ],
)
def test_a_private_destination_is_refused_at_creation_by_default(
    client: TestClient, named: TenantKeys, host: str
) -> None:
    _refused(client, named, f"http://{host}:8080/hook")


def test_a_name_is_refused_when_any_of_its_addresses_is_private(
    client: TestClient, named: TenantKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    FakeDns(monkeypatch, "mixed.example.com", [PUBLIC, "10.0.0.1"])
    detail = _refused(client, named, "https://mixed.example.com/hook")
    assert "10.0.0.1" not in detail  # what the name resolves to is not told
    FakeDns(monkeypatch, "nowhere.example.com", [])
    assert "does not resolve" in _refused(client, named, "https://nowhere.example.com/hook")
    FakeDns(monkeypatch, "hooks.example.com", [PUBLIC, "2001:4860:4860::8888"])
    assert _subscribe(client, named, "https://hooks.example.com/hook").status_code == 201


def test_credentials_and_other_schemes_are_refused(client: TestClient, named: TenantKeys) -> None:
    for dest in (f"http://user:secret@{PUBLIC}/hook", "file:///etc/passwd", "gopher://a.b/"):
        _refused(client, named, dest)


def _delivering(app: FastAPI, network: LoopbackOnlyNetwork) -> tuple[WebhookDeliverer, Clock]:
    clock = Clock()
    deliverer = WebhookDeliverer(
        sessions=Components.of(app).sessions,
        settings=Components.of(app).settings,
        clock=clock,
        network=network,
    )
    return deliverer, clock


def _capture_one(client: TestClient, tenant: TenantKeys) -> None:
    capture(client, tenant, document(object_event(1, eventID="urn:uuid:rebind-1")))


def test_a_public_name_that_turns_private_after_creation_is_not_connected_to(
    app: FastAPI,
    client: TestClient,
    named: TenantKeys,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dns = FakeDns(monkeypatch, "hooks.example.com", [PUBLIC], ["127.0.0.1"])
    created = _subscribe(client, named, f"http://hooks.example.com:{receiver.port}/epcis-hook")
    assert created.status_code == 201, created.text
    assert dns.lookups == 1
    network = LoopbackOnlyNetwork()
    deliverer, clock = _delivering(app, network)
    _capture_one(client, named)
    clock.advance(1)
    deliverer.deliver_due()
    state = client.get(
        f"{SUBSCRIPTIONS}/{created.json()['subscriptionID']}", headers=named.auth("operator")
    ).json()["delivery"]
    assert (state["status"], state["attempts"], state["lastError"]) == ("retrying", 1, REFUSED)
    assert network.asked == []  # no connection was even tried
    assert receiver.hosts == []


def test_a_rebinding_name_reaches_only_the_address_that_was_checked(
    app: FastAPI,
    client: TestClient,
    named: TenantKeys,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A DNS answer that flips between a public and a loopback address on every lookup:
    whatever a check sees, the connection goes to that address, never the other."""
    answers = [[PUBLIC]] + [[PUBLIC], ["127.0.0.1"]] * 4
    FakeDns(monkeypatch, "rebind.example.com", *answers)
    created = _subscribe(client, named, f"http://rebind.example.com:{receiver.port}/epcis-hook")
    assert created.status_code == 201, created.text
    network = LoopbackOnlyNetwork()
    deliverer, clock = _delivering(app, network)
    _capture_one(client, named)
    errors = set()
    for _ in range(6):
        clock.advance(600)
        deliverer.deliver_due()
        state = client.get(
            f"{SUBSCRIPTIONS}/{created.json()['subscriptionID']}", headers=named.auth("operator")
        ).json()["delivery"]
        errors.add(state["lastError"])
    assert errors == {REFUSED, "could not connect"}
    assert network.asked == [PUBLIC] * 3  # pinned: never a name, never the loopback answer
    assert receiver.hosts == []
