"""Issuing invoices over the API: numbered, rendered, valid, stored, logged, anchored."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from invoice_support import BUYER_USCC, invoice_body, invoicing_parties, line, written
from lxml import etree
from sqlalchemy import select

from compliance.invoice.xml import invoice_digest, read_xml, schema
from crypto.sm3 import sm3
from fixtures.app import TenantKeys
from trace_api.components import Components
from trace_api.db import transaction
from trace_api.invoices.numbering import invoice_year
from trace_api.models import AuditEntry, Invoice


def _issue(client: TestClient, tenant: TenantKeys, body: dict[str, Any], role: str = "operator"):
    return client.post("/v1/invoices", json=body, headers=tenant.auth(role))


def test_a_special_invoice_is_numbered_rendered_and_logged(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    parties = invoicing_parties(app, tenant)
    body = invoice_body(
        parties,
        lines=[
            line(),
            line(discount=True, quantity=None, unit_price=None, amount="-20.00"),
            line(name="*茶*红茶", rate="免税", quantity="1.5", unit_price="60",
                 price_includes_tax=False, unit="千克"),
        ],
    )  # fmt: skip
    issued = _issue(client, tenant, body)
    assert issued.status_code == 201, issued.text
    invoice = issued.json()
    number = invoice["number"]
    with transaction(Components.of(app).sessions) as session:
        row = session.scalar(select(Invoice).where(Invoice.number == number))
        assert row is not None
        year = invoice_year(row.issued_at)
        xml = bytes(row.xml)
    assert number == f"{year % 100:02d}332{1:015d}"  # Zhejiang, channel 2, the first
    assert issued.headers["Location"] == f"/v1/invoices/{number}"
    # 385.50 with 9% in it: 31.83 tax; the -20.00 discount: -1.65; 90.00 exempt: none
    assert (invoice["amount"], invoice["tax"], invoice["total"]) == ("425.32", "30.18", "455.50")
    assert invoice["total_in_words"] == "肆佰伍拾伍元伍角"
    assert invoice["buyer_credit_code"] == BUYER_USCC
    assert [ln["total"] for ln in invoice["lines"]] == ["385.50", "-20.00", "90.00"]
    assert schema().validate(etree.fromstring(xml))
    assert invoice["digest_sm3"] == sm3(xml).hex() == invoice_digest(xml).hex()
    read = read_xml(xml)
    assert read.printed_totals == (Decimal("425.32"), Decimal("30.18"), Decimal("455.50"))
    assert read.invoice.buyer.bank == "中国建设银行上海黄浦支行"
    served = client.get(f"/v1/invoices/{number}/xml", headers=tenant.auth("compliance"))
    assert served.status_code == 200 and served.content == xml
    assert served.headers["content-type"] == "application/xml"
    with transaction(Components.of(app).sessions) as session:
        [logged] = session.scalars(select(AuditEntry).where(AuditEntry.kind == "invoice.issued"))
        assert logged.body.count(number.encode()) == 1


def test_the_next_invoice_takes_the_next_number(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    parties = invoicing_parties(app, tenant)
    numbers = [_issue(client, tenant, invoice_body(parties)).json()["number"] for _ in range(3)]
    assert [int(n[5:]) for n in numbers] == [1, 2, 3]


_BAD = [
    ("a float quantity", {"lines": [line(quantity=3.0)]}),
    ("an unknown rate", {"lines": [line(rate="12%")]}),
    ("an item name without *简称*", {"lines": [line(name="西湖龙井")]}),
    ("a short tax code", {"lines": [line(tax_code="101011501")]}),
    ("too many decimals", {"lines": [line(unit_price="1.12345678901234")]}),
    ("an exponent", {"lines": [line(unit_price="1e3")]}),
    ("a discount first", {"lines": [line(discount=True, quantity=None, unit_price=None,
                                         amount="-1.00")]}),
    ("a 专票 to a buyer without bank", {"buyer": {"name": "某公司", "credit_code": BUYER_USCC}}),
    ("a bad credit code", {"kind": "normal",
                           "buyer": {"name": "某公司", "credit_code": "91110000100000000X"}}),
    ("no lines", {"lines": []}),
    ("a foreign seller", {"seller": "no-such-organisation"}),
    ("a product not the tenant's", {"lines": [line(product_id="no-such-product")]}),
    ("an unknown member", {"colour": "red"}),
]  # fmt: skip


@pytest.mark.parametrize("change", [c for _, c in _BAD], ids=[n for n, _ in _BAD])
def test_a_bad_invoice_is_a_4xx_problem_and_writes_nothing(
    app: FastAPI, client: TestClient, tenant: TenantKeys, change: dict[str, Any]
) -> None:
    parties = invoicing_parties(app, tenant)
    before = written(app)
    response = _issue(client, tenant, invoice_body(parties, **change))
    assert response.status_code in (404, 422), response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert written(app) == before


def test_a_normal_invoice_to_an_individual_needs_no_credit_code(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    parties = invoicing_parties(app, tenant)
    body = invoice_body(parties, kind="normal", buyer={"name": "张三", "individual": True})
    issued = _issue(client, tenant, body)
    assert issued.status_code == 201, issued.text
    assert issued.json()["buyer_credit_code"] is None


def test_a_dealer_sees_the_invoices_it_bought_on_and_no_others(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    parties = invoicing_parties(app, tenant)
    own = _issue(client, tenant, invoice_body(parties)).json()["number"]
    other = _issue(
        client,
        tenant,
        invoice_body(parties, kind="normal", buyer={"name": "张三", "individual": True}),
    ).json()["number"]
    dealer = tenant.auth("dealer")
    listed = client.get("/v1/invoices", headers=dealer).json()["invoices"]
    assert [i["number"] for i in listed] == [own]
    assert client.get(f"/v1/invoices/{other}", headers=dealer).status_code == 404
    assert client.get(f"/v1/invoices/{other}/xml", headers=dealer).status_code == 404
    everything = client.get("/v1/invoices", headers=tenant.auth("compliance")).json()["invoices"]
    assert [i["number"] for i in everything] == [other, own]  # newest first


def test_issued_invoices_are_batched_and_anchored_once(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    parties = invoicing_parties(app, tenant)
    for _ in range(3):
        assert _issue(client, tenant, invoice_body(parties)).status_code == 201
    parts = Components.of(app)
    first = parts.invoice_batcher.run_once()
    assert (first.batches, first.proofs) == (1, 3)
    parts.worker.run_until_idle()
    logged = parts.invoice_batcher.run_once()
    assert (logged.batches, logged.anchored) == (0, 1)
    with transaction(parts.sessions) as session:
        kinds = list(session.scalars(select(AuditEntry.kind).order_by(AuditEntry.seq)))
        assert kinds.count("invoice.batched") == 3 and kinds.count("invoice.anchored") == 3
        batches = set(session.scalars(select(Invoice.batch_id)))
        assert len(batches) == 1 and None not in batches
