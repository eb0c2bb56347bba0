"""A geofence is territory: a party fenced by one alone is held to it, and a dealer's own
fence is its whole territory (it does not also inherit its parent's divisions).
"""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from movements.channel_setup import Channel, build_channel

from fixtures.app import TenantKeys


@pytest.fixture
def channel(app: FastAPI, client: TestClient, tenant: TenantKeys) -> Channel:
    return build_channel(app, client, tenant, codes=4)


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
