"""The query endpoints and the EPCIS query parameters."""

from __future__ import annotations

from typing import Any

import pytest
from epcis_support import CONFORMANCE, capture, document, events_of, load, object_event, query
from fastapi.testclient import TestClient

from fixtures.app import TenantKeys

SGTIN = "urn:epc:id:sgtin:0614141.107346.{n}"
DL = "https://id.gs1.org/01/10614141073464/21/{n}"


def _ids(events: list[dict[str, Any]]) -> list[str]:
    return [e["eventID"] for e in events]


@pytest.fixture
def stocked(client: TestClient, tenant: TenantKeys) -> TenantKeys:
    events = [
        object_event(1, eventID="urn:uuid:e1", eventTime="2026-11-01T10:00:00Z"),
        object_event(
            2,
            eventID="urn:uuid:e2",
            eventTime="2026-11-02T10:00:00Z",
            bizStep="https://ref.gs1.org/cbv/BizStep-receiving",
            disposition="in_progress",
            bizLocation={"id": "urn:epc:id:sgln:0614141.07346.0"},
        ),
        object_event(
            3,
            eventID="urn:uuid:e3",
            eventTime="2026-11-03T10:00:00Z",
            epcList=[DL.format(n=3)],
            action="ADD",
        ),
        {
            "type": "AggregationEvent",
            "eventID": "urn:uuid:e4",
            "eventTime": "2026-11-04T10:00:00Z",
            "eventTimeZoneOffset": "+00:00",
            "parentID": "urn:epc:id:sscc:0614141.1234567890",
            "childEPCs": [SGTIN.format(n=1), SGTIN.format(n=3)],
            "action": "ADD",
            "bizStep": "https://ref.gs1.org/cbv/BizStep-packing",
        },
    ]
    capture(client, tenant, document(*events))
    return tenant


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["urn:uuid:e1", "urn:uuid:e2", "urn:uuid:e3", "urn:uuid:e4"]),
        ({"eventType": "AggregationEvent"}, ["urn:uuid:e4"]),
        (
            {"eventType": "ObjectEvent|AggregationEvent"},
            ["urn:uuid:e1", "urn:uuid:e2", "urn:uuid:e3", "urn:uuid:e4"],
        ),
        (
            {"GE_eventTime": "2026-11-02T00:00:00Z", "LT_eventTime": "2026-11-04T00:00:00+00:00"},
            ["urn:uuid:e2", "urn:uuid:e3"],
        ),
        ({"EQ_bizStep": "receiving"}, ["urn:uuid:e2"]),
        (
            {"EQ_bizStep": "https://ref.gs1.org/cbv/BizStep-shipping"},
            ["urn:uuid:e1", "urn:uuid:e3"],
        ),
        ({"EQ_bizStep": "urn:epcglobal:cbv:bizstep:packing"}, ["urn:uuid:e4"]),
        ({"EQ_disposition": "in_progress"}, ["urn:uuid:e2"]),
        ({"EQ_bizLocation": "https://id.gs1.org/414/0614141073467/254/0"}, ["urn:uuid:e2"]),
        (
            {"EQ_readPoint": "urn:epc:id:sgln:0614141.07346.1234"},
            ["urn:uuid:e1", "urn:uuid:e2", "urn:uuid:e3"],
        ),
        ({"EQ_action": "ADD"}, ["urn:uuid:e3", "urn:uuid:e4"]),
        ({"MATCH_epc": SGTIN.format(n=3)}, ["urn:uuid:e3", "urn:uuid:e4"]),  # DL and childEPCs
        ({"MATCH_epc": DL.format(n=1)}, ["urn:uuid:e1", "urn:uuid:e4"]),  # URN stored, DL asked
        (
            {"MATCH_epc": "urn:epc:idpat:sgtin:0614141.107346.*"},
            ["urn:uuid:e1", "urn:uuid:e2", "urn:uuid:e3", "urn:uuid:e4"],
        ),
        ({"MATCH_parentID": "https://id.gs1.org/00/106141412345678908"}, ["urn:uuid:e4"]),
        ({"MATCH_anyEPC": "urn:epc:id:sscc:0614141.1234567890"}, ["urn:uuid:e4"]),
        ({"MATCH_epc": "urn:epc:id:sscc:0614141.1234567890"}, []),  # a parent, not an epc
        ({"EQ_eventID": "urn:uuid:e2|urn:uuid:e4"}, ["urn:uuid:e2", "urn:uuid:e4"]),
        (
            {"orderBy": "eventTime", "orderDirection": "DESC"},
            ["urn:uuid:e4", "urn:uuid:e3", "urn:uuid:e2", "urn:uuid:e1"],
        ),
        ({"eventCountLimit": 2}, ["urn:uuid:e1", "urn:uuid:e2"]),
    ],
)
def test_query_parameters_select_the_right_events(
    client: TestClient, stocked: TenantKeys, params: dict[str, Any], expected: list[str]
) -> None:
    assert _ids(query(client, stocked, **params)) == expected


