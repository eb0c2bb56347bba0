"""Corrections are new events (errorDeclaration), never edits; a query shows each
declaration right after the event it declares erroneous."""

from __future__ import annotations

import copy
from typing import Any

from epcis_support import CONFORMANCE, capture, document, load, object_event, query
from fastapi.testclient import TestClient

from fixtures.app import TenantKeys


def _declared(event: dict[str, Any], **extra: Any) -> dict[str, Any]:
    declaration = copy.deepcopy(event)
    declaration["errorDeclaration"] = {
        "declarationTime": "2026-11-20T00:00:00Z",
        "reason": "incorrect_data",
        **extra,
    }
    return declaration


def test_gs1s_declaration_example_is_shown_with_the_event_it_corrects(
    client: TestClient, tenant: TenantKeys
) -> None:
    original = load(CONFORMANCE / "Example_9.6.1-ObjectEvent.jsonld")
    capture(client, tenant, original)
    capture(client, tenant, document(object_event(7)))  # something in between
    declared = load(
        CONFORMANCE
        / "WithErrorDeclaration"
        / "Example_9.6.1-ObjectEvent-with-error-declaration.jsonld"
    )
    capture(client, tenant, declared)
    events = query(client, tenant, MATCH_epc="urn:epc:id:sgtin:0614141.107346.2017")
    ids = [e["eventID"] for e in events]
    first = original["epcisBody"]["eventList"][0]["eventID"]
    declaration = declared["epcisBody"]["eventList"][0]["eventID"]
    assert ids == [first, declaration]  # adjacent, declaration second
    assert "errorDeclaration" not in events[0]  # the original is never edited
    assert events[1]["errorDeclaration"]["reason"] == "incorrect_data"


def test_a_declaration_repeating_the_events_id_is_found_by_id(
    client: TestClient, tenant: TenantKeys
) -> None:
    event = object_event(1, eventID="urn:uuid:wrong-shipment")
    capture(client, tenant, document(event, object_event(2)))
    job = capture(client, tenant, document(_declared(event, correctiveEventIDs=["urn:uuid:fix"])))
    assert job["success"] is True
    pair = query(client, tenant, path="/epcis/events/urn:uuid:wrong-shipment")
    assert [("errorDeclaration" in e) for e in pair] == [False, True]
    assert all(e["eventID"] == "urn:uuid:wrong-shipment" for e in pair)
    # only the declaration matches this query, yet the event it corrects comes with it
    declared = query(client, tenant, EXISTS_errorDeclaration="true")
    assert [("errorDeclaration" in e) for e in declared] == [False, True]
    by_reason = query(client, tenant, EQ_errorReason="incorrect_data")
    assert len(by_reason) == 2
    by_fix = query(client, tenant, EQ_correctiveEventID="urn:uuid:fix")
    assert len(by_fix) == 2
    undeclared = query(client, tenant, EXISTS_errorDeclaration="false")
    assert [("errorDeclaration" in e) for e in undeclared] == [False, True, False]


def test_a_declaration_captured_before_its_event_is_linked_when_the_event_arrives(
    client: TestClient, tenant: TenantKeys
) -> None:
    event = object_event(3, eventID="urn:uuid:late")
    capture(client, tenant, document(_declared(event)))
    capture(client, tenant, document(object_event(4)))
    capture(client, tenant, document(event))
    pair = query(client, tenant, EQ_eventID="urn:uuid:late")
    assert [("errorDeclaration" in e) for e in pair] == [False, True]


def test_a_second_declaration_of_other_content_is_refused(
    client: TestClient, tenant: TenantKeys
) -> None:
    event = object_event(5, eventID="urn:uuid:twice")
    capture(client, tenant, document(event, _declared(event)))
    other = _declared(event, reason="did_not_occur")
    job = capture(client, tenant, document(other))
    assert job["success"] is False
    assert "error declaration" in job["errors"][0]["detail"]
