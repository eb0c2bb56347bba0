"""schemathesis against GS1's official OpenAPI document of the REST binding, at /epcis.

For every operation we serve: requests generated from the document (positive data, plus
the document's examples) never get a 5xx, and every answer conforms to the document:
status code, content type, headers and body schema.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
import schemathesis
from epcis_openapi import gs1_openapi
from epcis_support import CONFORMANCE, capture, load
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from fixtures.app import TenantKeys

# Operations of the document we do not serve: WebSocket subscriptions are answered as a
# plain results page, and an optional endpoint of the binding.
NOT_SERVED: set[tuple[str, str]] = set()
EXAMPLES = int(os.environ.get("TRACE_SCHEMATHESIS_EXAMPLES", "30"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def seeded(client: TestClient, tenant: TenantKeys) -> TenantKeys:
    """A tenant with the GS1 examples captured and a named query with a subscription."""
    for name in ("Example_9.6.1-ObjectEvent.jsonld", "Example_9.6.3-AggregationEvent.jsonld"):
        capture(client, tenant, load(CONFORMANCE / name))
    created = client.post(
        "/epcis/queries",
        json={"name": "myQuery", "query": {"eventType": ["ObjectEvent"]}},
        headers=tenant.auth("operator"),
    )
    assert created.status_code == 201, created.text
    return tenant


def _operations(schema: Any) -> list[Any]:
    found = []
    for result in schema.get_all_operations():
        operation = result.ok()
        key = (operation.path, operation.method.lower())
        if key not in NOT_SERVED:
            found.append(operation)
    return found


@pytest.mark.slow
def test_gs1_openapi_document_holds_for_every_operation(
    app: FastAPI, client: TestClient, seeded: TenantKeys
) -> None:
    schema = schemathesis.openapi.from_dict(gs1_openapi())
    schema.app = app
    headers = seeded.auth("operator")
    failures: list[str] = []
    operations = _operations(schema)
    assert len(operations) >= 60

    for operation in operations:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case: Any, operation: Any = operation) -> None:
            case.headers = {**(case.headers or {}), **headers}
            response = case.call()
            try:
                case.validate_response(response, checks=CHECKS)
            except Exception as exc:  # collect them all, then report
                failures.append(
                    f"{operation.method.upper()} {operation.path} -> {response.status_code}: "
                    f"{str(exc)[:1500]}\n{response.text[:300]}"
                )
                raise

        try:
            run()
        except (Exception, BaseExceptionGroup):
            continue
    assert not failures, "\n\n".join(failures) + f"\n\n({len(failures)} failures)"


def test_our_copy_of_the_document_differs_only_where_documented() -> None:
    """Offline references, servers at /epcis, and the responses listed in AMENDMENTS."""
    import yaml
    from epcis_openapi import AMENDMENTS

    official = yaml.safe_load((CONFORMANCE / "rest-binding" / "openapi.yaml").read_text())
    ours = gs1_openapi()
    assert ours["servers"] == [{"url": "/epcis"}]
    assert '"$ref": "http' not in json.dumps(ours)  # no reference leaves the machine
    assert set(ours["paths"]) == set(official["paths"])
    for (path, method), added in AMENDMENTS.items():
        theirs = set(official["paths"][path][method]["responses"])
        mine = set(ours["paths"][path][method]["responses"])
        assert mine - theirs <= set(added), (path, method)
        assert theirs <= mine
