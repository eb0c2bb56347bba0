"""Invoices drafted from shipments: a line per product shipped to the buyer, named, coded
and priced as the product's invoice item and its channel's price list say, and every
shipment invoiced once."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from invoice_support import BUYER_USCC, SELLER_USCC, TEA, written
from movements.channel_setup import Channel, build_channel

from fixtures.app import TenantKeys
from trace_api.components import Components
from trace_api.db import transaction
from trace_api.invoices import profiles
from trace_api.models import Batch, Organisation


def _invoicing_channel(app: FastAPI, client: TestClient, tenant: TenantKeys) -> tuple[Channel, str]:
    """The channel with the brand and the Zhejiang distributor ready to invoice, and the
    product of its batch."""
    channel = build_channel(app, client, tenant, codes=5)
    with transaction(Components.of(app).sessions) as session:
        for name, uscc, division in (("brand", SELLER_USCC, "330106"),
                                     ("zj_dist", BUYER_USCC, "330100")):  # fmt: skip
            org = session.get(Organisation, channel.orgs[name])
            assert org is not None
            org.uscc = uscc
            profiles.set_profile(
                session=session, tenant_id=tenant.tenant_id, organisation_id=org.id,
                actor="test", division_code=division, address="杭州", phone="0571-1",
                bank="工商银行", account="1202",
            )  # fmt: skip
        assert channel.batch is not None
        batch = session.get(Batch, channel.batch.batch_id)
        assert batch is not None
        product = batch.product_id
    operator = tenant.auth("operator")
    item = {"name": "*茶*西湖龙井", "tax_code": TEA, "rate": "9%", "unit": "盒",
            "specification": "250g"}  # fmt: skip
    assert client.put(f"/v1/products/{product}/invoice-item", json=item,
                      headers=operator).status_code == 200  # fmt: skip
    price = {"unit_price": "128.5", "price_includes_tax": True}
    assert client.put(f"/v1/products/{product}/prices/distributor", json=price,
                      headers=operator).status_code == 200  # fmt: skip
    return channel, product


def _draft(client: TestClient, tenant: TenantKeys, channel: Channel, events: list[str],
           **extra: Any) -> Any:  # fmt: skip
    body = {"kind": "special", "seller": channel.orgs["brand"], "buyer": channel.orgs["zj_dist"],
            "shipments": events, **extra}  # fmt: skip
    return client.post("/v1/invoices/drafts", json=body, headers=tenant.auth("operator"))


def test_an_invoice_is_drafted_from_shipments_and_each_is_invoiced_once(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    channel, product = _invoicing_channel(app, client, tenant)
    first = channel.scan("brand", "ship", codes=[channel.serial(0), channel.serial(1)],
                         to=channel.orgs["zj_dist"])["event_ids"]  # fmt: skip
    second = channel.scan("brand", "ship", codes=[channel.serial(2)],
                          to=channel.orgs["zj_dist"])["event_ids"]  # fmt: skip
    before = written(app)
    drafted = _draft(client, tenant, channel, [*first, *second])
    assert drafted.status_code == 200, drafted.text
    assert written(app) == before  # a draft stores nothing
    [line] = drafted.json()["lines"]
    assert (line["name"], line["quantity"], line["unit_price"], line["product_id"]) == (
        "*茶*西湖龙井", "3", "128.5", product)  # fmt: skip
    issued = client.post("/v1/invoices", json=drafted.json(), headers=tenant.auth("operator"))
    assert issued.status_code == 201, issued.text
    assert issued.json()["total"] == "385.50"
    again = _draft(client, tenant, channel, first)
    assert again.status_code == 409
    before = written(app)
    twice = client.post("/v1/invoices", json=drafted.json(), headers=tenant.auth("operator"))
    assert twice.status_code == 409 and written(app) == before


def test_a_draft_takes_a_price_given_over_the_list_and_refuses_what_it_cannot_price(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    channel, product = _invoicing_channel(app, client, tenant)
    shipped = channel.scan("brand", "ship", codes=[channel.serial(0)],
                           to=channel.orgs["zj_dist"])["event_ids"]  # fmt: skip
    given = _draft(client, tenant, channel, shipped, prices={product: "99.9"})
    assert given.status_code == 200 and given.json()["lines"][0]["unit_price"] == "99.9"
    assert _draft(client, tenant, channel, ["urn:uuid:no-such-event"]).status_code == 422
    elsewhere = _draft(client, tenant, channel, shipped, buyer=channel.orgs["hz_dealer"])
    assert elsewhere.status_code == 422  # nothing of it went to that buyer
    assert "carry no items" in elsewhere.json()["detail"]
