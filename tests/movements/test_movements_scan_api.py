"""The dealer scan API: retries, refusals and all-or-nothing capture."""

from __future__ import annotations

import json
from typing import Any

import pytest
from channel_setup import Channel, build_channel, sscc
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fixtures.app import TenantKeys


@pytest.fixture
def channel(app: FastAPI, client: TestClient, tenant: TenantKeys) -> Channel:
    built = build_channel(app, client, tenant, codes=3)
    built.move("brand", "zj_dist", [built.serial(0), built.serial(1)])
    return built


def test_a_retry_with_the_same_event_id_stores_nothing_new(channel: Channel) -> None:
    body: dict[str, Any] = {
        "codes": [channel.serial(0)],
        "to": channel.orgs["js_dealer"],
        "event_id": "urn:uuid:r1",
    }
    first = channel.scan("zj_dist", "ship", **body)
    assert first["stored"] == 1 and first["duplicate"] is False
    assert len(first["alerts"]) == 1
    counts = channel.counts()
    again = channel.scan("zj_dist", "ship", expect=200, **body)
    assert again["duplicate"] is True and again["stored"] == 0
    assert again["event_ids"] == first["event_ids"]
    assert [a["id"] for a in again["alerts"]] == [a["id"] for a in first["alerts"]]
    assert channel.counts() == counts
    other = channel.client.post(
        "/v1/scans/ship",
        json={**body, "codes": [channel.serial(1)]},
        headers=channel.auth("zj_dist"),
    )
    assert other.status_code == 409
    assert other.headers["content-type"].startswith("application/problem+json")
    assert channel.counts() == counts


@pytest.mark.parametrize(
    ("org", "action", "body", "status"),
    [
        ("zj_dist", "ship", {"codes": ["061414100000000121"], "to": "hz_dealer"}, 422),
        ("zj_dist", "ship", {"codes": ["not a code"], "to": "hz_dealer"}, 422),
        ("zj_dist", "ship", {"codes": ["urn:epc:id:sgln:0614141.07346.1"], "to": "hz_dealer"}, 422),
        ("zj_dist", "ship", {"codes": ["@0"]}, 422),
        ("zj_dist", "ship", {"codes": ["@0"], "to": "00000000-0000-0000-0000-000000000000"}, 404),
        ("zj_dist", "ship", {"codes": ["@0"], "to": "hz_dealer", "from": "brand"}, 403),
        ("zj_dist", "sell", {"codes": ["@0"], "division": "999999"}, 422),
        ("zj_dist", "sell", {"codes": ["@0"], "division": "33010"}, 422),
        ("zj_dist", "sell", {"codes": ["@0"], "lat": 30.2}, 422),
        ("zj_dist", "sell", {"codes": ["@0"], "lat": 91, "lon": 120}, 422),
        ("zj_dist", "sell", {"codes": []}, 422),
        ("zj_dist", "sell", {"codes": ["@0", "@0"]}, 422),
        ("zj_dist", "steal", {"codes": ["@0"]}, 404),
        ("zj_dist", "pack", {"codes": ["@0"]}, 422),
        ("zj_dist", "pack", {"codes": ["@0"], "parent": "@0"}, 422),
        ("zj_dist", "receive", {"codes": ["@0"], "colour": "red"}, 422),
        ("operator", "receive", {"codes": ["@0"]}, 422),
        ("compliance", "receive", {"codes": ["@0"]}, 403),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    channel: Channel, org: str, action: str, body: dict[str, object], status: int
) -> None:
    text = json.dumps(body).replace('"@0"', json.dumps(channel.serial(0)))
    for name, org_id in channel.orgs.items():
        text = text.replace(f'"{name}"', json.dumps(org_id))
    counts = channel.counts()
    response = channel.client.post(
        f"/v1/scans/{action}",
        content=text,
        headers={**channel.auth(org), "Content-Type": "application/json"},
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert channel.counts() == counts


def test_an_operator_scans_for_a_named_organisation(channel: Channel) -> None:
    shipped = channel.scan(
        "operator",
        "ship",
        codes=[channel.serial(0)],
        to=channel.orgs["hz_dealer"],
        **{"from": channel.orgs["zj_dist"]},  # type: ignore[arg-type]
    )
    assert shipped["alerts"] == []
    state = channel.state(channel.key(0))
    assert state is not None and state.shipped_to_org == channel.orgs["hz_dealer"]


def test_a_failed_capture_stores_no_movement_state_or_alert(channel: Channel) -> None:
    """All or nothing: a document whose second event is refused stores nothing at all."""
    org = "urn:tracechain:org:"
    ship = {
        "type": "ObjectEvent",
        "eventID": "urn:uuid:diverted",
        "eventTime": "2026-11-20T10:00:00Z",
        "eventTimeZoneOffset": "+08:00",
        "epcList": [channel.key(0), channel.key(2)],
        "action": "OBSERVE",
        "bizStep": "shipping",
        "sourceList": [{"type": "owning_party", "source": org + channel.orgs["zj_dist"]}],
        "destinationList": [
            {"type": "owning_party", "destination": org + channel.orgs["js_dealer"]}
        ],
    }
    clash = {**ship, "epcList": [channel.key(1)]}  # the same eventID with other content
    document = {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-25T10:00:00Z",
        "epcisBody": {"eventList": [ship, clash]},
    }
    counts = channel.counts()
    before = channel.state(channel.key(0))
    response = channel.client.post(
        "/epcis/capture",
        content=json.dumps(document),
        headers={**channel.auth("zj_dist"), "Content-Type": "application/ld+json"},
    )
    assert response.status_code == 202, response.text
    job = channel.client.get(response.headers["location"], headers=channel.auth("zj_dist")).json()
    assert job["success"] is False and job["storedCount"] == 0
    assert channel.counts() == counts
    after = channel.state(channel.key(0))
    assert before is not None and after is not None
    assert (after.status, after.shipped_to_org) == (before.status, before.shipped_to_org)
    assert channel.state(channel.key(2)) is None
    # The same shipment alone goes through, moves both items and raises its alerts.
    document["epcisBody"] = {"eventList": [ship]}
    response = channel.client.post(
        "/epcis/capture",
        content=json.dumps(document),
        headers={**channel.auth("zj_dist"), "Content-Type": "application/ld+json"},
    )
    assert response.status_code == 202
    assert channel.counts()[2] == counts[2] + 2
    assert len(channel.alerts()) == 2
    assert sscc(1)  # the helper is shared with the pallet tests
