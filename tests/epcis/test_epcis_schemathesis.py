"""schemathesis against GS1's official OpenAPI document of the REST binding, at /epcis.

For every operation we serve: requests generated from the document (positive data, plus
the document's examples) never get a 5xx, and every answer conforms to the document:
status code, content type, headers and body schema.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
import schemathesis
from epcis_openapi import gs1_openapi
from epcis_support import CONFORMANCE, capture, load
from fastapi import FastAPI
from fastapi.testclient import TestClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from fixtures.app import TenantKeys
from fixtures.fuzz import fuzz
from trace_api.problems import absolute_uri

# Operations of the document we do not serve: WebSocket subscriptions are answered as a
# plain results page, and an optional endpoint of the binding.
NOT_SERVED: set[tuple[str, str]] = set()
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


LINK = re.compile(r'<([^<>]+)>; rel="next"')


def _read_generously(case: Any, response: Any) -> None:
    """Where GS1's document contradicts itself, hold the answer to what it means.

    - ``Link`` is declared as a string of format ``uri``, with ``<https://...>`` as its own
      example: an RFC 8288 link. It is checked here as one (an absolute URI in angle
      brackets, ``rel="next"``) and then left out of the header check.
    - Some operations declare their RFC 7807 problem bodies as ``application/json``; ours
      are ``application/problem+json`` everywhere, which the body check then reads as JSON.
    """
    links = response.headers.pop("link", None) or response.headers.pop("Link", None)
    for value in links or []:
        match = LINK.fullmatch(value)
        assert match, value
        assert urlsplit(match.group(1)).scheme in ("http", "https"), value
        assert absolute_uri(match.group(1)) == match.group(1), value
    content_type = ";".join(response.headers.get("content-type") or [])
    if response.status_code >= 400 and content_type.startswith("application/problem+json"):
        documented = case.operation.definition.raw.get("responses", {})
        declared = _content_types(case.operation, documented.get(str(response.status_code)))
        if "application/json" in declared and PROBLEM_TYPE not in declared:
            response.headers["content-type"] = ["application/json"]


PROBLEM_TYPE = "application/problem+json"


def _content_types(operation: Any, response: Any) -> set[str]:
    if not isinstance(response, dict):
        return set()
    if "$ref" in response:
        name = response["$ref"].rsplit("/", 1)[-1]
        response = operation.schema.raw_schema["components"]["responses"].get(name, {})
    return set(response.get("content", {}))


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
    operations = _operations(schema)
    assert len(operations) >= 60

    def check(case: Any, response: Any) -> None:
        _read_generously(case, response)
        case.validate_response(response, checks=CHECKS)

    failures = fuzz(operations, headers, check)
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
