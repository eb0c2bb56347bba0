"""Diversion end to end through the HTTP API: whom a deviation blames, what a sanctioned
cross-edge allows, a pallet moving the items inside it, a consumer scan far away."""

from __future__ import annotations

from channel_setup import HANGZHOU_WEST_LAKE, NANJING_XUANWU, Channel, build_channel, sscc
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fixtures.app import TenantKeys
from fixtures.codes import JSON


def _to_hangzhou(channel: Channel, codes: list[str]) -> None:
    channel.move("brand", "zj_dist", codes)
    channel.move("zj_dist", "hz_dealer", codes)


def test_zhejiang_goods_received_by_a_jiangsu_dealer_blame_the_zhejiang_distributor(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    channel = build_channel(app, client, tenant)
    codes = [channel.serial(0), channel.serial(1)]
    channel.move("brand", "zj_dist", codes)
    # The distributor passes the goods on without recording it; a Jiangsu dealer, outside
    # its sub-tree, scans them in.
    received = channel.scan("js_dealer", "receive", codes=codes, division=NANJING_XUANWU)
    assert len(received["alerts"]) == 2  # one per item (they did not move in a container)
    for alert in received["alerts"]:
        assert alert["rule"] == "outside_allocation"
        assert alert["severity"] == "high"
        assert alert["blamed_org"] == channel.orgs["zj_dist"]
        assert alert["expected_org"] == channel.orgs["zj_dist"]
        assert alert["observed_org"] == channel.orgs["js_dealer"]
        assert "receipt_mismatch" in alert["detail"]
        roles = [e["role"] for e in alert["evidence"]]
        assert roles == ["shipment", "deviation"]
        assert all(e["eventID"] and e["audit_seq"] is not None for e in alert["evidence"])
    assert {a["subject"] for a in received["alerts"]} == {channel.key(0), channel.key(1)}
    state = client.get(f"/v1/items/{channel.serial(0)}/state", headers=channel.auth("operator"))
    assert state.json()["holder"] == channel.orgs["js_dealer"]


def test_a_recorded_shipment_across_the_tree_is_caught_when_shipped(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    channel = build_channel(app, client, tenant)
    codes = [channel.serial(0)]
    channel.move("brand", "zj_dist", codes)
    shipped = channel.scan("zj_dist", "ship", codes=codes, to=channel.orgs["js_dealer"])
    [alert] = shipped["alerts"]
    assert alert["rule"] == "unauthorised_edge"
    assert alert["blamed_org"] == channel.orgs["zj_dist"]
    assert "outside_allocation" in alert["detail"]
    # The receipt repeats the breach under another rule: one more alert, same party blamed.
    [receipt_alert] = channel.scan("js_dealer", "receive", codes=codes)["alerts"]
    assert receipt_alert["rule"] == "outside_allocation"
    assert receipt_alert["blamed_org"] == channel.orgs["zj_dist"]
    assert [e["role"] for e in receipt_alert["evidence"]] == ["shipment", "deviation"]
    assert receipt_alert["evidence"][0]["eventID"] == shipped["event_ids"][0]


def test_a_consumer_scan_in_another_province_raises_one_alert(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    channel = build_channel(app, client, tenant)
    _to_hangzhou(channel, [channel.serial(0)])
    assert channel.batch is not None
    path = channel.batch.path(0)
    at_home = client.get(path, params={"region": HANGZHOU_WEST_LAKE}, headers=JSON)
    assert at_home.status_code == 200, at_home.text
    assert channel.alerts() == []
    away = client.get(path, params={"region": NANJING_XUANWU}, headers=JSON)
    assert away.status_code == 200
    [alert] = channel.alerts()
    assert alert.rule == "consumer_scan_outside_territory"
    assert alert.severity == "medium"  # never sold: more than a traveller
    assert alert.subject == channel.key(0)
    assert alert.observed_division == NANJING_XUANWU
    assert alert.expected_org == channel.orgs["zj_dist"]
    assert alert.blamed_org == channel.orgs["hz_dealer"]
    client.get(path, params={"region": NANJING_XUANWU}, headers=JSON)
    assert len(channel.alerts()) == 1  # while it is open, no second alert for the item
    client.get(channel.batch.path(1), headers=JSON)  # no location: nothing to check
    assert len(channel.alerts()) == 1


def test_a_sanctioned_cross_edge_raises_nothing(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    channel = build_channel(app, client, tenant)
    codes = [channel.serial(0), channel.serial(1)]
    _to_hangzhou(channel, codes)
    channel.cross_edge("hz_dealer", "nb_dealer")
    channel.move("hz_dealer", "nb_dealer", [codes[0]])
    assert channel.alerts() == []
    # The same transfer without the sanction is caught.
    channel.scan("nb_dealer", "ship", codes=[codes[0]], to=channel.orgs["hz_dealer"])
    [alert] = channel.alerts()
    assert alert.rule == "unauthorised_edge"
    assert alert.blamed_org == channel.orgs["nb_dealer"]


def test_a_pallet_shipped_moves_all_1000_items_inside(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    channel = build_channel(app, client, tenant, codes=1000)
    pallet = sscc(1)
    pallet_key = "https://id.gs1.org/00/" + pallet
    for case in range(20):
        codes = [channel.serial(case * 50 + i) for i in range(50)]
        channel.scan("brand", "pack", codes=codes, parent=sscc(100 + case))
    channel.scan("brand", "pack", codes=[sscc(100 + c) for c in range(20)], parent=pallet)
    before = channel.counts()
    shipped = channel.scan("brand", "ship", codes=[pallet], to=channel.orgs["zj_dist"])
    assert shipped["alerts"] == []
    movements = channel.counts()[2]
    assert movements - before[2] == 1  # the pallet's row: the goods inside move with it
    for key in (channel.key(0), channel.key(999), "https://id.gs1.org/00/" + sscc(100)):
        assert channel.path(key)[-1].event_pk == channel.path(pallet_key)[-1].event_pk
    for n in (0, 499, 999):
        state = channel.state(channel.key(n))
        assert state is not None
        assert (state.status, state.shipped_to_org) == ("in_transit", channel.orgs["zj_dist"])
        assert state.parent == "https://id.gs1.org/00/" + sscc(100 + n // 50)
    received = channel.scan("zj_dist", "receive", codes=[pallet])
    assert received["alerts"] == []
    view = client.get(f"/v1/items/{channel.serial(999)}/state", headers=channel.auth("zj_dist"))
    assert view.status_code == 200, view.text
    body = view.json()
    assert body["holder"] == channel.orgs["zj_dist"] and body["status"] == "received"
    assert body["containers"] == [
        "https://id.gs1.org/00/" + sscc(119),
        "https://id.gs1.org/00/" + pallet,
    ]
    assert body["allocation"]["organisation_id"] == channel.orgs["zj_dist"]
    path = client.get(
        f"/v1/items/{channel.serial(999)}/provenance", headers=channel.auth("operator")
    ).json()["path"]
    assert [step["step"] for step in path] == ["pack", "pack", "ship", "receive"]
    assert path[2]["via"] == "https://id.gs1.org/00/" + pallet
    assert path[2]["verdict"] == "ok"
    pallet_view = client.get(f"/v1/items/{pallet}/state", headers=channel.auth("operator"))
    assert pallet_view.json()["kind"] == "container"
    assert pallet_view.json()["counts"]["inside"] == 20
    pallet_path = client.get(f"/v1/items/{pallet}/provenance", headers=channel.auth("operator"))
    assert [s["step"] for s in pallet_path.json()["path"]] == ["pack", "ship", "receive"]


def test_an_unpacked_case_moves_alone(app: FastAPI, client: TestClient, tenant: TenantKeys) -> None:
    channel = build_channel(app, client, tenant, codes=6)
    case_a, case_b, pallet = sscc(10), sscc(11), sscc(12)
    channel.scan("brand", "pack", codes=[channel.serial(n) for n in range(3)], parent=case_a)
    channel.scan("brand", "pack", codes=[channel.serial(n) for n in range(3, 6)], parent=case_b)
    channel.scan("brand", "pack", codes=[case_a, case_b], parent=pallet)
    channel.move("brand", "zj_dist", [pallet])
    channel.scan("zj_dist", "unpack", codes=[case_a], parent=pallet)
    assert channel.state("https://id.gs1.org/00/" + case_a).parent is None  # type: ignore[union-attr]
    channel.move("zj_dist", "hz_dealer", [case_a])
    for n in range(3):
        state = channel.state(channel.key(n))
        assert state is not None and state.holder_org == channel.orgs["hz_dealer"]
        assert state.parent == "https://id.gs1.org/00/" + case_a
    for n in range(3, 6):
        state = channel.state(channel.key(n))
        assert state is not None and state.holder_org == channel.orgs["zj_dist"]
        assert state.status == "received"
    assert channel.alerts() == []


def test_a_retail_sale_by_an_authorised_retailer_raises_nothing(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    channel = build_channel(app, client, tenant)
    codes = [channel.serial(0), channel.serial(1)]
    _to_hangzhou(channel, codes)
    channel.move("hz_dealer", "hz_retail", codes)
    sold = channel.scan("hz_retail", "sell", codes=[codes[0]], division=HANGZHOU_WEST_LAKE)
    assert sold["alerts"] == []
    state = channel.state(channel.key(0))
    assert state is not None and state.status == "sold"
    assert channel.alerts() == []
    path = client.get(f"/v1/items/{codes[0]}/provenance", headers=channel.auth("hz_retail"))
    assert path.status_code == 200, path.text
    assert {step["verdict"] for step in path.json()["path"]} == {"ok"}
    # The same retailer selling in another province is a breach of the territory.
    [alert] = channel.scan("hz_retail", "sell", codes=[codes[1]], division=NANJING_XUANWU)["alerts"]
    assert (alert["rule"], alert["severity"]) == ("outside_territory", "high")
    assert alert["observed_division"] == NANJING_XUANWU
    assert alert["blamed_org"] == channel.orgs["hz_retail"]
