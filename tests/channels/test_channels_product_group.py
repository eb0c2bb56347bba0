"""A product's group (what channel product scopes name as group:{name}): set on creation,
changed with PATCH /v1/products/{id}, each change logged; bad input changes nothing."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from fixtures.app import TenantKeys
from fixtures.audit import log_entries
from fixtures.channels import audit_kinds, problem, rows
from fixtures.codes import make_product
from trace_api.models import Product


def test_product_group_is_set_changed_and_logged(
    client: TestClient, app: FastAPI, tenant: TenantKeys, other_tenant: TenantKeys
) -> None:
    product = make_product(client, tenant, product_group=" 绿茶 ")
    assert product["product_group"] == "绿茶"
    plain = make_product(client, tenant, gtin="96385074")
    assert plain["product_group"] is None
    path = f"/v1/products/{product['id']}"

    before = (rows(app, Product), audit_kinds(app, tenant.tenant_id))
    for body, auth, status in (
        ({"product_group": "   "}, tenant.auth("operator"), 422),
        ({"product_group": "x" * 65}, tenant.auth("operator"), 422),
        ({"product_group": "a\x00b"}, tenant.auth("operator"), 422),
        ({"name": "renamed"}, tenant.auth("operator"), 422),
        ({"product_group": "红茶"}, tenant.auth("dealer"), 403),
        ({"product_group": "红茶"}, tenant.auth("compliance"), 403),
        ({"product_group": "红茶"}, other_tenant.auth("admin"), 404),
    ):
        problem(client.patch(path, json=body, headers=auth), status)
    assert (rows(app, Product), audit_kinds(app, tenant.tenant_id)) == before

    changed = client.patch(path, json={"product_group": "红茶"}, headers=tenant.auth("operator"))
    assert changed.status_code == 200 and changed.json()["product_group"] == "红茶"
    cleared = client.patch(path, json={"product_group": None}, headers=tenant.auth("admin"))
    assert cleared.json()["product_group"] is None
    same = client.patch(path, json={"product_group": None}, headers=tenant.auth("admin"))
    assert same.status_code == 200
    listed = client.get(f"/v1/products/{product['id']}", headers=tenant.auth("dealer")).json()
    assert listed["product_group"] is None

    entries = log_entries(app, tenant.tenant_id)
    created = next(e for e in entries if e["kind"] == "product.created")
    assert created["data"]["product_group"] == "绿茶"
    changes = [e for e in entries if e["kind"] == "product.group_changed"]
    assert [(e["data"]["previous"], e["data"]["product_group"]) for e in changes] == [
        ("绿茶", "红茶"),
        ("红茶", None),
    ]
    assert changes[0]["items"] == [product["id"]]
