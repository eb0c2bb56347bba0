"""What a dealer's own EPCIS capture of a shipment may claim, and whom it makes the holder.

A dealer records its own organisation's acts, never another's; a shipment it records with
no destination is unchecked and leaves the last authorised holder as it was.
"""

from __future__ import annotations

import json

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from movements.channel_setup import Channel, build_channel

from fixtures.app import TenantKeys

ORG = "urn:tracechain:org:"


@pytest.fixture
def channel(app: FastAPI, client: TestClient, tenant: TenantKeys) -> Channel:
    return build_channel(app, client, tenant, codes=4)


def _document(event: dict[str, object]) -> str:
    return json.dumps(
        {
            "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "creationDate": "2030-01-01T00:00:00Z",
            "epcisBody": {"eventList": [event]},
        }
    )


def test_a_dealer_cannot_record_a_shipment_in_another_partys_name(channel: Channel) -> None:
    channel.move("brand", "zj_dist", [channel.serial(0)])

    def where(key: str) -> tuple[object, ...]:
        state = channel.state(key)
        assert state is not None
        return (state.status, state.holder_org, state.shipped_to_org)

    before = where(channel.key(0))
    forged = {
        "type": "ObjectEvent",
        "eventID": "urn:uuid:11111111-2222-3333-4444-555555555555",
        "eventTime": "2030-01-01T00:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        "epcList": [channel.key(0)],
        "action": "OBSERVE",
        "bizStep": "shipping",
        "sourceList": [{"type": "owning_party", "source": ORG + channel.orgs["zj_dist"]}],
        "destinationList": [
            {"type": "owning_party", "destination": ORG + channel.orgs["js_dealer"]}
        ],
    }
    headers = {**channel.auth("js_dealer"), "Content-Type": "application/ld+json"}
    answer = channel.client.post("/epcis/capture", content=_document(forged), headers=headers)
    job = channel.client.get(answer.headers["location"], headers=headers).json()
    assert job["success"] is False
    assert "another organisation" in json.dumps(job["errors"])
    assert where(channel.key(0)) == before
    assert channel.alerts() == []
    # Naming the other side of its own act stays allowed: receiving from the distributor.
    receipt = {
        **forged,
        "eventID": "urn:uuid:11111111-2222-3333-4444-666666666666",
        "bizStep": "receiving",
    }
    answer = channel.client.post("/epcis/capture", content=_document(receipt), headers=headers)
    job = channel.client.get(answer.headers["location"], headers=headers).json()
    assert job["success"] is True, job["errors"]
    [alert] = channel.alerts()
    assert alert.blamed_org == channel.orgs["zj_dist"]  # whose goods left its sub-tree


def test_an_unchecked_shipment_does_not_make_its_sender_the_authorised_holder(
    channel: Channel,
) -> None:
    channel.move("brand", "zj_dist", [channel.serial(0)])
    no_destination = {
        "type": "ObjectEvent",
        "eventID": "urn:uuid:aaaaaaaa-2222-3333-4444-555555555555",
        "eventTime": "2030-01-01T00:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        "epcList": [channel.key(0)],
        "action": "OBSERVE",
        "bizStep": "shipping",
    }
    headers = {**channel.auth("js_dealer"), "Content-Type": "application/ld+json"}
    answer = channel.client.post(
        "/epcis/capture", content=_document(no_destination), headers=headers
    )
    assert answer.status_code == 202
    received = channel.scan(
        "nb_dealer", "receive", codes=[channel.serial(0)], at="2030-01-02T00:00:00Z"
    )
    [alert] = received["alerts"]
    assert alert["blamed_org"] == channel.orgs["zj_dist"]
