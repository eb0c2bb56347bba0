"""The channel configuration API: territories, geofences, product scopes, cross-edges,
locations, parents and the tree; roles, tenants, bad input changing nothing, audit."""

from __future__ import annotations

import json

from fastapi import FastAPI
from fastapi.testclient import TestClient

from fixtures.app import TenantKeys
from fixtures.audit import log_entries
from fixtures.channels import audit_kinds, make_channel, make_org, problem, rows
from trace_api.models import (
    ChannelCrossEdge,
    ChannelGeofence,
    ChannelLocation,
    ChannelProductScope,
    ChannelTerritory,
    Organisation,
)

SQUARE = {
    "type": "Polygon",
    "coordinates": [[[120.0, 30.0], [120.5, 30.0], [120.5, 30.5], [120.0, 30.5], [120.0, 30.0]]],
}


def test_territories_are_replaced_folded_inherited_and_logged(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    ch = make_channel(client, tenant)
    admin = tenant.auth("admin")
    response = client.put(
        f"/v1/organisations/{ch.zj}/territories",
        json={"division_codes": ["330100", "330000", "320106", "330000"]},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert [t["code"] for t in body["territories"]] == ["320106", "330000"]
    assert body["folded"] == ["330100"]
    assert body["territories"][1]["name"] == "浙江省"
    assert body["inherited_from"] is None
    entry = [
        e for e in log_entries(app, tenant.tenant_id) if e["kind"] == "channel.territories_set"
    ]
    assert entry[-1]["data"]["division_codes"] == ["320106", "330000"]
    assert entry[-1]["data"]["previous"] == ["330000"]
    assert entry[-1]["actor"] != "system"

    # The Nanjing dealer has none of its own: it inherits the Jiangsu distributor's.
    inherited = client.get(f"/v1/organisations/{ch.nj_dealer}/territories", headers=admin).json()
    assert inherited["territories"] == []
    assert [t["code"] for t in inherited["effective"]] == ["320000"]
    assert inherited["inherited_from"] == ch.js

    # Setting the same set again changes nothing and logs nothing.
    before = audit_kinds(app, tenant.tenant_id)
    again = client.put(
        f"/v1/organisations/{ch.zj}/territories",
        json={"division_codes": ["330000", "320106"]},
        headers=admin,
    )
    assert again.status_code == 200
    assert audit_kinds(app, tenant.tenant_id) == before


def test_bad_division_codes_are_all_named_and_change_nothing(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    ch = make_channel(client, tenant)
    before = (rows(app, ChannelTerritory), audit_kinds(app, tenant.tenant_id))
    response = client.put(
        f"/v1/organisations/{ch.zj}/territories",
        json={"division_codes": ["330106", "33", "999999", "33010X"]},
        headers=tenant.auth("admin"),
    )
    body = problem(response, 422)
    assert {p["code"] for p in body["invalid"]} == {"33", "999999", "33010X"}
    for code in ("'33'", "'999999'", "'33010X'"):
        assert code in body["detail"]
    assert (rows(app, ChannelTerritory), audit_kinds(app, tenant.tenant_id)) == before


def test_configuration_roles_and_tenants(
    client: TestClient, app: FastAPI, tenant: TenantKeys, other_tenant: TenantKeys
) -> None:
    ch = make_channel(client, tenant)
    path = f"/v1/organisations/{ch.zj}/territories"
    for role in ("operator", "compliance", "dealer"):
        response = client.put(path, json={"division_codes": ["320000"]}, headers=tenant.auth(role))
        problem(response, 403)
    for role in ("admin", "operator", "compliance"):
        assert client.get(path, headers=tenant.auth(role)).status_code == 200, role
    # A dealer reads its own organisation's configuration, and no other's.
    own = f"/v1/organisations/{ch.hz_dealer}"
    for suffix in ("/territories", "/geofences", "/product-scopes"):
        assert client.get(own + suffix, headers=tenant.auth("dealer")).status_code == 200
        problem(
            client.get(f"/v1/organisations/{ch.zj}{suffix}", headers=tenant.auth("dealer")), 403
        )
    for listing in ("/v1/channel/tree", "/v1/channel/cross-edges", "/v1/channel/locations"):
        problem(client.get(listing, headers=tenant.auth("dealer")), 403)
    # Another tenant's organisations do not exist for this tenant's keys.
    theirs = other_tenant.auth("admin")
    problem(client.get(f"/v1/organisations/{ch.zj}/territories", headers=theirs), 404)
    problem(client.put(path, json={"division_codes": ["320000"]}, headers=theirs), 404)
    body = {"from_organisation_id": other_tenant.dealer_org_id, "to_organisation_id": ch.zj}
    problem(
        client.post("/v1/channel/cross-edges", json={**body, "reason": "x"}, headers=theirs), 404
    )
    assert rows(app, ChannelCrossEdge) == []


def test_geofences_are_validated_listed_and_removed(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    ch = make_channel(client, tenant)
    admin = tenant.auth("admin")
    path = f"/v1/organisations/{ch.hz_dealer}/geofences"
    created = client.post(path, json={"name": "西湖区", "geojson": SQUARE}, headers=admin)
    assert created.status_code == 201, created.text
    fence = created.json()
    assert fence["geojson"]["type"] == "Polygon"
    as_text = client.post(
        path,
        json={
            "name": "feature",
            "geojson": json.dumps({"type": "Feature", "properties": {}, "geometry": SQUARE}),
        },
        headers=admin,
    )
    assert as_text.status_code == 201, as_text.text
    listed = client.get(path, headers=tenant.auth("dealer")).json()
    assert [f["name"] for f in listed] == ["西湖区", "feature"]

    before = (rows(app, ChannelGeofence), audit_kinds(app, tenant.tenant_id))
    line = {"type": "LineString", "coordinates": [[120, 30], [121, 31]]}
    for bad in (line, "not json", {"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]}):
        response = client.post(path, json={"name": "bad", "geojson": bad}, headers=admin)
        assert problem(response, 422)["detail"].startswith("geojson: ")
    assert (rows(app, ChannelGeofence), audit_kinds(app, tenant.tenant_id)) == before

    deleted = client.delete(f"{path}/{fence['id']}", headers=admin)
    assert deleted.status_code == 204
    problem(client.delete(f"{path}/{fence['id']}", headers=admin), 404)
    problem(
        client.delete(f"/v1/organisations/{ch.zj}/geofences/{listed[1]['id']}", headers=admin), 404
    )
    assert [f["name"] for f in client.get(path, headers=admin).json()] == ["feature"]
    kinds = audit_kinds(app, tenant.tenant_id)
    assert kinds.count("channel.geofence_added") == 2
    assert kinds.count("channel.geofence_removed") == 1


def test_product_scopes_normalise_gtins_and_are_inherited(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    ch = make_channel(client, tenant)
    admin = tenant.auth("admin")
    response = client.put(
        f"/v1/organisations/{ch.zj}/product-scopes",
        json={"gtins": ["9506000134352", "96385074"], "groups": [" 绿茶 ", "绿茶"]},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["gtins"] == ["00000096385074", "09506000134352"]
    assert body["groups"] == ["绿茶"]
    dealer = client.get(
        f"/v1/organisations/{ch.hz_dealer}/product-scopes", headers=tenant.auth("dealer")
    ).json()
    assert (dealer["gtins"], dealer["effective_groups"]) == ([], ["绿茶"])
    assert dealer["inherited_from"] == ch.zj
    entry = [
        e for e in log_entries(app, tenant.tenant_id) if e["kind"] == "channel.product_scopes_set"
    ]
    assert entry[-1]["data"]["scopes"] == ["00000096385074", "09506000134352", "group:绿茶"]

    before = (rows(app, ChannelProductScope), audit_kinds(app, tenant.tenant_id))
    bad = client.put(
        f"/v1/organisations/{ch.zj}/product-scopes",
        json={"gtins": ["9506000134353", "12", "09506000134352"], "groups": []},
        headers=admin,
    )
    body = problem(bad, 422)
    assert [p["gtin"] for p in body["invalid"]] == ["9506000134353", "12"]
    assert "check digit" in body["detail"]
    bad_group = client.put(
        f"/v1/organisations/{ch.zj}/product-scopes", json={"groups": ["   "]}, headers=admin
    )
    problem(bad_group, 422)
    assert (rows(app, ChannelProductScope), audit_kinds(app, tenant.tenant_id)) == before


def test_cross_edges_are_sanctioned_listed_and_revoked(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    ch = make_channel(client, tenant)
    admin = tenant.auth("admin")
    body = {"from_organisation_id": ch.hz_dealer, "to_organisation_id": ch.nj_dealer}
    created = client.post(
        "/v1/channel/cross-edges", json={**body, "reason": "调货 2026-11"}, headers=admin
    )
    assert created.status_code == 201, created.text
    edge = created.json()
    assert (edge["from_organisation_id"], edge["to_organisation_id"]) == (
        ch.hz_dealer,
        ch.nj_dealer,
    )

    before = (rows(app, ChannelCrossEdge), audit_kinds(app, tenant.tenant_id))
    for bad, status in (
        ({**body, "reason": "again"}, 409),  # the same current edge
        ({**body, "reason": "  "}, 422),
        (body, 422),  # no reason
        ({"from_organisation_id": ch.zj, "to_organisation_id": ch.hz_dealer, "reason": "x"}, 422),
        ({"from_organisation_id": ch.zj, "to_organisation_id": ch.zj, "reason": "x"}, 422),
        ({"from_organisation_id": ch.zj, "to_organisation_id": "nope", "reason": "x"}, 404),
    ):
        problem(client.post("/v1/channel/cross-edges", json=bad, headers=admin), status)
    problem(
        client.post(
            "/v1/channel/cross-edges", json={**body, "reason": "x"}, headers=tenant.auth("operator")
        ),
        403,
    )
    assert (rows(app, ChannelCrossEdge), audit_kinds(app, tenant.tenant_id)) == before

    tree = client.get("/v1/channel/tree", headers=tenant.auth("compliance")).json()
    assert [e["id"] for e in tree["cross_edges"]] == [edge["id"]]
    revoked = client.delete(f"/v1/channel/cross-edges/{edge['id']}", headers=admin)
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    again = client.delete(f"/v1/channel/cross-edges/{edge['id']}", headers=admin)
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]
    listed = client.get("/v1/channel/cross-edges", headers=tenant.auth("operator")).json()
    assert [(e["id"], e["revoked_at"] is not None) for e in listed] == [(edge["id"], True)]
    assert client.get("/v1/channel/tree", headers=admin).json()["cross_edges"] == []
    kinds = audit_kinds(app, tenant.tenant_id)
    assert (kinds.count("channel.cross_edge_added"), kinds.count("channel.cross_edge_revoked")) == (
        1,
        1,
    )
    # Once revoked, the same pair may be sanctioned again.
    renewed = client.post("/v1/channel/cross-edges", json={**body, "reason": "续"}, headers=admin)
    assert renewed.status_code == 201


def test_locations_store_canonical_gln_keys(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    admin = tenant.auth("admin")
    response = client.put(
        "/v1/channel/locations",
        json=[
            {"identifier": "urn:epc:id:sgln:0614141.07346.1234", "division_code": "330106"},
            {"identifier": "https://id.gs1.org/417/0614141000005", "division_code": "320106"},
        ],
        headers=admin,
    )
    assert response.status_code == 200, response.text
    located = {loc["identifier"]: loc for loc in response.json()}
    assert located["https://id.gs1.org/414/0614141073467/254/1234"]["division_code"] == "330106"
    assert located["https://id.gs1.org/417/0614141000005"]["division_name"].endswith("鼓楼区")

    before = (rows(app, ChannelLocation), audit_kinds(app, tenant.tenant_id))
    for bad in (
        [{"identifier": "urn:epc:id:sgtin:0614141.107346.1", "division_code": "330106"}],
        [{"identifier": "urn:epc:id:sgln:0614141.07346.1234", "division_code": "339999"}],
        [
            {"identifier": "urn:epc:id:pgln:0614141.00000", "division_code": "330106"},
            {"identifier": "https://id.gs1.org/417/0614141000005", "division_code": "330106"},
            {"identifier": "urn:epc:id:pgln:0614141.00000", "division_code": "330102"},
        ],
    ):
        problem(client.put("/v1/channel/locations", json=bad, headers=admin), 422)
    problem(client.put("/v1/channel/locations", json=[], headers=tenant.auth("operator")), 403)
    assert (rows(app, ChannelLocation), audit_kinds(app, tenant.tenant_id)) == before

    # Moving one and removing the other: only what changed is logged.
    response = client.put(
        "/v1/channel/locations",
        json=[
            {"identifier": "urn:epc:id:pgln:0614141.00000", "division_code": None},
            {"identifier": "urn:epc:id:sgln:0614141.07346.1234", "division_code": "330102"},
        ],
        headers=admin,
    )
    assert [(loc["identifier"], loc["division_code"]) for loc in response.json()] == [
        ("https://id.gs1.org/414/0614141073467/254/1234", "330102")
    ]
    entry = [e for e in log_entries(app, tenant.tenant_id) if e["kind"] == "channel.locations_set"]
    assert len(entry) == 2
    assert entry[-1]["data"]["locations"][0]["previous"] == "330106"
    assert listed_locations(client, tenant) == [
        ("https://id.gs1.org/414/0614141073467/254/1234", "330102")
    ]


def listed_locations(client: TestClient, tenant: TenantKeys) -> list[tuple[str, str]]:
    listed = client.get("/v1/channel/locations", headers=tenant.auth("compliance")).json()
    return [(loc["identifier"], loc["division_code"]) for loc in listed]


def test_parents_change_without_cycles_and_the_tree_nests(
    client: TestClient, app: FastAPI, tenant: TenantKeys, other_tenant: TenantKeys
) -> None:
    ch = make_channel(client, tenant)
    admin = tenant.auth("admin")
    retailer = make_org(client, tenant, "西湖门店", "retailer", ch.hz_dealer)
    before = (rows(app, Organisation), audit_kinds(app, tenant.tenant_id))
    for parent, status in (
        (retailer, 409),  # its own grandchild
        (ch.zj, 409),  # itself
        (other_tenant.dealer_org_id, 404),
    ):
        response = client.patch(
            f"/v1/organisations/{ch.zj}", json={"parent_id": parent}, headers=admin
        )
        problem(response, status)
    problem(
        client.patch(
            f"/v1/organisations/{ch.zj}", json={"parent_id": None}, headers=tenant.auth("operator")
        ),
        403,
    )
    assert (rows(app, Organisation), audit_kinds(app, tenant.tenant_id)) == before

    moved = client.patch(
        f"/v1/organisations/{retailer}", json={"parent_id": ch.nj_dealer}, headers=admin
    )
    assert moved.status_code == 200 and moved.json()["parent_id"] == ch.nj_dealer
    entry = [e for e in log_entries(app, tenant.tenant_id) if e["kind"] == "channel.parent_changed"]
    assert entry[-1]["data"] == {
        "organisation_id": retailer,
        "parent_id": ch.nj_dealer,
        "previous": ch.hz_dealer,
    }

    client.post(
        f"/v1/organisations/{ch.hz_dealer}/geofences",
        json={"name": "g", "geojson": SQUARE},
        headers=admin,
    )
    tree = client.get("/v1/channel/tree", headers=tenant.auth("operator")).json()
    roots = {node["name"]: node for node in tree["organisations"]}
    brand = roots["西湖茶业"]
    assert brand["effective_territories"] == [] and brand["kind"] == "brand"
    zj, js = (next(c for c in brand["children"] if c["id"] == i) for i in (ch.zj, ch.js))
    dealer = zj["children"][0]
    assert dealer["id"] == ch.hz_dealer and dealer["geofence_count"] == 1
    assert dealer["territories"] == [{"code": "330100", "name": "浙江省 杭州市"}]
    nj = js["children"][0]
    assert [c["id"] for c in nj["children"]] == [retailer]
    assert nj["children"][0]["effective_territories"][0]["code"] == "320000"
    assert nj["children"][0]["territories_inherited_from"] == ch.js