def test_the_path_resources_are_fixed_filters(client: TestClient, stocked: TenantKeys) -> None:
    for path, expected in [
        (f"/epcis/epcs/{DL.format(n=3)}/events", ["urn:uuid:e3", "urn:uuid:e4"]),
        ("/epcis/epcs/urn:epc:id:sscc:0614141.1234567890/events", ["urn:uuid:e4"]),
        ("/epcis/eventTypes/AggregationEvent/events", ["urn:uuid:e4"]),
        ("/epcis/bizSteps/receiving/events", ["urn:uuid:e2"]),
        ("/epcis/dispositions/in_progress/events", ["urn:uuid:e2"]),
        (
            "/epcis/readPoints/urn:epc:id:sgln:0614141.07346.1234/events",
            ["urn:uuid:e1", "urn:uuid:e2", "urn:uuid:e3"],
        ),
        ("/epcis/bizLocations/urn:epc:id:sgln:0614141.07346.0/events", ["urn:uuid:e2"]),
    ]:
        assert _ids(query(client, stocked, path=path)) == expected, path
    types = client.get("/epcis/eventTypes", headers=stocked.auth("operator")).json()
    assert "TransformationEvent" in types["member"]
    steps = client.get("/epcis/bizSteps", headers=stocked.auth("operator")).json()["member"]
    assert "shipping" in steps and "retail_selling" in steps
    epcs = client.get("/epcis/epcs", headers=stocked.auth("operator")).json()["member"]
    assert DL.format(n=3) in epcs
    assert client.get("/epcis/bizSteps/flying", headers=stocked.auth("operator")).status_code == 404
    member = client.get("/epcis/bizSteps/shipping", headers=stocked.auth("operator")).json()
    assert member["member"] == ["events"]


def test_paging_walks_every_event_once(client: TestClient, tenant: TenantKeys) -> None:
    capture(client, tenant, document(*(object_event(n) for n in range(23))))
    seen: list[str] = []
    url, params = "/epcis/events", {"perPage": 5}  # type: dict[str, Any] | None
    pages = 0
    while True:
        response = client.get(url, params=params, headers=tenant.auth("operator"))
        seen += _ids(events_of(response))
        pages += 1
        link = response.headers.get("link")
        if link is None:
            break
        assert link.endswith('>; rel="next"')
        url, params = link[1:].split(">")[0], None  # the link carries the query
    assert len(seen) == 23 == len(set(seen)) and pages == 5


@pytest.mark.parametrize("direction", ["ASC", "DESC"])
def test_paging_in_event_time_order(client: TestClient, tenant: TenantKeys, direction: str) -> None:
    events = [
        object_event(n, eventTime=f"2026-10-{10 + (n * 7) % 11}T00:00:00Z") for n in range(11)
    ]
    capture(client, tenant, document(*events))
    params: dict[str, Any] | None = {
        "perPage": 3,
        "orderBy": "eventTime",
        "orderDirection": direction,
    }
    url, times = "/epcis/events", []
    while True:
        response = client.get(url, params=params, headers=tenant.auth("operator"))
        times += [e["eventTime"] for e in events_of(response)]
        if "link" not in response.headers:
            break
        url, params = response.headers["link"][1:].split(">")[0], None
    assert times == sorted(times, reverse=direction == "DESC") and len(times) == 11


