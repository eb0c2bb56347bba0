"""schemathesis against our own OpenAPI document: every /v1 operation and the resolver.

Requests generated from the document, valid and invalid alike, with an admin key and
with none, never get a 5xx; every 4xx is an RFC 9457 problem (``application/problem+json``
with a status equal to the response's). /epcis is fuzzed against GS1's own document
(tests/epcis/test_epcis_schemathesis.py).
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from schemathesis.checks import not_a_server_error

from fixtures.app import TenantKeys
from fixtures.fuzz import fuzz


def _problems_for_client_errors(response: Any, case: Any) -> None:
    status = response.status_code
    if status < 400 or status >= 500:
        return
    content_type = ";".join(response.headers.get("content-type") or [])
    if case.path.startswith("/01/") and "text/html" in content_type:
        return  # a browser asking for the page gets the page, with the problem in words
    assert content_type.startswith("application/problem+json"), (status, content_type)
    body = response.json()
    assert body.get("status") == status, body
    assert isinstance(body.get("title"), str) and body["title"], body


@pytest.fixture
def seeded(client: TestClient, tenant: TenantKeys) -> TenantKeys:
    """A tenant with a product, a batch and a few codes, so that lookups find something."""
    product = client.post(
        "/v1/products",
        json={"gtin": "09506000134352", "name": "龙井绿茶", "brand": "西湖"},
        headers=tenant.auth("admin"),
    )
    assert product.status_code == 201, product.text
    batch = client.post(
        "/v1/batches",
        json={
            "product_id": product.json()["id"],
            "lot": "L1",
            "production_date": "2026-11-01",
            "factory": "杭州二厂",
        },
        headers=tenant.auth("admin"),
    )
    assert batch.status_code == 201, batch.text
    issued = client.post(
        f"/v1/batches/{batch.json()['id']}/codes", json={"count": 3}, headers=tenant.auth("admin")
    )
    assert issued.status_code in (200, 201, 202), issued.text
    return tenant


def _operations(app: FastAPI) -> list[Any]:
    schema = schemathesis.openapi.from_dict(app.openapi())
    schema.app = app
    found = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if not operation.path.startswith("/epcis"):
            found.append(operation)
    return found


@pytest.mark.slow
@pytest.mark.parametrize("role", ["admin", None])
def test_no_input_gets_a_server_error_and_client_errors_are_problems(
    app: FastAPI, client: TestClient, seeded: TenantKeys, role: str | None
) -> None:
    headers = seeded.auth(role) if role else {}
    operations = _operations(app)
    assert len(operations) >= 60

    def check(case: Any, response: Any) -> None:
        case.validate_response(response, checks=[not_a_server_error])
        _problems_for_client_errors(response, case)

    failures = fuzz(operations, headers, check)
    assert not failures, "\n\n".join(failures) + f"\n\n({len(failures)} failures)"
