"""Every example document of GS1's EPCIS corpus is handled: valid ones are captured and their
events come back from the query API unchanged; invalid ones get a 400 naming the problem."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jsonschema_rs
import pytest
import rfc8785
from epcis_support import CONFORMANCE, capture, events_of, example_paths, load, post_capture
from fastapi.testclient import TestClient

from fixtures.app import TenantKeys
from trace_api.epcis.validation import event_list, load_schema


def _canonical(event: dict[str, Any]) -> bytes:
    return bytes(rfc8785.dumps(event))


def _as_returned(event: dict[str, Any]) -> dict[str, Any]:
    """A returned event without the recordTime the repository adds."""
    return {k: v for k, v in event.items() if k != "recordTime"}


@pytest.mark.parametrize("path", example_paths(), ids=lambda p: str(p.relative_to(CONFORMANCE)))
def test_every_example_is_captured_and_its_events_come_back_unchanged(
    client: TestClient, tenant: TenantKeys, path: Path
) -> None:
    doc = load(path)
    job = capture(client, tenant, doc)
    assert job["success"] is True, job
    sent = event_list(doc)
    assert job["storedCount"] == len(sent)
    for event in sent:
        given = event.get("eventID")
        if given is None:  # the repository names it by its event hash ID
            stripped = {k: v for k, v in event.items() if k != "recordTime"}
            returned = events_of(
                client.get(
                    "/epcis/events",
                    params={"eventType": event["type"]},
                    headers=tenant.auth("operator"),
                )
            )
            match = [
                e
                for e in returned
                if _canonical({k: v for k, v in e.items() if k not in ("recordTime", "eventID")})
                == _canonical(stripped)
            ]
            assert len(match) == 1
            assert match[0]["eventID"].startswith("ni:///sha-256;")
            continue
        response = client.get(
            f"/epcis/events/{quote(given, safe='')}", headers=tenant.auth("operator")
        )
        found = [e for e in events_of(response) if e["eventID"] == given]
        assert found, f"{given} did not come back"
        expected = {k: v for k, v in event.items() if k != "recordTime"}
        assert any(_canonical(_as_returned(e)) == _canonical(expected) for e in found)
        assert all("recordTime" in e for e in found)


def test_query_results_match_gs1s_own_query_document(
    client: TestClient, tenant: TenantKeys
) -> None:
    """GS1's EPCISQueryDocument example is what a query for example 9.6.1 should answer."""
    capture(client, tenant, load(CONFORMANCE / "Example_9.6.1-ObjectEvent.jsonld"))
    response = client.get("/epcis/events", headers=tenant.auth("operator"))
    body = response.json()
    expected = load(CONFORMANCE / "EPCISQueryDocument.jsonld")
    want = event_list(expected)
    got = [_as_returned(e) for e in events_of(response)]
    assert [_canonical(e) for e in got] == [_canonical(e) for e in want]
    assert body["@context"] == expected["@context"]


def test_query_documents_are_valid_against_the_schema(
    client: TestClient, tenant: TenantKeys
) -> None:
    validator = jsonschema_rs.validator_for(load_schema(), validate_formats=True)
    for path in example_paths():
        capture(client, tenant, load(path))
    page = client.get("/epcis/events", params={"perPage": 200}, headers=tenant.auth("operator"))
    assert len(events_of(page)) > 30  # repeats of one event across examples are stored once
    errors = [e.message for e in validator.iter_errors(page.json())]
    assert errors == []


def _broken(path: str, change: Any) -> tuple[dict[str, Any], str, str]:
    doc = load(CONFORMANCE / path)
    return change(copy.deepcopy(doc)), path, change.__doc__ or ""


def _no_event_time(doc: dict[str, Any]) -> dict[str, Any]:
    """eventTime"""
    del doc["epcisBody"]["eventList"][1]["eventTime"]
    return doc


def _bad_action(doc: dict[str, Any]) -> dict[str, Any]:
    """action"""
    doc["epcisBody"]["eventList"][0]["action"] = "MOVE"
    return doc


def _bad_time(doc: dict[str, Any]) -> dict[str, Any]:
    """eventTime"""
    doc["epcisBody"]["eventList"][0]["eventTime"] = "yesterday at noon"
    return doc


def _bad_offset(doc: dict[str, Any]) -> dict[str, Any]:
    """eventTimeZoneOffset"""
    doc["epcisBody"]["eventList"][0]["eventTimeZoneOffset"] = "+25:00"
    return doc


def _unknown_member(doc: dict[str, Any]) -> dict[str, Any]:
    """notAField"""
    doc["epcisBody"]["eventList"][0]["notAField"] = 1
    return doc


def _epc_not_a_uri(doc: dict[str, Any]) -> dict[str, Any]:
    """epcList"""
    doc["epcisBody"]["eventList"][0]["epcList"] = ["not a uri"]
    return doc


@pytest.mark.parametrize(
    "change",
    [_no_event_time, _bad_action, _bad_time, _bad_offset, _unknown_member, _epc_not_a_uri],
    ids=lambda c: c.__name__.strip("_"),
)
def test_invalid_documents_get_a_400_naming_event_and_field(
    client: TestClient, tenant: TenantKeys, change: Any
) -> None:
    doc = change(load(CONFORMANCE / "Example_9.6.1-ObjectEvent.jsonld"))
    field = change.__doc__
    index = 1 if change is _no_event_time else 0
    response = post_capture(client, tenant, doc)
    assert response.status_code == 400, response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["type"] == "epcisException:ValidationException"
    assert problem["detail"].startswith(f"event {index} (ni:///sha-256;")
    assert field in problem["detail"]
    assert problem["errors"][0]["event"] == index
    assert field in problem["errors"][0]["field"]
    assert events_of(client.get("/epcis/events", headers=tenant.auth("operator"))) == []


def test_a_body_that_is_not_an_epcis_document_is_refused(
    client: TestClient, tenant: TenantKeys
) -> None:
    for body in (b"[1, 2]", b'{"type": "Nonsense"}', b"{not json"):
        response = post_capture(client, tenant, body)
        assert response.status_code == 400
        assert response.json()["type"] == "epcisException:ValidationException"
