"""A month's invoices as CSV for tax filing: every line of every blue and red invoice
issued in the month (Beijing time), once, with the figures the invoices print."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from invoice_support import invoice_body, invoicing_parties, line

from fixtures.app import TenantKeys
from trace_api.invoices import filing
from trace_api.invoices.numbering import CHINA


def _csv(client: TestClient, tenant: TenantKeys, period: str) -> list[list[str]]:
    response = client.get(f"/v1/invoice-periods/{period}.csv", headers=tenant.auth("compliance"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_a_months_csv_holds_every_line_of_its_invoices_once(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    parties = invoicing_parties(app, tenant)
    body = invoice_body(parties, kind="normal", lines=[line(), line(name="*茶*红茶", rate="免税")])
    blue = client.post("/v1/invoices", json=body, headers=tenant.auth("operator")).json()
    red = client.post(f"/v1/invoices/{blue['number']}/red", json={"reason": "01"},
                      headers=tenant.auth("operator")).json()  # fmt: skip
    month = datetime.fromisoformat(blue["issued_at"]).astimezone(CHINA).strftime("%Y-%m")
    rows = _csv(client, tenant, month)
    assert rows[0] == list(filing.HEADER)
    body_rows = rows[1:]
    assert [(r[0], r[3]) for r in body_rows] == [
        (blue["number"], "蓝字"), (blue["number"], "蓝字"), (red["number"], "红字"),
        (red["number"], "红字")]  # fmt: skip
    assert [r[4] for r in body_rows[2:]] == [blue["number"]] * 2  # the blue one a red reverses
    assert sum(Decimal(r[17]) for r in body_rows) == 0  # reversed whole
    assert sum(Decimal(r[17]) for r in body_rows[:2]) == Decimal(blue["total"])
    assert body_rows[1][11] == "免税"


def test_pages_of_a_month_follow_each_other_without_a_row_twice(
    app: FastAPI, client: TestClient, tenant: TenantKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(filing, "PAGE", 2)
    parties = invoicing_parties(app, tenant)
    numbers = [
        client.post(
            "/v1/invoices", json=invoice_body(parties), headers=tenant.auth("operator")
        ).json()["number"]
        for _ in range(5)
    ]
    month = datetime.now(CHINA).strftime("%Y-%m")
    rows = _csv(client, tenant, month)[1:]
    if len(rows) != 5:  # the month turned between issuing and asking
        rows += _csv(client, tenant, datetime.now(CHINA).strftime("%Y-%m"))[1:]
    assert [r[0] for r in rows] == numbers


def test_another_month_has_the_header_only_and_a_bad_period_is_refused(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    assert _csv(client, tenant, "2001-02") == [list(filing.HEADER)]
    for bad in ("2026-13", "2026-1", "202612", "x"):
        response = client.get(f"/v1/invoice-periods/{bad}.csv", headers=tenant.auth("compliance"))
        assert response.status_code == 422, (bad, response.text)
