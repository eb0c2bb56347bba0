"""Route rules beyond the issue's scenarios: receipts, product scopes, containers, visibility."""

from __future__ import annotations

from channel_setup import HANGZHOU_WEST_LAKE, NANJING_XUANWU, build_channel, sscc
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fixtures.app import TenantKeys


def test_a_receipt_by_another_party_than_the_shipment_named_is_a_mismatch(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    channel = build_channel(app, client, tenant)
    codes = [channel.serial(0)]
    channel.move("brand", "zj_dist", codes)
    shipped = channel.scan("zj_dist", "ship", codes=codes, to=channel.orgs["hz_dealer"])
    assert shipped["alerts"] == []
    [alert] = channel.scan("nb_dealer", "receive", codes=codes)["alerts"]
    assert alert["rule"] == "receipt_mismatch"
    assert alert["severity"] == "high"
    assert alert["expected_org"] == channel.orgs["hz_dealer"]
    assert alert["observed_org"] == channel.orgs["nb_dealer"]
    assert alert["blamed_org"] == channel.orgs["zj_dist"]
    assert alert["evidence"][0]["eventID"] == shipped["event_ids"][0]


def test_a_party_outside_its_product_scope_is_caught_on_receipt(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    channel = build_channel(app, client, tenant)
    assert channel.batch is not None
    channel.scope("hz_dealer", "group:tea")
    codes = [channel.serial(0)]
    channel.move("brand", "zj_dist", codes)
    channel.scan("zj_dist", "ship", codes=codes, to=channel.orgs["hz_dealer"])
    [alert] = channel.scan("hz_dealer", "receive", codes=codes)["alerts"]
    assert (alert["rule"], alert["severity"]) == ("product_scope", "medium")
    assert alert["observed_org"] == channel.orgs["hz_dealer"]
    # Once the product is in the tea group, the same scope allows it (retail inherits it).
    response = client.patch(
        f"/v1/products/{channel.batch.product_id}",
        json={"product_group": "tea"},
        headers=channel.auth("operator"),
    )
    assert response.status_code == 200, response.text
    channel.move("hz_dealer", "hz_retail", codes)
    assert len(channel.alerts()) == 1


def test_a_case_moved_out_of_its_channel_raises_one_alert_for_the_case(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    channel = build_channel(app, client, tenant, codes=5)
    case = sscc(7)
    channel.scan("brand", "pack", codes=[channel.serial(n) for n in range(5)], parent=case)
    channel.move("brand", "zj_dist", [case])
    [alert] = channel.scan("zj_dist", "ship", codes=[case], to=channel.orgs["js_dist"])["alerts"]
    assert alert["subject"] == "https://id.gs1.org/00/" + case
    assert (alert["subject_kind"], alert["item_count"]) == ("container", 5)
    assert alert["blamed_org"] == channel.orgs["zj_dist"]


def test_a_sale_in_another_city_of_the_province_is_of_medium_severity(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    channel = build_channel(app, client, tenant, codes=2)
    channel.allocate("item", channel.key(0), "hz_dealer", division="330100")
    codes = [channel.serial(0)]
    channel.move("brand", "zj_dist", codes)
    channel.move("zj_dist", "hz_dealer", codes)
    channel.move("hz_dealer", "hz_retail", codes)
    [alert] = channel.scan("hz_retail", "sell", codes=codes, division="330203")["alerts"]
    assert (alert["rule"], alert["severity"]) == ("outside_territory", "medium")
    assert alert["expected_org"] == channel.orgs["hz_dealer"]
    assert alert["expected_division"] == "330100"


def test_a_dealer_sees_only_what_it_held_and_only_its_own_alerts(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    channel = build_channel(app, client, tenant)
    codes = [channel.serial(0)]
    channel.move("brand", "zj_dist", codes)
    channel.move("zj_dist", "hz_dealer", codes)
    channel.move("hz_dealer", "hz_retail", codes)
    channel.scan("hz_retail", "sell", codes=codes, division=NANJING_XUANWU)
    url = f"/v1/items/{codes[0]}/provenance"
    never_held = client.get(url, headers=channel.auth("js_dealer"))
    assert never_held.status_code == 404
    assert never_held.headers["content-type"].startswith("application/problem+json")
    assert (
        client.get(f"/v1/items/{codes[0]}/state", headers=channel.auth("js_dealer")).status_code
        == 404
    )

    def sale_alerts(org: str) -> list[object]:
        response = client.get(url, headers=channel.auth(org))
        assert response.status_code == 200, response.text
        return list(response.json()["path"][-1]["alerts"])

    assert sale_alerts("hz_dealer") == []  # it held the item, but is not party to the alert
    assert len(sale_alerts("hz_retail")) == 1  # blamed and observed
    assert len(sale_alerts("zj_dist")) == 1  # expected (the allocation's party)
    assert len(sale_alerts("compliance")) == 1
    state = client.get(f"/v1/items/{codes[0]}/state", headers=channel.auth("hz_dealer")).json()
    assert state["counts"]["alerts"] == 0
    assert state["status"] == "sold"
    assert state["division"] == NANJING_XUANWU and state["division_name"]
    assert HANGZHOU_WEST_LAKE not in (state["division"] or "")
