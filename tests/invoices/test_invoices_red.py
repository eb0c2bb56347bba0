"""Red-letter invoices: whole or by line and quantity, never more than the blue invoice
(also when asked for at once), and the 专票 confirmation the buyer confirms."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from invoice_support import Parties, invoice_body, invoicing_parties, line, written
from sqlalchemy import select

from compliance.invoice.xml import read_xml
from fixtures.app import TenantKeys
from trace_api.components import Components
from trace_api.db import transaction
from trace_api.errors import Conflict
from trace_api.invoices import confirmations
from trace_api.invoices.red import Taking
from trace_api.models import Invoice


def _blue(client: TestClient, tenant: TenantKeys, parties: Parties, **changes: Any) -> dict:
    body = invoice_body(parties, **changes)
    issued = client.post("/v1/invoices", json=body, headers=tenant.auth("operator"))
    assert issued.status_code == 201, issued.text
    return dict(issued.json())


def _red(client: TestClient, tenant: TenantKeys, number: str, body: dict) -> Any:
    return client.post(f"/v1/invoices/{number}/red", json=body, headers=tenant.auth("operator"))


def _get(client: TestClient, tenant: TenantKeys, number: str) -> dict:
    return dict(client.get(f"/v1/invoices/{number}", headers=tenant.auth("compliance")).json())


def test_a_whole_invoice_is_taken_back_once(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    parties = invoicing_parties(app, tenant)
    blue = _blue(client, tenant, parties, kind="normal", lines=[
        line(), line(discount=True, quantity=None, unit_price=None, amount="-20.00")])  # fmt: skip
    red = _red(client, tenant, blue["number"], {"reason": "01"})
    assert red.status_code == 201, red.text
    assert red.json()["colour"] == "red" and red.json()["original"] == blue["number"]
    assert red.json()["total"] == "-365.50" and red.json()["total_in_words"] == "负叁佰陆拾伍元伍角"
    assert [ln["total"] for ln in red.json()["lines"]] == ["-385.50", "20.00"]
    after = _get(client, tenant, blue["number"])
    assert (after["status"], after["remaining_total"]) == ("reversed", "0.00")
    with transaction(Components.of(app).sessions) as session:
        xml = bytes(
            session.scalar(select(Invoice.xml).where(Invoice.number == red.json()["number"]))
        )
    read = read_xml(xml)
    assert read.invoice.red is not None and read.invoice.red.original == blue["number"]
    before = written(app)
    again = _red(client, tenant, blue["number"], {"reason": "01"})
    assert again.status_code == 409 and written(app) == before


def test_lines_are_taken_back_by_quantity_to_the_last_fen(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    parties = invoicing_parties(app, tenant)
    # 3 at 0.335 without tax: 1.01 for the line, but 0.34 for each one of them
    blue = _blue(client, tenant, parties, kind="normal", lines=[
        line(quantity="3", unit_price="0.335", price_includes_tax=False, rate="13%")])  # fmt: skip
    number = blue["number"]
    for taken, status in ((1, "partly_reversed"), (1, "partly_reversed"), (1, "reversed")):
        taking = {"reason": "02", "lines": [{"position": 0, "quantity": str(taken)}]}
        red = _red(client, tenant, number, taking)
        assert red.status_code == 201, red.text
        assert _get(client, tenant, number)["status"] == status
    after = _get(client, tenant, number)
    assert after["remaining_total"] == "0.00"
    assert after["lines"][0]["reversed_quantity"] == "3"
    assert after["lines"][0]["reversed_total"] == "-" + blue["lines"][0]["total"]
    listed = client.get("/v1/invoices?colour=red", headers=tenant.auth("compliance")).json()
    for figure in ("amount", "tax", "total"):  # parts 0.34 + 0.04, 0.33 + 0.05, 0.34 + 0.04
        taken = sum(Decimal(i[figure]) for i in listed["invoices"])
        assert taken == -Decimal(blue[figure]), figure  # not 3 x (0.34 + 0.04)


def test_taking_back_more_than_is_left_is_refused_and_writes_nothing(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    parties = invoicing_parties(app, tenant)
    blue = _blue(client, tenant, parties, kind="normal")
    number = blue["number"]
    two = {"reason": "02", "lines": [{"position": 0, "quantity": "2"}]}
    assert _red(client, tenant, number, two).status_code == 201
    before = written(app)
    for body, status in (
        ({"reason": "02", "lines": [{"position": 0, "quantity": "2"}]}, 409),
        ({"reason": "02", "lines": [{"position": 0, "quantity": "0"}]}, 422),
        ({"reason": "02", "lines": [{"position": 7}]}, 422),
        ({"reason": "01", "lines": [{"position": 0}]}, 422),  # an error: whole only
        ({"reason": "09"}, 422),
    ):
        refused = _red(client, tenant, number, body)
        assert refused.status_code == status, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
    assert written(app) == before
    assert _get(client, tenant, number)["remaining_total"] == "128.50"


def test_a_discounted_line_is_taken_back_whole_or_not_at_all(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    parties = invoicing_parties(app, tenant)
    blue = _blue(client, tenant, parties, kind="normal", lines=[
        line(), line(discount=True, quantity=None, unit_price=None, amount="-20.00")])  # fmt: skip
    one = {"reason": "02", "lines": [{"position": 0, "quantity": "1"}]}
    part = _red(client, tenant, blue["number"], one)
    assert part.status_code == 422 and "whole" in part.json()["detail"]
    whole = _red(client, tenant, blue["number"], {"reason": "02", "lines": [{"position": 0}]})
    assert whole.status_code == 201, whole.text
    assert [ln["total"] for ln in whole.json()["lines"]] == ["-385.50", "20.00"]


def test_two_red_invoices_at_once_never_take_back_more_than_the_blue_one(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    parties = invoicing_parties(app, tenant)
    blue = _blue(client, tenant, parties, kind="normal")  # 3 boxes
    sessions = Components.of(app).sessions
    start = threading.Barrier(2)
    outcomes: list[object] = []

    def take_two() -> None:
        try:
            start.wait(timeout=30)
            with transaction(sessions) as session:
                confirmations.red_at_once(session=session, tenant_id=tenant.tenant_id,
                                          number=blue["number"], actor="test", reason="02",
                                          takings=[Taking(0, Decimal(2))])  # fmt: skip
            outcomes.append("issued")
        except Conflict as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=take_two) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(map(str, outcomes)).count("issued") == 1, outcomes
    assert len(outcomes) == 2
    after = _get(client, tenant, blue["number"])
    assert after["lines"][0]["reversed_quantity"] == "2"
    with transaction(sessions) as session:
        assert len(list(session.scalars(select(Invoice.id).where(Invoice.colour == "red")))) == 1


def test_a_special_invoice_the_buyer_accepted_is_taken_back_on_its_confirmation(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    parties = invoicing_parties(app, tenant)
    blue = _blue(client, tenant, parties)  # a 专票 to the dealer
    number, dealer = blue["number"], tenant.auth("dealer")
    assert (
        client.post(f"/v1/invoices/{number}/accept", headers=tenant.auth("admin")).status_code
        == 403
    )
    assert client.post(f"/v1/invoices/{number}/accept", headers=dealer).status_code == 200
    before = written(app)
    direct = _red(client, tenant, number, {"reason": "04"})
    assert direct.status_code == 409 and "confirmation" in direct.json()["detail"]
    assert written(app) == before
    url = f"/v1/invoices/{number}/red-confirmations"
    too_much = client.post(url, json={"reason": "02", "lines": [{"position": 0, "quantity": "4"}]},
                           headers=tenant.auth("operator"))  # fmt: skip
    assert too_much.status_code == 409 and written(app) == before
    entered = client.post(url, json={"reason": "02", "lines": [{"position": 0, "quantity": "1"}]},
                          headers=tenant.auth("operator"))  # fmt: skip
    assert entered.status_code == 201, entered.text
    confirmation = entered.json()
    assert confirmation["status"] == "awaiting_buyer" and confirmation["red_invoice"] is None
    assert _get(client, tenant, number)["status"] == "normal"  # nothing taken back yet
    decide = f"/v1/red-confirmations/{confirmation['id']}"
    assert client.post(f"{decide}/confirm", headers=tenant.auth("operator")).status_code == 403
    confirmed = client.post(f"{decide}/confirm", headers=dealer)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "confirmed"
    red_number = confirmed.json()["red_invoice"]
    red = _get(client, tenant, red_number)
    assert (red["colour"], red["total"], red["original"]) == ("red", "-128.50", number)
    assert _get(client, tenant, number)["status"] == "partly_reversed"
    assert client.post(f"{decide}/confirm", headers=dealer).status_code == 409  # once
    second = client.post(url, json={"reason": "02"}, headers=tenant.auth("operator")).json()
    refused = client.post(f"/v1/red-confirmations/{second['id']}/refuse", headers=dealer)
    assert refused.json()["status"] == "refused" and refused.json()["red_invoice"] is None
    third = client.post(url, json={"reason": "02"}, headers=tenant.auth("operator")).json()
    withdrawn = client.post(f"/v1/red-confirmations/{third['id']}/withdraw",
                            headers=tenant.auth("operator"))  # fmt: skip
    assert withdrawn.json()["status"] == "withdrawn"
    listed = client.get(url, headers=dealer).json()
    assert [c["status"] for c in listed] == ["confirmed", "refused", "withdrawn"]
    assert _get(client, tenant, number)["remaining_total"] == "257.00"


def test_a_red_invoice_of_nothing_and_an_error_after_a_part_are_refused(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    parties = invoicing_parties(app, tenant)
    blue = _blue(client, tenant, parties, kind="normal", lines=[
        line(quantity="2", unit_price="0.005", price_includes_tax=False, rate="13%")])  # fmt: skip
    before = written(app)
    nothing = _red(client, tenant, blue["number"],
                   {"reason": "02", "lines": [{"position": 0, "quantity": "0.5"}]})  # fmt: skip
    assert nothing.status_code == 422 and "nothing" in nothing.json()["detail"]
    assert written(app) == before
    other = _blue(client, tenant, parties, kind="normal")
    part = {"reason": "02", "lines": [{"position": 0, "quantity": "1"}]}
    assert _red(client, tenant, other["number"], part).status_code == 201
    error = _red(client, tenant, other["number"], {"reason": "01"})
    assert error.status_code == 422 and "02, 03 or 04" in error.json()["detail"]


def test_a_line_too_large_for_an_invoice_is_a_422_not_a_500(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    parties = invoicing_parties(app, tenant)
    before = written(app)
    for lines in (
        [line(quantity="99999999999999999", unit_price="99999999999999999")],
        [line(quantity="1000000000000", unit_price="1", rate="0%", price_includes_tax=False),
         line(discount=True, quantity=None, unit_price=None, rate="0%",
              price_includes_tax=False, amount="-999999999999.99")],
    ):  # fmt: skip
        response = client.post("/v1/invoices", json=invoice_body(parties, lines=lines),
                               headers=tenant.auth("operator"))  # fmt: skip
        assert response.status_code == 422, response.text
    assert written(app) == before
