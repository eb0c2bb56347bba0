"""A dealer gets no audit proof of an entry that the alerts and allocations APIs refuse it."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from movements.channel_setup import NANJING_XUANWU, Channel, build_channel, last_seq

from fixtures.app import TenantKeys


@pytest.fixture
def channel(app: FastAPI, client: TestClient, tenant: TenantKeys) -> Channel:
    return build_channel(app, client, tenant, codes=4)


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
    seq = last_seq(channel, "diversion.alert_raised")
    assert channel.client.get(f"/v1/audit/entries/{seq}/proof", headers=dealer).status_code == 404
    # The proofs of the events about its own goods stay open to it (provenance uses them).
    captured = last_seq(channel, "epcis.event_captured")
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
    seq = last_seq(channel, "allocation.created")
    proof = channel.client.get(f"/v1/audit/entries/{seq}/proof", headers=channel.auth("hz_dealer"))
    assert proof.status_code == 404
    own = channel.client.get(f"/v1/audit/entries/{seq}/proof", headers=channel.auth("nb_dealer"))
    assert own.status_code == 200
