"""The scan page's timeline shows where the item travelled: shipped, received, sold."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from movements.channel_setup import HANGZHOU_WEST_LAKE, build_channel, sscc

from fixtures.app import TenantKeys
from fixtures.codes import JSON


def test_the_timeline_follows_the_item_through_its_pallet_to_the_sale(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    channel = build_channel(app, client, tenant, codes=2)
    assert channel.batch is not None
    pallet = sscc(7)
    channel.scan("brand", "pack", codes=[channel.serial(0)], parent=pallet)
    channel.move("brand", "zj_dist", [pallet])  # the item travels inside the pallet
    channel.scan("zj_dist", "unpack", codes=[channel.serial(0)], parent=pallet)
    channel.move("zj_dist", "hz_dealer", [channel.serial(0)])
    channel.move("hz_dealer", "hz_retail", [channel.serial(0)])
    channel.scan("hz_retail", "sell", codes=[channel.serial(0)], division=HANGZHOU_WEST_LAKE)

    body = client.get(channel.batch.path(0), headers=JSON).json()
    custody = [e for e in body["timeline"] if e["kind"] in ("shipped", "received", "sold")]
    assert [e["kind"] for e in custody] == ["shipped", "received"] * 3 + ["sold"]
    assert (custody[0]["party"], custody[0]["to"]) == ("brand", "zj_dist")
    assert custody[-1]["party"] == "hz_retail"
    assert custody[-1]["region"] == HANGZHOU_WEST_LAKE
    assert custody[-1]["region_name"] == "浙江省 杭州市 西湖区"
    page = client.get(channel.batch.path(0), headers={"Accept": "text/html"}).text
    assert "售出" in page and "浙江省杭州市西湖区" in page

    untouched = client.get(channel.batch.path(1), headers=JSON).json()
    kinds = [e["kind"] for e in untouched["timeline"]]
    assert not {"shipped", "received", "sold"} & set(kinds)
