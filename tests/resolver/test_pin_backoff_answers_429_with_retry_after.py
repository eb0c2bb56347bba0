"""While a code backs off, its PIN is not checked: 429 problem+json with Retry-After."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from pin_support import fake_clock, post_pin, wrong_pin

from fixtures.app import TenantKeys
from fixtures.codes import issue_batch
from trace_api.components import Components, get_resolver
from trace_api.resolver.pins import Backoff
from trace_api.resolver.service import Resolver


def test_backing_off_answers_429_and_doubles_up_to_its_cap(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    clock = fake_clock(app)
    settings = Components.of(app).settings
    settings.pin_client_max_failures = 1_000  # one client here; the code's limit is tested
    issued = issue_batch(client, tenant, count=1, pins=True)
    right, wrong = issued.codes[0]["pin"], wrong_pin(issued)
    for _ in range(settings.pin_max_failures):
        last = post_pin(client, issued, wrong).json()["pin"]
    assert last["retry_after"] == 60 and last["backoff"] == "code"
    refused = post_pin(client, issued, right)  # right, and still not checked
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["retry-after"] == "60"
    problem = refused.json()
    assert problem["type"] == "/problems/pin-backoff" and problem["status"] == 429
    assert problem["retry_after"] == 60 and problem["backoff"] == "code"
    assert "someone else" in problem["detail"]
    clock.advance(59)
    assert post_pin(client, issued, right).headers["retry-after"] == "1"
    clock.advance(1)
    again = post_pin(client, issued, wrong).json()["pin"]  # checked once the wait is over
    assert again["result"] == "wrong" and again["retry_after"] == 120
    waits = []
    for _ in range(8):
        refused = post_pin(client, issued, right)
        wait = int(refused.headers["retry-after"])
        waits.append(wait)
        clock.advance(wait)
        post_pin(client, issued, wrong)
    assert waits == [120, 240, 480, 960, 1920, 3600, 3600, 3600]


def test_the_code_backs_off_in_every_process_and_after_a_restart(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    clock = fake_clock(app)
    issued = issue_batch(client, tenant, count=1, pins=True)
    parts = Components.of(app)
    for _ in range(parts.settings.pin_max_failures):
        post_pin(client, issued, wrong_pin(issued))
    restarted = Resolver(
        settings=parts.settings, master_key=parts.master_key, gateway=parts.gateway
    )  # nothing in memory: what it knows of the code is in the database
    restarted.clock = clock
    app.dependency_overrides[get_resolver] = lambda: restarted
    assert post_pin(client, issued, issued.codes[0]["pin"]).status_code == 429
    clock.advance(60)
    assert post_pin(client, issued, issued.codes[0]["pin"]).json()["pin"]["result"] == "verified"


def test_back_off_doubles_from_the_limit_and_stops_at_the_cap() -> None:
    policy = Backoff(limit=5, base=60, cap=3600)
    assert [policy.wait_after(n) for n in range(1, 13)] == [
        None, None, None, None, 60, 120, 240, 480, 960, 1920, 3600, 3600,
    ]  # fmt: skip
    assert policy.wait_after(10_000) == 3600
