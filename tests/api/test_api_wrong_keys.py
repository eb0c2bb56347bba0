"""Wrong API keys cost their client from a budget: guessing keys at speed is a 429."""

from __future__ import annotations

import threading

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fixtures.app import TenantKeys
from trace_api import deps
from trace_api.components import Components
from trace_api.deps import WrongKeysThrottled
from trace_api.errors import Unauthenticated
from trace_api.ratelimit import TokenBuckets

WRONG = {"Authorization": "Bearer trk_0123456789abcdef_not-the-secret"}


def test_wrong_keys_are_throttled_per_client(app: FastAPI, tenant: TenantKeys) -> None:
    burst = Components.of(app).settings.auth_failure_burst
    with TestClient(app, client=("203.0.113.7", 40000)) as guesser:
        answers = [guesser.get("/v1/whoami", headers=WRONG).status_code for _ in range(burst)]
        assert answers == [401] * burst
        throttled = guesser.get("/v1/whoami", headers=WRONG)
        assert throttled.status_code == 429
        assert throttled.headers["content-type"] == "application/problem+json"
        assert int(throttled.headers["Retry-After"]) >= 1
        # The budget is checked before the key, so guesses cannot go on in the meantime.
        assert guesser.get("/v1/whoami", headers=tenant.auth("admin")).status_code == 429
        epcis = guesser.get("/epcis/events", headers=WRONG)
        assert epcis.status_code == 429
    with TestClient(app, client=("198.51.100.9", 40000)) as other:
        assert other.get("/v1/whoami", headers=tenant.auth("admin")).status_code == 200
        assert other.get("/v1/whoami", headers=WRONG).status_code == 401


def test_right_keys_cost_nothing(app: FastAPI, tenant: TenantKeys) -> None:
    burst = Components.of(app).settings.auth_failure_burst
    with TestClient(app, client=("203.0.113.8", 40000)) as client:
        for _ in range(burst + 5):
            assert client.get("/v1/whoami", headers=tenant.auth("admin")).status_code == 200


def test_concurrent_guesses_get_no_more_lookups_than_the_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    burst = 10
    failures = TokenBuckets(0.001, burst)
    release, lookups, settled = threading.Event(), [], threading.Semaphore(0)

    def slow_wrong_key(*, session: object, key_text: str) -> None:
        lookups.append(key_text)
        settled.release()
        release.wait(timeout=30)  # every guess is in flight at once
        raise Unauthenticated("wrong key")

    monkeypatch.setattr(deps.tenancy_service, "authenticate", slow_wrong_key)
    outcomes: list[str] = []

    def guess() -> None:
        try:
            deps.authenticate_throttled(failures, "203.0.113.50", None, "trk_x_y")  # type: ignore[arg-type]
        except WrongKeysThrottled:
            outcomes.append("429")
            settled.release()
        except Unauthenticated:
            outcomes.append("401")

    threads = [threading.Thread(target=guess) for _ in range(40)]
    for thread in threads:
        thread.start()
    for _ in threads:  # each guess is either refused or inside the lookup
        assert settled.acquire(timeout=30)
    release.set()
    for thread in threads:
        thread.join(timeout=30)
    assert len(lookups) == burst
    assert sorted(outcomes) == ["401"] * burst + ["429"] * (40 - burst)
