"""Public endpoints are rate-limited per client; misses (unknown serials) are limited harder."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from fixtures.app import TenantKeys
from fixtures.codes import GTIN, JSON, issue_batch
from trace_api.components import Components
from trace_api.ratelimit import TokenBuckets


def test_too_many_requests_get_429_problem_with_retry_after(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    issued = issue_batch(client, tenant, count=1)
    Components.of(app).resolver.requests = TokenBuckets(rate=0.01, burst=3)
    for _ in range(3):
        assert client.get(issued.path(0), headers=JSON).status_code == 200
    refused = client.get(issued.path(0), headers=JSON)
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == "/problems/rate-limited"
    assert int(refused.headers["retry-after"]) >= 1
    assert client.get(f"/v1/codes/{issued.codes[0]['serial']}/proof").status_code == 429
    # the refused request was not counted as a scan
    Components.of(app).resolver.requests = TokenBuckets(rate=100, burst=100)
    assert client.get(issued.path(0), headers=JSON).json()["scans"]["count"] == 4


def test_guessing_serials_is_stopped_after_a_few_misses(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    issued = issue_batch(client, tenant, count=1)
    Components.of(app).resolver.misses = TokenBuckets(rate=0.001, burst=2)
    guesses = [f"/01/{GTIN}/21/{'0' * 15}{c}X" for c in "12"]
    for guess in guesses:
        assert client.get(guess, headers=JSON).status_code == 404
    blocked = client.get(issued.path(0), headers=JSON)  # even a real code, for this client
    assert blocked.status_code == 429
    assert "unknown codes" in blocked.json()["detail"]
    assert int(blocked.headers["retry-after"]) > 60


def test_token_bucket_refills_over_time() -> None:
    buckets = TokenBuckets(rate=2.0, burst=2)
    assert buckets.take("a", now=0.0) == 0 and buckets.take("a", now=0.0) == 0
    assert buckets.take("a", now=0.0) == 0.5
    assert buckets.take("b", now=0.0) == 0  # per client
    assert buckets.take("a", now=0.5) == 0
