"""Goods inside containers: state and path through the container, visibility, verdicts."""

from __future__ import annotations

from typing import Any

from channel_setup import Channel, build_channel, sscc
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fixtures.app import TenantKeys

SSCC = "https://id.gs1.org/00/"


def _packed(channel: Channel, items: range, case: int) -> str:
    channel.scan("brand", "pack", codes=[channel.serial(n) for n in items], parent=sscc(case))
    return SSCC + sscc(case)


def _state(channel: Channel, code: str, org: str = "operator") -> dict[str, Any]:
    response = channel.client.get(f"/v1/items/{code}/state", headers=channel.auth(org))
    assert response.status_code == 200, response.text
    return dict(response.json())


def _steps(channel: Channel, code: str, org: str = "operator") -> list[tuple[str, str | None]]:
    response = channel.client.get(f"/v1/items/{code}/provenance", headers=channel.auth(org))
    assert response.status_code == 200, response.text
    return [(s["step"], s["via"]) for s in response.json()["path"]]


def test_an_item_inside_a_shipped_pallet_shows_the_pallets_state(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    channel = build_channel(app, client, tenant, codes=4)
    case = _packed(channel, range(4), 20)
    channel.scan("brand", "pack", codes=[sscc(20)], parent=sscc(21))
    channel.scan("brand", "ship", codes=[sscc(21)], to=channel.orgs["zj_dist"], division="330106")
    before = channel.counts()[2]
    state = _state(channel, channel.serial(3))
    assert (state["status"], state["holder"], state["shipped_to"]) == (
        "in_transit",
        channel.orgs["brand"],
        channel.orgs["zj_dist"],
    )
    assert state["division"] == "330106"
    assert state["containers"] == [case, SSCC + sscc(21)]
    assert state["counts"]["movements"] == 3  # its packing, the case's packing, the shipment
    channel.scan("zj_dist", "receive", codes=[sscc(21)])
    assert channel.counts()[2] == before + 1  # one row for the pallet, none for the goods
    state = _state(channel, channel.serial(0), "zj_dist")
    assert (state["status"], state["holder"], state["shipped_to"]) == (
        "received",
        channel.orgs["zj_dist"],
        None,
    )
    case_state = _state(channel, case)
    assert (case_state["status"], case_state["counts"]["inside"]) == ("received", 4)


def test_an_items_path_follows_its_case_in_and_out_of_a_pallet(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    channel = build_channel(app, client, tenant, codes=4)
    case_a = _packed(channel, range(2), 30)
    case_b = _packed(channel, range(2, 4), 31)
    pallet = SSCC + sscc(32)
    channel.scan("brand", "pack", codes=[sscc(30), sscc(31)], parent=sscc(32))
    channel.move("brand", "zj_dist", [sscc(32)])
    channel.scan("zj_dist", "unpack", codes=[sscc(30)], parent=sscc(32))
    channel.move("zj_dist", "hz_dealer", [sscc(30)])  # case A goes on alone
    channel.move("zj_dist", "nb_dealer", [sscc(32)])  # the pallet, with case B only
    assert _steps(channel, channel.serial(0)) == [
        ("pack", None),
        ("pack", case_a),
        ("ship", pallet),
        ("receive", pallet),
        ("unpack", case_a),
        ("ship", case_a),
        ("receive", case_a),
    ]
    assert _steps(channel, channel.serial(3)) == [
        ("pack", None),
        ("pack", case_b),
        ("ship", pallet),
        ("receive", pallet),
        ("ship", pallet),
        ("receive", pallet),
    ]
    assert _state(channel, channel.serial(0))["holder"] == channel.orgs["hz_dealer"]
    assert _state(channel, channel.serial(3))["holder"] == channel.orgs["nb_dealer"]
    assert _state(channel, case_a)["containers"] == []
    assert channel.alerts() == []


def test_an_item_moved_on_its_own_inside_a_case_keeps_its_own_state_until_the_case_moves(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    channel = build_channel(app, client, tenant, codes=2)
    _packed(channel, range(2), 40)
    channel.move("brand", "zj_dist", [sscc(40)])
    channel.scan("zj_dist", "sell", codes=[channel.serial(0)], division="330106")
    assert _state(channel, channel.serial(0))["status"] == "sold"
    assert _state(channel, channel.serial(1))["status"] == "received"
    channel.scan("zj_dist", "ship", codes=[sscc(40)], to=channel.orgs["hz_dealer"])
    assert _state(channel, channel.serial(0))["status"] == "in_transit"  # as before: it moved


def test_a_dealer_does_not_see_an_item_that_left_the_case_before_it_got_the_case(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    channel = build_channel(app, client, tenant, codes=3)
    case = _packed(channel, range(3), 50)
    channel.scan("brand", "unpack", codes=[channel.serial(0)], parent=sscc(50))
    channel.move("brand", "zj_dist", [sscc(50)])
    hidden = channel.client.get(
        f"/v1/items/{channel.serial(0)}/state", headers=channel.auth("zj_dist")
    )
    assert hidden.status_code == 404
    assert _state(channel, channel.serial(1), "zj_dist")["holder"] == channel.orgs["zj_dist"]
    # An item packed into the case after the dealer held it is visible to the dealer too
    # ("is or was"), and stays visible once it has left again.
    channel.scan("zj_dist", "pack", codes=[channel.serial(0)], parent=sscc(50))
    channel.scan("zj_dist", "unpack", codes=[channel.serial(0)], parent=sscc(50))
    channel.move("zj_dist", "hz_dealer", [sscc(50)])
    assert _state(channel, channel.serial(0), "zj_dist")["containers"] == []
    gone = channel.client.get(
        f"/v1/items/{channel.serial(0)}/state", headers=channel.auth("hz_dealer")
    )
    assert gone.status_code == 404
    path = _steps(channel, channel.serial(2), "hz_dealer")
    assert path[-2:] == [("ship", case), ("receive", case)]


def test_goods_whose_verdict_differs_from_their_pallets_get_their_own_step(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    channel = build_channel(app, client, tenant, codes=3)
    channel.scope("hz_dealer", "group:tea")  # the batch's product is in no group
    _packed(channel, range(3), 60)
    channel.scan("brand", "pack", codes=[sscc(60)], parent=sscc(61))
    channel.move("brand", "zj_dist", [sscc(61)])
    channel.scan("zj_dist", "ship", codes=[sscc(61)], to=channel.orgs["hz_dealer"])
    before = channel.counts()[2]
    received = channel.scan("hz_dealer", "receive", codes=[sscc(61)])
    [alert] = received["alerts"]
    assert (alert["rule"], alert["subject"], alert["item_count"]) == (
        "product_scope",
        SSCC + sscc(61),
        3,
    )
    assert channel.counts()[2] == before + 1 + 3  # the pallet's row, and each item's
    pallet_path = channel.client.get(
        f"/v1/items/{sscc(61)}/provenance", headers=channel.auth("operator")
    ).json()["path"]
    assert pallet_path[-1]["verdict"] == "ok"  # a pallet has no product
    item_path = channel.client.get(
        f"/v1/items/{channel.serial(1)}/provenance", headers=channel.auth("operator")
    ).json()["path"]
    last = item_path[-1]
    assert (last["step"], last["via"], last["verdict"]) == ("receive", SSCC + sscc(61), "alert")
    assert [a["id"] for a in last["alerts"]] == [alert["id"]]
    assert {s["verdict"] for s in item_path[:-1]} == {"ok"}


def _pallet_of_two_cases(channel: Channel, pallet: int) -> str:
    _packed(channel, range(3), pallet + 1)
    _packed(channel, range(3, 5), pallet + 2)
    channel.scan("brand", "pack", codes=[sscc(pallet + 1), sscc(pallet + 2)], parent=sscc(pallet))
    return SSCC + sscc(pallet)


def test_a_diverted_allocated_pallet_counts_every_item_inside(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    channel = build_channel(app, client, tenant, codes=5)
    pallet = _pallet_of_two_cases(channel, 70)
    channel.allocate("container", pallet, "zj_dist")
    channel.move("brand", "zj_dist", [sscc(70)])
    before = channel.counts()[2]
    [alert] = channel.scan("zj_dist", "ship", codes=[sscc(70)], to=channel.orgs["js_dist"])[
        "alerts"
    ]
    assert (alert["subject"], alert["subject_kind"], alert["item_count"]) == (
        pallet,
        "container",
        5,
    )
    assert alert["rule"] == "unauthorised_edge"
    assert channel.counts()[2] == before + 1  # the goods share the pallet's verdict
    last = channel.client.get(
        f"/v1/items/{channel.serial(4)}/provenance", headers=channel.auth("operator")
    ).json()["path"][-1]
    assert (last["step"], last["via"], last["verdict"]) == ("ship", pallet, "alert")


def test_a_case_allocated_elsewhere_inside_an_allocated_pallet_is_judged_on_its_own(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    channel = build_channel(app, client, tenant, codes=5)
    pallet = _pallet_of_two_cases(channel, 80)
    channel.allocate("container", pallet, "zj_dist")
    channel.allocate("container", SSCC + sscc(82), "js_dist")
    shipped = channel.scan("brand", "ship", codes=[sscc(80)], to=channel.orgs["zj_dist"])
    [alert] = shipped["alerts"]
    assert (alert["rule"], alert["subject"], alert["item_count"]) == (
        "outside_allocation",
        pallet,
        2,
    )
    assert alert["expected_org"] == channel.orgs["js_dist"]
    verdicts = {
        n: channel.client.get(
            f"/v1/items/{channel.serial(n)}/provenance", headers=channel.auth("operator")
        ).json()["path"][-1]["verdict"]
        for n in (0, 4)
    }
    assert verdicts == {0: "ok", 4: "alert"}
