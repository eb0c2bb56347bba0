"""What the resolver reads per scan: the brand's branding in one select, and photo URLs."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event

from fixtures.app import TenantKeys
from fixtures.codes import GTIN, make_product
from fixtures.images import png
from trace_api.branding.service import Branding, branding_for, product_image_url
from trace_api.components import Components
from trace_api.db import transaction
from trace_api.models import Product


def test_a_tenant_without_branding_reads_none(app: FastAPI, tenant: TenantKeys) -> None:
    with Components.of(app).engine.connect() as connection:
        assert branding_for(connection, tenant_id=tenant.tenant_id) is None


def test_branding_for_is_one_select_and_reads_what_was_set_last(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    admin = tenant.auth("admin")
    body = {"display_name": "Acme", "hotline": "+86 21 6888-8888", "website": "https://a.example"}
    client.put("/v1/branding", json=body, headers=admin)
    logo = client.put("/v1/branding/logo", content=png(), headers=admin).json()["logo_url"]
    statements: list[str] = []
    engine = Components.of(app).engine
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        with transaction(Components.of(app).sessions) as session:
            found = branding_for(session, tenant_id=tenant.tenant_id)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert found == Branding("Acme", "+86 21 6888-8888", "https://a.example", logo)
    assert found.hotline_uri == "tel:+862168888888"
    assert len(statements) == 1 and "tenant_branding" in statements[0]
    # A change shows on the next read: nothing is cached in the process.
    client.delete("/v1/branding/logo", headers=admin)
    with Components.of(app).engine.connect() as connection:
        after = branding_for(connection, tenant_id=tenant.tenant_id)
    assert after is not None and after.logo_url is None and after.display_name == "Acme"


def test_product_image_url_names_the_stored_photo(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    product = make_product(client, tenant)
    assert product_image_url(None) is None
    put = client.put(f"/v1/products/{GTIN}/image", content=png(), headers=tenant.auth("admin"))
    with transaction(Components.of(app).sessions) as session:
        record = session.get(Product, product["id"])
        assert record is not None
        assert product_image_url(record.image_id) == put.json()["image_url"]
    assert client.get(put.json()["image_url"]).status_code == 200
