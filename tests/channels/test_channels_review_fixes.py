"""Defects found in review of issue 7, each pinned by the behaviour it broke.

Audit proofs must not show a dealer what the alerts and allocations APIs refuse it; bad
values are 4xx problems on both databases; concurrent allocations leave one current row.
"""

from __future__ import annotations

import json
import threading
import time

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from movements.channel_setup import NANJING_XUANWU, Channel, build_channel
from sqlalchemy import func, select

from fixtures.app import TenantKeys
from trace_api.channels import allocations
from trace_api.db import transaction
from trace_api.models import Allocation, AuditEntry

ORG = "urn:tracechain:org:"


@pytest.fixture
def channel(app: FastAPI, client: TestClient, tenant: TenantKeys) -> Channel:
    return build_channel(app, client, tenant, codes=4)


def _last_seq(channel: Channel, kind: str) -> int:
    with transaction(channel.app.state.sessions) as session:
        seq = session.scalar(
            select(func.max(AuditEntry.seq)).where(
                AuditEntry.tenant_id == channel.tenant.tenant_id, AuditEntry.kind == kind
            )
        )
    assert seq is not None, kind
    return int(seq)


def test_a_dealer_gets_no_proof_of_an_alert_it_is_no_party_to(channel: Channel) -> None:
    code = channel.serial(0)
    channel.move("brand", "zj_dist", [code])
    channel.move("zj_dist", "hz_dealer", [code])
    channel.move("hz_dealer", "hz_retail", [code])
    [alert] = channel.scan("hz_retail", "sell", codes=[code], division=NANJING_XUANWU)["alerts"]
    involved = (alert["blamed_org"], alert["expected_org"], alert["observed_org"])
    assert channel.orgs["hz_dealer"] not in involved
    dealer = channel.auth("hz_dealer")
    assert channel.client.get(f"/v1/alerts/{alert['id']}", headers=dealer).status_code == 404
    seq = _last_seq(channel, "diversion.alert_raised")
    assert channel.client.get(f"/v1/audit/entries/{seq}/proof", headers=dealer).status_code == 404
    # The proofs of the events about its own goods stay open to it (provenance uses them).
    captured = _last_seq(channel, "epcis.event_captured")
    held = channel.client.get(f"/v1/audit/entries/{captured}/proof", headers=dealer)
    assert held.status_code == 200, held.text
    blamed = channel.auth("hz_retail")
    assert channel.client.get(f"/v1/audit/entries/{seq}/proof", headers=blamed).status_code == 200


def test_a_dealer_gets_no_proof_of_another_partys_allocation(channel: Channel) -> None:
    held, never = channel.serial(0), channel.serial(1)
    channel.move("brand", "zj_dist", [held])
    channel.move("zj_dist", "hz_dealer", [held])
    allocated = channel.client.post(
        "/v1/allocations",
        json={"organisation_id": channel.orgs["nb_dealer"], "items": [held, never]},
        headers=channel.auth("operator"),
    )
    assert allocated.status_code == 201, allocated.text
    seq = _last_seq(channel, "allocation.created")
    proof = channel.client.get(f"/v1/audit/entries/{seq}/proof", headers=channel.auth("hz_dealer"))
    assert proof.status_code == 404
    own = channel.client.get(f"/v1/audit/entries/{seq}/proof", headers=channel.auth("nb_dealer"))
    assert own.status_code == 200


@pytest.mark.parametrize("seq", ["9223372036854775808", "99999999999999999999999", "-1"])
def test_an_impossible_entry_number_is_a_4xx(channel: Channel, seq: str) -> None:
    answer = channel.client.get(f"/v1/audit/entries/{seq}/proof", headers=channel.auth("admin"))
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("at", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_time_without_a_utc_value_is_a_4xx_and_stores_nothing(channel: Channel, at: str) -> None:
    before = _last_seq(channel, "organisation.created")
    answer = channel.client.post(
        "/v1/scans/receive",
        json={"codes": [channel.serial(0)], "at": at},
        headers=channel.auth("zj_dist"),
    )
    assert answer.status_code == 422 and "UTC" in answer.text
    listing = channel.client.get("/v1/alerts", params={"since": at}, headers=channel.auth("admin"))
    assert listing.status_code == 422
    with transaction(channel.app.state.sessions) as session:
        newest = session.scalar(
            select(func.max(AuditEntry.seq)).where(AuditEntry.tenant_id == channel.tenant.tenant_id)
        )
    assert newest is not None and newest >= before
    assert channel.state(channel.key(0)) is None  # the scan recorded nothing


@pytest.mark.parametrize(
    "path",
    [
        "/v1/allocations?target=urn:x%00y",
        "/v1/alerts?subject=urn:x%00y",
        "/v1/alerts?rule=a%00b",
        "/v1/allocations/a%00b",
        "/v1/alerts/a%00b",
        "/v1/organisations/a%00b/territories",
        "/epcis/events/a%00b",
    ],
)
def test_a_nul_character_is_a_4xx_on_both_databases(channel: Channel, path: str) -> None:
    answer = channel.client.get(path, headers=channel.auth("admin"))
    assert 400 <= answer.status_code < 500, (path, answer.status_code, answer.text)


def test_concurrent_allocations_of_one_item_leave_one_current(channel: Channel) -> None:
    key = channel.key(0)
    release, first_done = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def allocate(org: str, hold: bool) -> None:
        session = channel.app.state.sessions()
        try:
            allocations.allocate(
                session=session,
                tenant_id=channel.tenant.tenant_id,
                organisation_id=channel.orgs[org],
                target_kind="item",
                targets=[key],
                division_code=None,
                note="",
                actor="test",
            )
            if hold:
                first_done.set()
                release.wait(10)
            session.commit()
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)
        finally:
            session.close()

    first = threading.Thread(target=allocate, args=("hz_dealer", True))
    first.start()
    assert first_done.wait(10)
    second = threading.Thread(target=allocate, args=("nb_dealer", False))
    second.start()
    time.sleep(0.5)  # the second call is now waiting for the first
    release.set()
    first.join(30)
    second.join(30)
    assert errors == []
    with transaction(channel.app.state.sessions) as session:
        current = session.scalars(
            select(Allocation.organisation_id).where(
                Allocation.target == key, Allocation.replaced_at.is_(None)
            )
        ).all()
    assert current == [channel.orgs["nb_dealer"]]


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