def test_a_page_token_is_bound_to_its_query(client: TestClient, tenant: TenantKeys) -> None:
    capture(client, tenant, document(*(object_event(n) for n in range(4))))
    first = client.get("/epcis/events", params={"perPage": 2}, headers=tenant.auth("operator"))
    token = first.headers["link"].split("nextPageToken=")[1].split(">")[0]
    other = client.get(
        "/epcis/events",
        params={"nextPageToken": token, "EQ_bizStep": "x"},
        headers=tenant.auth("operator"),
    )
    assert other.status_code == 400
    assert other.json()["type"] == "epcisException:QueryParameterException"
    junk = client.get(
        "/epcis/events", params={"nextPageToken": "@@"}, headers=tenant.auth("operator")
    )
    assert junk.status_code == 400


@pytest.mark.parametrize(
    "params",
    [
        {"EQ_action": "MOVE"},
        {"GE_eventTime": "last week"},
        {"orderBy": "quantity"},
        {"perPage": "many"},
        {"MATCH_epc": "urn:epc:idpat:sgtin:0614141.*.*"},
        {"EQ_notAParameter": "x"},
        {"eventCountLimit": "0"},
    ],
)
def test_bad_parameters_are_400_query_parameter_exceptions(
    client: TestClient, tenant: TenantKeys, params: dict[str, str]
) -> None:
    response = client.get("/epcis/events", params=params, headers=tenant.auth("operator"))
    assert response.status_code == 400, response.text
    assert response.json()["type"] == "epcisException:QueryParameterException"


def test_max_event_count_refuses_a_large_result(client: TestClient, stocked: TenantKeys) -> None:
    response = client.get(
        "/epcis/events", params={"maxEventCount": 2}, headers=stocked.auth("operator")
    )
    assert response.status_code == 413
    assert response.json()["type"] == "epcisException:QueryTooLargeException"
    assert len(query(client, stocked, maxEventCount=4)) == 4


def test_sensor_and_quantity_parameters_read_the_stored_event(
    client: TestClient, tenant: TenantKeys
) -> None:
    for name in ("SensorDataExample1.jsonld", "SensorDataExample9.jsonld"):
        capture(client, tenant, load(CONFORMANCE / "WithSensorData" / name))
    capture(client, tenant, load(CONFORMANCE / "Example_9.6.2-ObjectEvent.jsonld"))
    everything = query(client, tenant)
    assert len(everything) >= 3
    temperature = query(client, tenant, EQ_type="gs1:Temperature")
    assert temperature and all("sensorElementList" in e for e in temperature)
    quantities = query(client, tenant, GE_quantity=1)
    assert quantities and all(any("quantityList" in k for k in e) for e in quantities)
    assert query(client, tenant, EQ_type="Radioactivity") == []


def test_named_queries_run_with_their_stored_parameters(
    client: TestClient, stocked: TenantKeys
) -> None:
    auth = stocked.auth("operator")
    body = {"name": "received", "query": {"EQ_bizStep": ["receiving"]}}
    created = client.post("/epcis/queries", json=body, headers=auth)
    assert created.status_code == 201 and created.headers["location"] == "/epcis/queries/received"
    assert client.post("/epcis/queries", json=body, headers=auth).status_code == 409
    assert client.get("/epcis/queries/received", headers=auth).json() == [body]
    assert [q["name"] for q in client.get("/epcis/queries", headers=auth).json()] == ["received"]
    results = events_of(client.get("/epcis/queries/received/events", headers=auth))
    assert _ids(results) == ["urn:uuid:e2"]
    bad = client.post(
        "/epcis/queries", json={"name": "bad", "query": {"EQ_nope": ["x"]}}, headers=auth
    )
    assert bad.status_code == 400
    assert client.delete("/epcis/queries/received", headers=auth).status_code == 204
    assert client.get("/epcis/queries/received", headers=auth).status_code == 404
