"""TRACE_ROUTE_CHECKS=false: nothing is checked, but the goods are still tracked."""

from __future__ import annotations

import pytest
from channel_setup import NANJING_XUANWU, build_channel
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fixtures.app import TenantKeys
from fixtures.codes import JSON
from trace_api.settings import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"route_checks": False})


def test_with_route_checks_off_a_diversion_raises_nothing_but_moves_the_goods(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    channel = build_channel(app, client, tenant)
    codes = [channel.serial(0)]
    channel.move("brand", "zj_dist", codes)
    shipped = channel.scan("zj_dist", "ship", codes=codes, to=channel.orgs["js_dealer"])
    received = channel.scan("js_dealer", "receive", codes=codes)
    sold = channel.scan("js_dealer", "sell", codes=codes, division=NANJING_XUANWU)
    assert shipped["alerts"] == received["alerts"] == sold["alerts"] == []
    assert channel.batch is not None
    client.get(channel.batch.path(0), params={"region": NANJING_XUANWU}, headers=JSON)
    assert channel.alerts() == []
    state = channel.state(channel.key(0))
    assert state is not None
    assert (state.status, state.holder_org) == ("sold", channel.orgs["js_dealer"])
    path = client.get(f"/v1/items/{codes[0]}/provenance", headers=channel.auth("operator"))
    steps = [(s["step"], s["verdict"]) for s in path.json()["path"]]
    assert steps == [
        ("ship", "unchecked"),
        ("receive", "unchecked"),
        ("ship", "unchecked"),
        ("receive", "unchecked"),
        ("sell", "unchecked"),
    ]
