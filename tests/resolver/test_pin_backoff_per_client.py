"""One client guessing PINs across many codes backs off, wherever it guesses; others do not."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from pin_support import client_at, fake_clock, post_pin, wrong_pin

from fixtures.app import TenantKeys
from fixtures.codes import issue_batch
from trace_api.components import Components, get_resolver
from trace_api.resolver.service import Resolver


def test_a_client_guessing_across_codes_backs_off_and_others_do_not(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    clock = fake_clock(app)
    parts = Components.of(app)
    limit = parts.settings.pin_client_max_failures
    issued = issue_batch(client, tenant, count=limit + 1, pins=True)
    guesser = client_at(app, "203.0.113.9")
    for n in range(limit):  # one wrong PIN per code: no code comes near its own limit
        answer = post_pin(guesser, issued, wrong_pin(issued, n), n).json()["pin"]
        assert answer["attempts_left"] == limit - n - 1
    assert answer["backoff"] == "client" and answer["retry_after"] == 60
    refused = post_pin(guesser, issued, issued.codes[limit]["pin"], limit)
    assert refused.status_code == 429 and refused.headers["retry-after"] == "60"
    assert refused.json()["backoff"] == "client"
    restarted = Resolver(
        settings=parts.settings, master_key=parts.master_key, gateway=parts.gateway
    )  # the client's count is in the database too: other processes and restarts keep it
    restarted.clock = clock
    app.dependency_overrides[get_resolver] = lambda: restarted
    assert post_pin(guesser, issued, issued.codes[limit]["pin"], limit).status_code == 429
    buyer = post_pin(client, issued, issued.codes[limit]["pin"], limit).json()["pin"]
    assert buyer["result"] == "verified"  # another client is not held back
    clock.advance(60)
    later = post_pin(guesser, issued, issued.codes[0]["pin"], 0).json()["pin"]
    assert later["result"] == "verified"
