"""The binding's headers: discovery, version negotiation, media types."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from fixtures.app import TenantKeys


def test_discovery_lists_the_top_level_resources_and_versions(
    client: TestClient, tenant: TenantKeys
) -> None:
    options = client.options("/epcis/", headers=tenant.auth("dealer"))
    assert options.status_code == 204
    assert options.headers["allow"] == "OPTIONS, GET"
    assert options.headers["gs1-epcis-min"] == options.headers["gs1-epcis-max"] == "2.0.0"
    assert options.headers["gs1-cbv-version"] == "2.0.0"
    root = client.get("/epcis/", headers=tenant.auth("dealer"))
    assert root.json()["type"] == "Collection"
    assert set(root.json()["member"]) == {
        "queries",
        "capture",
        "events",
        "eventTypes",
        "epcs",
        "readPoints",
        "bizLocations",
        "dispositions",
        "bizSteps",
    }
    capture = client.options("/epcis/capture", headers=tenant.auth("operator"))
    assert capture.headers["allow"] == "OPTIONS, POST, GET"
    assert int(capture.headers["gs1-epcis-capture-limit"]) >= 1
    assert capture.headers["gs1-capture-error-behaviour"] == "rollback"


@pytest.mark.parametrize(
    "headers",
    [
        {"GS1-EPCIS-Min": "2.1.0"},
        {"GS1-EPCIS-Max": "1.2"},
        {"GS1-CBV-Min": "3.0.0"},
        {"GS1-EPCIS-Version": "1.2.0"},
        {"Accept": "application/xml"},
        {"GS1-EPCIS-Max": "two"},
    ],
)
def test_a_request_we_cannot_serve_in_its_versions_is_406(
    client: TestClient, tenant: TenantKeys, headers: dict[str, str]
) -> None:
    response = client.get("/epcis/events", headers={**tenant.auth("operator"), **headers})
    assert response.status_code == 406
    assert response.json()["type"] == "epcisException:NotAcceptableException"


@pytest.mark.parametrize(
    "headers",
    [
        {"GS1-EPCIS-Min": "1.0", "GS1-EPCIS-Max": "2.0"},
        {"GS1-EPCIS-Min": "2.0.0"},
        {"GS1-CBV-Max": "2.0.0", "GS1-EPCIS-Version": "2.0.0"},
        {"Accept": "application/ld+json;q=0.9, application/xml"},
    ],
)
def test_a_range_that_includes_2_0_is_served(
    client: TestClient, tenant: TenantKeys, headers: dict[str, str]
) -> None:
    response = client.get("/epcis/events", headers={**tenant.auth("operator"), **headers})
    assert response.status_code == 200
    assert response.headers["gs1-epcis-version"] == "2.0.0"


def test_problems_carry_the_bindings_exception_types(client: TestClient) -> None:
    response = client.get("/epcis/events", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert response.json()["type"] == "epcisException:SecurityException"
    assert response.json()["instance"] == "http://testserver/epcis/events"
