"""Products, batches and issuing codes over the API: roles, tenants, bad input, audit, anchor."""

from __future__ import annotations

import json
import time

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from crypto.merkle import MerkleTree
from fixtures.app import TenantKeys
from fixtures.audit import log_entries
from fixtures.codes import GTIN, issue_batch, make_batch, make_product
from trace_api.components import Components
from trace_api.db import transaction
from trace_api.models import AnchorJob, Code, CodeTree
from trace_api.tenancy import service as tenancy_service


def test_product_gtin_is_validated_and_stored_as_gtin14(
    client: TestClient, tenant: TenantKeys
) -> None:
    product = make_product(client, tenant, gtin="9506000134352")
    assert product["gtin"] == GTIN
    bad = client.post(
        "/v1/products",
        json={"gtin": "9506000134353", "name": "x"},
        headers=tenant.auth("operator"),
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    assert bad.json()["type"] == "/problems/invalid-gtin"
    assert "check digit" in bad.json()["detail"]
    again = client.post(
        "/v1/products", json={"gtin": GTIN, "name": "dup"}, headers=tenant.auth("admin")
    )
    assert again.status_code == 409
    assert len(client.get("/v1/products", headers=tenant.auth("dealer")).json()) == 1


def test_brand_links_must_be_known_gs1_link_types(client: TestClient, tenant: TenantKeys) -> None:
    body = {"gtin": GTIN, "name": "x", "links": {"gs1:nonsense": "https://x.example"}}
    response = client.post("/v1/products", json=body, headers=tenant.auth("operator"))
    assert response.status_code == 422
    body["links"] = {"gs1:pip": "javascript:alert(1)"}
    response = client.post("/v1/products", json=body, headers=tenant.auth("operator"))
    assert response.status_code == 422
    assert client.get("/v1/products", headers=tenant.auth("operator")).json() == []


def test_batches_validate_lot_and_dates(client: TestClient, tenant: TenantKeys) -> None:
    product = make_product(client, tenant)
    auth = tenant.auth("operator")
    base = {"product_id": product["id"], "production_date": "2026-11-01", "factory": "F"}
    for lot in ("has space", "中文", ""):
        response = client.post("/v1/batches", json={**base, "lot": lot}, headers=auth)
        assert response.status_code == 422, lot
    late = {**base, "lot": "L1", "expiry": "2026-10-01"}
    assert client.post("/v1/batches", json=late, headers=auth).status_code == 422
    make_batch(client, tenant, product["id"], lot="L1")
    assert client.post("/v1/batches", json={**base, "lot": "L1"}, headers=auth).status_code == 409


def test_roles_and_tenants(
    client: TestClient, tenant: TenantKeys, other_tenant: TenantKeys
) -> None:
    issued = issue_batch(client, tenant, count=2)
    for role in ("dealer", "compliance"):
        response = client.post(
            "/v1/products", json={"gtin": "96385074", "name": "x"}, headers=tenant.auth(role)
        )
        assert response.status_code == 403, role
    assert client.get(f"/v1/batches/{issued.batch_id}", headers=tenant.auth("dealer")).is_success
    serial = issued.codes[0]["serial"]
    theirs = other_tenant.auth("admin")
    for method, path in (
        ("GET", f"/v1/products/{issued.product_id}"),
        ("GET", f"/v1/batches/{issued.batch_id}"),
        ("GET", f"/v1/codes/{serial}"),
        ("GET", f"/v1/code-issuances/{issued.issuance['id']}"),
        ("GET", f"/v1/batches/{issued.batch_id}/labels.csv"),
    ):
        response = client.request(method, path, headers=theirs)
        assert response.status_code == 404, path
    response = client.post(
        f"/v1/batches/{issued.batch_id}/codes", json={"count": 1}, headers=theirs
    )
    assert response.status_code == 404
    response = client.post(
        f"/v1/batches/{issued.batch_id}/recall", json={"reason": "x"}, headers=theirs
    )
    assert response.status_code == 404
    assert (
        client.get(f"/v1/batches/{issued.batch_id}", headers=tenant.auth("admin")).json()["status"]
        == "active"
    )


def test_small_issue_answers_at_once_with_rows_tree_anchor_job_and_one_audit_entry(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    issued = issue_batch(client, tenant, count=7)
    issuance = issued.issuance
    assert issuance["status"] == "done" and issuance["issued"] == 7
    assert [c["serial"] for c in issued.codes] == sorted(c["serial"] for c in issued.codes)
    with transaction(Components.of(app).sessions) as session:
        rows = session.execute(
            select(Code.idx, Code.serial).where(Code.issuance_id == issuance["id"])
        ).all()
        assert sorted(rows) == [(i, c["serial"]) for i, c in enumerate(issued.codes)]
        blob = session.get(CodeTree, issuance["id"]).leaf_hashes
        tree = MerkleTree.from_leaf_hashes(blob[i : i + 32] for i in range(0, len(blob), 32))
        assert "0x" + tree.root().hex() == issuance["root"]
        job = session.get(AnchorJob, issuance["anchor_job_id"])
        assert (job.kind, job.subject, job.root, job.size) == (
            "codes",
            issued.batch_id,
            issuance["root"],
            7,
        )
    issued_entries = [e for e in log_entries(app, tenant.tenant_id) if e["kind"] == "codes.issued"]
    assert len(issued_entries) == 1
    assert issued_entries[0]["data"]["count"] == 7
    assert issued_entries[0]["data"]["root"] == issuance["root"]
    kinds = {e["kind"] for e in log_entries(app, tenant.tenant_id)}
    assert {"product.created", "batch.created"} <= kinds


def test_a_batch_is_issued_once_and_bad_counts_change_nothing(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    issued = issue_batch(client, tenant, count=3)
    auth = tenant.auth("operator")
    again = client.post(f"/v1/batches/{issued.batch_id}/codes", json={"count": 3}, headers=auth)
    assert again.status_code == 409
    other = make_batch(client, tenant, issued.product_id, lot="L2")
    for count in (0, -1, 10**9):
        response = client.post(
            f"/v1/batches/{other['id']}/codes", json={"count": count}, headers=auth
        )
        assert response.status_code == 422, count
    with transaction(Components.of(app).sessions) as session:
        assert session.scalar(select(func.count()).select_from(Code)) == 3


def test_large_issue_runs_as_a_job_with_progress_and_pins_handed_out_once(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    Components.of(app).settings.codes_sync_limit = 100
    Components.of(
        app
    ).code_issuer.sealers.workers = 0  # seal in-process: no worker start-up in tests
    product = make_product(client, tenant)
    batch = make_batch(client, tenant, product["id"])
    auth = tenant.auth("operator")
    response = client.post(
        f"/v1/batches/{batch['id']}/codes", json={"count": 1500, "pins": True}, headers=auth
    )
    assert response.status_code == 202, response.text
    location = response.headers["location"]
    assert response.json()["codes"] is None
    deadline = time.monotonic() + 60
    while (job := client.get(location, headers=auth).json())["status"] in ("pending", "running"):
        assert 0 <= job["issued"] <= 1500
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert job["status"] == "done", job
    assert job["issued"] == 1500
    pins = client.get(f"{location}/pins.csv", headers=auth)
    assert pins.status_code == 200
    lines = pins.text.strip().splitlines()
    assert lines[0] == "serial,pin" and len(lines) == 1501
    assert all(len(line.split(",")[1]) == 8 for line in lines[1:])
    assert client.get(f"{location}/pins.csv", headers=auth).status_code == 409  # once only
    with transaction(Components.of(app).sessions) as session:
        stored = session.scalars(select(Code.pin_hash).where(Code.issuance_id == job["id"]))
        hashes = list(stored)
    assert len(hashes) == 1500 and all(h is not None and len(h) == 16 for h in hashes)
    assert not any(
        line.split(",")[1].encode() in h for line, h in zip(lines[1:], hashes, strict=True)
    )


def test_issue_with_workers_matches_in_process(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    """The spawned sealing processes produce codes that resolve as genuine."""
    Components.of(app).settings.codes_sync_limit = 10
    Components.of(app).code_issuer.sealers.workers = 1
    product = make_product(client, tenant)
    batch = make_batch(client, tenant, product["id"])
    auth = tenant.auth("operator")
    response = client.post(f"/v1/batches/{batch['id']}/codes", json={"count": 40}, headers=auth)
    assert response.status_code == 202
    deadline = time.monotonic() + 120
    while (job := client.get(response.headers["location"], headers=auth).json())["status"] in (
        "pending",
        "running",
    ):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert job["status"] == "done", job
    csv = client.get(f"/v1/batches/{batch['id']}/labels.csv", headers=auth).text.splitlines()
    uri = csv[5].split(",")[4]
    answer = client.get(
        uri.removeprefix("http://127.0.0.1:8000"), headers={"Accept": "application/json"}
    )
    assert answer.json()["verdict"] == "genuine"


def test_issue_needs_an_active_data_key_and_then_changes_nothing(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    product = make_product(client, tenant)
    batch = make_batch(client, tenant, product["id"])
    with transaction(Components.of(app).sessions) as session:
        for key in tenancy_service.list_data_keys(session=session, tenant_id=tenant.tenant_id):
            tenancy_service.shred_data_key(
                session=session, tenant_id=tenant.tenant_id, key_id=key.key_id
            )
    response = client.post(
        f"/v1/batches/{batch['id']}/codes", json={"count": 2}, headers=tenant.auth("operator")
    )
    assert response.status_code == 409
    assert "data key" in response.json()["detail"]
    with transaction(Components.of(app).sessions) as session:
        assert session.scalar(select(func.count()).select_from(Code)) == 0
        assert session.scalar(select(func.count()).select_from(AnchorJob)) == 0


def test_code_detail_and_item_recall(client: TestClient, app: FastAPI, tenant: TenantKeys) -> None:
    issued = issue_batch(client, tenant, count=2)
    serial = issued.codes[1]["serial"]
    detail = client.get(f"/v1/codes/{serial.lower()}", headers=tenant.auth("dealer")).json()
    assert detail["index"] == 1 and detail["scan_count"] == 0 and detail["recalled_at"] is None
    response = client.post(
        f"/v1/codes/{serial}/recall",
        json={"reason": "damaged seal"},
        headers=tenant.auth("operator"),
    )
    assert response.status_code == 200
    assert response.json()["recalled_at"] is not None
    entries = [e for e in log_entries(app, tenant.tenant_id) if e["kind"] == "code.recalled"]
    assert entries[0]["data"] == {
        "serial": serial,
        "batch_id": issued.batch_id,
        "reason": "damaged seal",
    }
    assert json.loads(json.dumps(detail))  # plain JSON all the way
