"""A stranger who sees the label's URI can delay the genuine buyer's PIN check, never stop it."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from pin_support import client_at, fake_clock, post_pin, wrong_pin

from fixtures.app import TenantKeys
from fixtures.audit import log_entries
from fixtures.codes import issue_batch
from trace_api.components import Components


def test_ten_wrong_pins_from_a_stranger_only_delay_the_buyer(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    clock = fake_clock(app)
    issued = issue_batch(client, tenant, count=1, pins=True)
    stranger = client_at(app, "198.51.100.7")
    wrong = 0
    while wrong < 10:  # the stranger waits out every back-off, as a patient guesser would
        answer = post_pin(stranger, issued, wrong_pin(issued))
        if answer.status_code == 429:
            clock.advance(int(answer.headers["retry-after"]))
            continue
        assert answer.json()["pin"]["result"] == "wrong"
        wrong += 1
    buyer = post_pin(client, issued, issued.codes[0]["pin"])
    assert buyer.status_code == 429  # the code backs off for everybody: the buyer waits ...
    wait = int(buyer.headers["retry-after"])
    assert wait <= Components.of(app).settings.pin_backoff_max_seconds
    clock.advance(wait)
    verified = post_pin(client, issued, issued.codes[0]["pin"]).json()["pin"]
    assert verified["result"] == "verified"  # ... and then verifies: no lock for good
    kinds = [e["kind"] for e in log_entries(app, tenant.tenant_id)]
    assert kinds.count("pin.backoff") == 1 and kinds.count("pin.verified") == 1


def test_a_streak_is_forgotten_after_a_quiet_day(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    clock = fake_clock(app)
    issued = issue_batch(client, tenant, count=1, pins=True)
    stranger = client_at(app, "198.51.100.8")
    for _ in range(Components.of(app).settings.pin_max_failures):
        post_pin(stranger, issued, wrong_pin(issued))
    clock.advance(Components.of(app).settings.pin_backoff_seconds + 24 * 3600)
    typo = post_pin(client, issued, wrong_pin(issued)).json()["pin"]
    assert typo == {
        "result": "wrong",
        "attempts_left": Components.of(app).settings.pin_max_failures - 1,
    }