HANGZHOU_FENCE = {
    "type": "Polygon",
    "coordinates": [[[119.9, 30.1], [120.4, 30.1], [120.4, 30.4], [119.9, 30.4], [119.9, 30.1]]],
}


def _fenced_dealer(channel: Channel, name: str, parent: str) -> str:
    """A new dealer under ``parent`` whose only territory is the Hangzhou geofence."""
    admin = channel.auth("admin")
    created = channel.client.post(
        "/v1/organisations",
        json={"name": name, "kind": "dealer", "parent_id": channel.orgs[parent]},
        headers=admin,
    )
    fenced: str = created.json()["id"]
    channel.client.post(
        f"/v1/organisations/{fenced}/geofences",
        json={"name": "Hangzhou", "geojson": HANGZHOU_FENCE},
        headers=admin,
    )
    return fenced


def _deliver(channel: Channel, sender: str, fenced: str) -> None:
    """``sender`` ships item 0 to ``fenced``, which receives it."""
    channel.scan(sender, "ship", codes=[channel.serial(0)], to=fenced)
    channel.client.post(
        "/v1/scans/receive",
        json={"codes": [channel.serial(0)], "from": fenced},
        headers=channel.auth("operator"),
    )


@pytest.mark.parametrize(
    "where",
    [{"lat": 39.9042, "lon": 116.4074}, {"lat": 39.9042, "lon": 116.4074, "division": "110101"}],
)
def test_a_party_fenced_by_a_geofence_only_is_caught_selling_outside_it(
    channel: Channel, where: dict[str, object]
) -> None:
    operator = channel.auth("operator")
    fenced = _fenced_dealer(channel, "fenced", "brand")
    channel.client.post(
        "/v1/allocations", json={"organisation_id": fenced, "items": [channel.serial(0)]},
        headers=operator,
    )  # fmt: skip
    _deliver(channel, "brand", fenced)
    at_home = channel.client.post(
        "/v1/scans/sell",
        json={"codes": [channel.serial(1)], "from": fenced, "lat": 30.27, "lon": 120.15},
        headers=operator,
    )
    assert at_home.status_code == 201 and at_home.json()["alerts"] == []
    sold = channel.client.post(
        "/v1/scans/sell", json={"codes": [channel.serial(0)], "from": fenced, **where},
        headers=operator,
    )  # fmt: skip
    [alert] = sold.json()["alerts"]
    assert alert["rule"] == "outside_territory" and alert["blamed_org"] == fenced


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


def test_a_dealers_own_geofence_is_its_whole_territory(channel: Channel) -> None:
    """Divisions and geofences are one territory: a dealer fenced to Hangzhou under a
    Zhejiang distributor does not also inherit the whole of Zhejiang."""
    admin, operator = channel.auth("admin"), channel.auth("operator")
    fenced = _fenced_dealer(channel, "hz fenced", "zj_dist")
    shown = channel.client.get(f"/v1/organisations/{fenced}/territories", headers=admin).json()
    assert shown["effective"] == [] and shown["inherited_from"] is None  # its fence, not Zhejiang
    channel.client.post(
        "/v1/allocations", json={"organisation_id": fenced, "items": [channel.serial(0)]},
        headers=operator,
    )  # fmt: skip
    channel.move("brand", "zj_dist", [channel.serial(0)])
    _deliver(channel, "zj_dist", fenced)
    ningbo = {"lat": 29.87, "lon": 121.54, "division": "330203"}  # Zhejiang, outside the fence
    sold = channel.client.post(
        "/v1/scans/sell", json={"codes": [channel.serial(0)], "from": fenced, **ningbo},
        headers=operator,
    )  # fmt: skip
    assert sold.status_code == 201, sold.text
    [alert] = sold.json()["alerts"]
    assert alert["rule"] == "outside_territory" and alert["blamed_org"] == fenced


def test_an_sscc_in_another_scripts_digits_is_no_sscc() -> None:
    from trace_api.epcis.identifiers import sscc_key

    arabic_indic = "".join(chr(0x0660 + int(d)) for d in "306141410000000013")
    assert sscc_key("306141410000000013") == "https://id.gs1.org/00/306141410000000013"
    assert sscc_key(arabic_indic) is None
