"""Allocations over the API: targets in every accepted form, replacement and its audit
entries, territory checks, bad input changing nothing, paging, roles and bulk."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from crypto.serials import new_serial
from fixtures.app import TenantKeys
from fixtures.audit import log_entries
from fixtures.channels import audit_kinds, make_channel, problem, rows
from fixtures.codes import issue_batch
from trace_api.codes.gs1 import gtin_check_digit
from trace_api.models import Allocation

ITEM = "https://id.gs1.org/01/09506000134352/21/{}"


def sscc(n: int) -> str:
    body = f"30614141{n:09d}"
    return body + str(gtin_check_digit(body))


def test_items_in_any_form_are_allocated_under_canonical_keys(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    ch = make_channel(client, tenant)
    issued = issue_batch(client, tenant, count=4)
    serials = [c["serial"] for c in issued.codes]
    items = [
        serials[0].lower(),  # Crockford serials read case-insensitively
        issued.codes[1]["uri"],  # the printed Digital Link, with its lot
        f"urn:epc:id:sgtin:9506000.013435.{serials[2]}",
        serials[0],  # the same item twice counts once
    ]
    body = {"organisation_id": ch.zj, "division_code": "330100", "note": "Q4", "items": items}
    response = client.post("/v1/allocations", json=body, headers=tenant.auth("operator"))
    assert response.status_code == 201, response.text
    result = response.json()
    assert (result["created"], result["changed"], result["unchanged"]) == (3, 0, 0)
    assert result["target_kind"] == "item"
    assert sorted(a["target"] for a in result["allocations"]) == sorted(
        ITEM.format(s) for s in serials[:3]
    )
    entry = [e for e in log_entries(app, tenant.tenant_id) if e["kind"] == "allocation.created"]
    assert len(entry) == 1
    assert sorted(entry[0]["items"]) == sorted(ITEM.format(s) for s in serials[:3])
    assert entry[0]["data"]["organisation_id"] == ch.zj
    assert entry[0]["data"]["division_code"] == "330100"
    assert entry[0]["org"] == ch.zj

    one = result["allocations"][0]
    fetched = client.get(f"/v1/allocations/{one['id']}", headers=tenant.auth("compliance"))
    assert fetched.json() == one
    by_target = client.get(
        "/v1/allocations", params={"target": issued.codes[2]["uri"]}, headers=tenant.auth("admin")
    ).json()
    assert [a["target"] for a in by_target["allocations"]] == [ITEM.format(serials[2])]


def test_reallocation_replaces_the_old_row_and_names_both_parties(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    ch = make_channel(client, tenant)
    issued = issue_batch(client, tenant, count=3)
    serials = [c["serial"] for c in issued.codes]
    auth = tenant.auth("operator")
    first = {"organisation_id": ch.zj, "items": serials[:2]}
    assert client.post("/v1/allocations", json=first, headers=auth).status_code == 201
    second = {"organisation_id": ch.js, "division_code": "320106", "items": serials}
    result = client.post("/v1/allocations", json=second, headers=auth).json()
    assert (result["created"], result["changed"], result["unchanged"]) == (1, 2, 0)
    again = client.post("/v1/allocations", json=second, headers=auth).json()
    assert (again["created"], again["changed"], again["unchanged"]) == (0, 0, 3)

    changed = [e for e in log_entries(app, tenant.tenant_id) if e["kind"] == "allocation.changed"]
    assert len(changed) == 1
    assert changed[0]["data"]["from"] == {"organisation_id": ch.zj, "division_code": None}
    assert changed[0]["data"]["to"] == {"organisation_id": ch.js, "division_code": "320106"}
    assert sorted(changed[0]["items"]) == sorted(ITEM.format(s) for s in serials[:2])

    target = {"target": serials[0]}
    current = client.get("/v1/allocations", params=target, headers=auth).json()["allocations"]
    assert [(a["organisation_id"], a["replaced_at"]) for a in current] == [(ch.js, None)]
    history = client.get(
        "/v1/allocations", params={**target, "include_replaced": "true"}, headers=auth
    ).json()["allocations"]
    assert [a["organisation_id"] for a in history] == [ch.zj, ch.js]
    assert history[0]["replaced_at"] is not None
    only_zj = client.get("/v1/allocations", params={"organisation_id": ch.zj}, headers=auth)
    assert only_zj.json()["allocations"] == []


def test_unknown_serials_are_listed_and_nothing_is_stored(
    client: TestClient, app: FastAPI, tenant: TenantKeys, other_tenant: TenantKeys
) -> None:
    ch = make_channel(client, tenant)
    issued = issue_batch(client, tenant, count=2)
    theirs = issue_batch(client, other_tenant, count=1)
    missing = new_serial()  # well-formed, never issued
    before = (rows(app, Allocation), audit_kinds(app, tenant.tenant_id))
    body = {
        "organisation_id": ch.zj,
        "items": [issued.codes[0]["serial"], missing, theirs.codes[0]["serial"], "not a code"],
    }
    response = client.post("/v1/allocations", json=body, headers=tenant.auth("operator"))
    result = problem(response, 422)
    assert sorted(result["unknown"]) == sorted([missing, theirs.codes[0]["serial"]])
    assert [i["code"] for i in result["invalid"]] == ["not a code"]
    assert theirs.codes[0]["serial"] in result["detail"] and missing in result["detail"]
    assert (rows(app, Allocation), audit_kinds(app, tenant.tenant_id)) == before


def test_containers_need_a_valid_sscc_check_digit(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    ch = make_channel(client, tenant)
    auth = tenant.auth("operator")
    good = sscc(1)
    wrong = good[:17] + str((int(good[17]) + 1) % 10)
    before = (rows(app, Allocation), audit_kinds(app, tenant.tenant_id))
    for bad in ([good, wrong], [f"https://id.gs1.org/00/{wrong}"], ["12345"], ["urn:uuid:x"]):
        response = client.post(
            "/v1/allocations", json={"organisation_id": ch.zj, "containers": bad}, headers=auth
        )
        result = problem(response, 422)
        assert len(result["invalid"]) == 1
    assert (
        wrong
        in problem(
            client.post(
                "/v1/allocations",
                json={"organisation_id": ch.zj, "containers": [wrong]},
                headers=auth,
            ),
            422,
        )["detail"]
    )
    assert (rows(app, Allocation), audit_kinds(app, tenant.tenant_id)) == before

    same = [good, f"https://example.com/00/{good}", f"urn:epc:id:sscc:0614141.3{good[8:17]}"]
    response = client.post(
        "/v1/allocations", json={"organisation_id": ch.zj, "containers": same}, headers=auth
    )
    assert response.status_code == 201, response.text
    assert [a["target"] for a in response.json()["allocations"]] == [
        f"https://id.gs1.org/00/{good}"
    ]
    assert response.json()["target_kind"] == "container"


def test_division_must_lie_in_the_effective_territory(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    ch = make_channel(client, tenant)
    auth = tenant.auth("operator")
    before = (rows(app, Allocation), audit_kinds(app, tenant.tenant_id))
    for org, division in (
        (ch.zj, "320106"),  # Nanjing is not Zhejiang
        (ch.hz_dealer, "330200"),  # Ningbo is outside Hangzhou
        (ch.brand, "330100"),  # the brand has no territory at all
        (ch.zj, "339999"),  # not a division
        (ch.zj, "33"),
    ):
        body = {"organisation_id": org, "division_code": division, "containers": [sscc(2)]}
        problem(client.post("/v1/allocations", json=body, headers=auth), 422)
    assert (rows(app, Allocation), audit_kinds(app, tenant.tenant_id)) == before
    # The Nanjing dealer inherits Jiangsu from its distributor.
    body = {"organisation_id": ch.nj_dealer, "division_code": "320106", "containers": [sscc(2)]}
    assert client.post("/v1/allocations", json=body, headers=auth).status_code == 201


def test_one_kind_of_target_per_call_and_whole_batches(
    client: TestClient, app: FastAPI, tenant: TenantKeys, other_tenant: TenantKeys
) -> None:
    ch = make_channel(client, tenant)
    issued = issue_batch(client, tenant, count=1)
    theirs = issue_batch(client, other_tenant, count=1)
    auth = tenant.auth("operator")
    before = (rows(app, Allocation), audit_kinds(app, tenant.tenant_id))
    for body, status in (
        ({"organisation_id": ch.zj}, 422),
        ({"organisation_id": ch.zj, "items": [], "containers": []}, 422),
        ({"organisation_id": ch.zj, "batch_id": issued.batch_id, "containers": [sscc(3)]}, 422),
        ({"organisation_id": ch.zj, "batch_id": theirs.batch_id}, 404),
        ({"organisation_id": other_tenant.dealer_org_id, "batch_id": issued.batch_id}, 404),
    ):
        problem(client.post("/v1/allocations", json=body, headers=auth), status)
    body = {"organisation_id": ch.zj, "batch_id": issued.batch_id}
    problem(client.post("/v1/allocations", json=body, headers=tenant.auth("compliance")), 403)
    problem(client.post("/v1/allocations", json=body, headers=tenant.auth("dealer")), 403)
    assert (rows(app, Allocation), audit_kinds(app, tenant.tenant_id)) == before
    response = client.post("/v1/allocations", json=body, headers=tenant.auth("admin"))
    assert response.status_code == 201
    assert response.json()["allocations"][0]["target"] == issued.batch_id
    assert response.json()["target_kind"] == "batch"


def test_dealers_see_only_their_own_allocations(
    client: TestClient, app: FastAPI, tenant: TenantKeys, other_tenant: TenantKeys
) -> None:
    ch = make_channel(client, tenant)
    auth = tenant.auth("operator")
    mine = client.post(
        "/v1/allocations",
        json={"organisation_id": ch.hz_dealer, "containers": [sscc(4)]},
        headers=auth,
    ).json()["allocations"][0]
    other = client.post(
        "/v1/allocations", json={"organisation_id": ch.zj, "containers": [sscc(5)]}, headers=auth
    ).json()["allocations"][0]
    dealer = tenant.auth("dealer")
    listed = client.get("/v1/allocations", headers=dealer).json()["allocations"]
    assert [a["id"] for a in listed] == [mine["id"]]
    assert client.get(f"/v1/allocations/{mine['id']}", headers=dealer).status_code == 200
    problem(client.get(f"/v1/allocations/{other['id']}", headers=dealer), 404)
    problem(client.get("/v1/allocations", params={"organisation_id": ch.zj}, headers=dealer), 403)
    problem(client.get(f"/v1/allocations/{mine['id']}", headers=other_tenant.auth("admin")), 404)
    assert client.get("/v1/allocations", headers=other_tenant.auth("admin")).json() == {
        "allocations": [],
        "next_cursor": None,
    }


def test_bulk_allocation_is_chunked_and_pages_are_stable(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    ch = make_channel(client, tenant)
    auth = tenant.auth("operator")
    containers = [sscc(n) for n in range(12_000)]
    body = {"organisation_id": ch.zj, "containers": containers}
    result = client.post("/v1/allocations", json=body, headers=auth).json()
    assert (result["created"], result["allocations"]) == (12_000, None)
    moved = {"organisation_id": ch.js, "containers": containers[:11_000]}
    result = client.post("/v1/allocations", json=moved, headers=auth).json()
    assert (result["created"], result["changed"]) == (0, 11_000)
    entries = log_entries(app, tenant.tenant_id)
    created = [e for e in entries if e["kind"] == "allocation.created"]
    changed = [e for e in entries if e["kind"] == "allocation.changed"]
    assert [len(e["items"]) for e in created] == [10_000, 2_000]
    assert [len(e["items"]) for e in changed] == [10_000, 1_000]

    seen: list[str] = []
    cursor = None
    while True:
        params = {"organisation_id": ch.zj, "limit": 400, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/allocations", params=params, headers=auth).json()
        seen.extend(a["target"] for a in page["allocations"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(f"https://id.gs1.org/00/{c}" for c in containers[11_000:])
    problem(client.get("/v1/allocations", params={"cursor": "@@"}, headers=auth), 422)
