"""Helpers for EPCIS tests: the conformance corpus, capturing over the API, reading results."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fixtures.app import TenantKeys

# A copy of the shared corpus (../shared/conformance), so a clone anywhere can run it.
CONFORMANCE = Path(__file__).resolve().parent / "conformance" / "epcis"
JSONLD = {"Content-Type": "application/ld+json"}


def example_paths() -> list[Path]:
    """Every example document of the conformance corpus (the schema folder aside)."""
    if not CONFORMANCE.is_dir():
        pytest.fail(f"the EPCIS conformance corpus is missing at {CONFORMANCE}")
    return sorted(p for p in CONFORMANCE.rglob("*.jsonld"))


def load(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


def object_event(n: int = 0, **fields: Any) -> dict[str, Any]:
    """A small valid ObjectEvent naming item ``n`` as an SGTIN URN."""
    event = {
        "type": "ObjectEvent",
        "eventTime": f"2026-11-0{1 + n % 9}T10:00:00.000+08:00",
        "eventTimeZoneOffset": "+08:00",
        "epcList": [f"urn:epc:id:sgtin:0614141.107346.{n}"],
        "action": "OBSERVE",
        "bizStep": "shipping",
        "disposition": "in_transit",
        "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.1234"},
    }
    event.update(fields)
    return event


def document(*events: dict[str, Any], context: Any = None) -> dict[str, Any]:
    return {
        "@context": context or ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-25T10:00:00Z",
        "epcisBody": {"eventList": [copy.deepcopy(e) for e in events]},
    }


def post_capture(
    client: TestClient,
    tenant: TenantKeys,
    doc: Any,
    role: str = "operator",
    headers: dict[str, str] | None = None,
) -> Any:
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return client.post(
        "/epcis/capture", content=body, headers={**tenant.auth(role), **JSONLD, **(headers or {})}
    )


def capture(
    client: TestClient, tenant: TenantKeys, doc: Any, role: str = "operator", **kw: Any
) -> dict[str, Any]:
    """Capture a document and return its finished job."""
    response = post_capture(client, tenant, doc, role, **kw)
    assert response.status_code == 202, response.text
    job = client.get(response.headers["location"], headers=tenant.auth(role)).json()
    assert job["running"] is False, job
    return dict(job)


def events_of(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["type"] == "EPCISQueryDocument"
    return list(body["epcisBody"]["queryResults"]["resultsBody"]["eventList"])


def query(
    client: TestClient,
    tenant: TenantKeys,
    role: str = "operator",
    path: str = "/epcis/events",
    **params: Any,
) -> list[dict[str, Any]]:
    return events_of(client.get(path, params=params, headers=tenant.auth(role)))
