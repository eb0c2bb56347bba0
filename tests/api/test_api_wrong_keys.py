"""Wrong API keys cost their client from a budget: guessing keys at speed is a 429."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from fixtures.app import TenantKeys

WRONG = {"Authorization": "Bearer trk_0123456789abcdef_not-the-secret"}


def test_wrong_keys_are_throttled_per_client(app: FastAPI, tenant: TenantKeys) -> None:
    burst = app.state.settings.auth_failure_burst
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
    burst = app.state.settings.auth_failure_burst
    with TestClient(app, client=("203.0.113.8", 40000)) as client:
        for _ in range(burst + 5):
            assert client.get("/v1/whoami", headers=tenant.auth("admin")).status_code == 200
