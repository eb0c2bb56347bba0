"""An invoice checks out without our server: its XML with TraceProof verifies offline (and
on chain against anvil), one changed figure fails, and the public check by number, date
and total tells its status and proof but nothing of the buyer."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from invoice_support import invoice_body, invoicing_parties, line
from pydantic import SecretStr
from sqlalchemy import Engine
from typer.testing import CliRunner

from compliance.invoice.verify import verify_invoice
from fixtures.anvil import AnvilNode
from fixtures.app import TenantKeys, make_tenant
from trace_api.app import create_app
from trace_api.cli import app as cli_app
from trace_api.components import Components
from trace_api.invoices.numbering import CHINA
from trace_api.settings import Settings, get_settings


def _issue_and_anchor(app: FastAPI, client: TestClient, tenant: TenantKeys, **changes: Any) -> dict:
    parties = invoicing_parties(app, tenant)
    issued = client.post("/v1/invoices", json=invoice_body(parties, **changes),
                         headers=tenant.auth("operator"))  # fmt: skip
    assert issued.status_code == 201, issued.text
    parts = Components.of(app)
    parts.invoice_batcher.run_once()
    parts.worker.run_until_idle()
    parts.invoice_batcher.run_once()
    return dict(issued.json())


def _xml(client: TestClient, tenant: TenantKeys, number: str) -> bytes:
    served = client.get(f"/v1/invoices/{number}/xml", headers=tenant.auth("compliance"))
    assert served.status_code == 200
    return served.content


def _cli(path: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli_app, ["verify-invoice", str(path), *args])
    return result.exit_code, result.output


def test_an_anchored_invoice_verifies_offline_and_a_changed_figure_does_not(
    app: FastAPI, client: TestClient, tenant: TenantKeys, tmp_path: Path
) -> None:
    invoice = _issue_and_anchor(app, client, tenant)
    xml = _xml(client, tenant, invoice["number"])
    assert b"<TraceProof" in xml
    verdict = verify_invoice(xml)
    assert verdict.ok, verdict.describe()
    assert verdict.digest == invoice["digest_sm3"]
    path = tmp_path / "invoice.xml"
    path.write_bytes(xml)
    code, output = _cli(path)
    assert code == 0, output
    assert output.startswith(f"VERIFIED: invoice {invoice['number']}, total 385.50")
    assert "not checked on chain" in output
    changed = tmp_path / "changed.xml"
    changed.write_bytes(xml.replace(b"<TotalTax-includedAmount>385.50<",
                                    b"<TotalTax-includedAmount>358.50<"))  # fmt: skip
    code, output = _cli(changed)
    assert code == 1 and output.startswith("NOT VERIFIED")
    assert "First failure: totals:" in output
    assert "proof.leaf: is not the hash of this invoice's digest" in output


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        (b"<ComTaxAm>31.83<", b"<ComTaxAm>31.84<", "line 0"),  # a tax, and so the totals
        (b"<Quantity>3<", b"<Quantity>4<", "line 0"),  # what the figures come from
        (b"<BuyerName>", b"<BuyerName>X", "proof.leaf"),  # a name: only the digest sees it
        (b"\xe5\x8f\x81\xe4\xbd\xb0", b"\xe5\x8f\x81\xe4\xbd\xb0\xe9\x9b\xb6", "total in capitals"),
    ],
)
def test_one_changed_field_fails_naming_what(
    app: FastAPI, client: TestClient, tenant: TenantKeys, old: bytes, new: bytes, named: str
) -> None:
    invoice = _issue_and_anchor(app, client, tenant)
    xml = _xml(client, tenant, invoice["number"])
    assert old in xml
    verdict = verify_invoice(xml.replace(old, new, 1))
    assert not verdict.ok
    assert any(f.where == named for f in verdict.failures), verdict.describe()


def test_an_invoice_not_yet_anchored_does_not_verify(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    parties = invoicing_parties(app, tenant)
    issued = client.post("/v1/invoices", json=invoice_body(parties),
                         headers=tenant.auth("operator")).json()  # fmt: skip
    verdict = verify_invoice(_xml(client, tenant, issued["number"]))
    assert not verdict.ok
    assert str(verdict.failures[0]).startswith("proof: the file holds no TraceProof")


def test_anyone_checks_an_invoice_by_number_date_and_total(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    invoice = _issue_and_anchor(app, client, tenant)
    number = invoice["number"]
    on = _issue_date(invoice)
    answer = client.get(f"/v1/invoices/{number}/verify", params={"date": on, "amount": "385.50"})
    assert answer.status_code == 200, answer.text
    [match] = answer.json()["matches"]
    assert (match["status"], match["total"], match["remaining_total"]) == (
        "normal", "385.50", "385.50")  # fmt: skip
    assert match["anchored"] and match["proof"]["anchor"]["status"] == "confirmed"
    assert match["digest_sm3"] == invoice["digest_sm3"]
    assert "上海" not in answer.text and "buyer" not in answer.text  # nothing of the buyer
    red = client.post(f"/v1/invoices/{number}/red",
                      json={"reason": "02", "lines": [{"position": 0, "quantity": "1"}]},
                      headers=tenant.auth("operator"))  # fmt: skip
    assert red.status_code == 201
    again = client.get(f"/v1/invoices/{number}/verify", params={"date": on, "amount": "385.50"})
    [after] = again.json()["matches"]
    assert (after["status"], after["remaining_total"]) == ("partly_reversed", "257.00")
    assert [r["number"] for r in after["red_invoices"]] == [red.json()["number"]]
    for params in ({"date": on, "amount": "385.51"}, {"date": "2001-01-01", "amount": "385.50"}):
        wrong = client.get(f"/v1/invoices/{number}/verify", params=params)
        assert (
            wrong.status_code == 404 and wrong.headers["content-type"] == "application/problem+json"
        )
    for bad in ({"date": on, "amount": "NaN"}, {"date": "yesterday", "amount": "1"}, {}):
        refused = client.get(f"/v1/invoices/{number}/verify", params=bad)
        assert refused.status_code in (400, 422), refused.text
    assert (
        client.get("/v1/invoices/123/verify", params={"date": on, "amount": "1"}).status_code == 422
    )


def _issue_date(invoice: dict) -> str:
    from datetime import datetime

    return datetime.fromisoformat(invoice["issued_at"]).astimezone(CHINA).date().isoformat()


@pytest.mark.anvil
def test_an_invoice_anchored_on_anvil_verifies_over_json_rpc(
    settings: Settings, engine: Engine, anvil_snapshot: AnvilNode, tmp_path: Path
) -> None:
    chained = settings.model_copy(
        update={
            "chain_url": anvil_snapshot.url,
            "chain_private_key": SecretStr(anvil_snapshot.private_keys[0]),
            "chain_confirmations": 1,
        }
    )
    app = create_app(chained, engine=engine)
    tenant = make_tenant(app, "acme")
    with TestClient(app) as client:
        invoice = _issue_and_anchor(app, client, tenant, lines=[line(), line(name="*茶*红茶")])
        path = tmp_path / "invoice.xml"
        path.write_bytes(_xml(client, tenant, invoice["number"]))
    contract, _ = Components.of(app).gateway.contract()
    code, output = _cli(path, "--rpc", anvil_snapshot.url, "--contract", contract.address)
    assert code == 0, output
    assert "anchored:" in output
    other = "0x" + "11" * 20
    code, output = _cli(path, "--rpc", anvil_snapshot.url, "--contract", other)
    assert code == 1 and "chain:" in output


@pytest.mark.anvil
def test_a_separate_worker_batches_and_anchors_invoices(
    settings: Settings, engine: Engine, db_url: str, anvil_snapshot: AnvilNode, tmp_path: Path
) -> None:
    chained = settings.model_copy(
        update={
            "chain_url": anvil_snapshot.url,
            "chain_private_key": SecretStr(anvil_snapshot.private_keys[0]),
            "chain_confirmations": 1,
            "worker_in_process": False,
        }
    )
    app = create_app(chained, engine=engine)
    tenant = make_tenant(app, "acme")
    with TestClient(app) as client:
        parties = invoicing_parties(app, tenant)
        issued = client.post("/v1/invoices", json=invoice_body(parties),
                             headers=tenant.auth("operator")).json()  # fmt: skip
        env = {
            "TRACE_DATABASE_URL": db_url,
            "TRACE_DATA_DIR": str(chained.data_dir),
            "TRACE_MASTER_KEY": chained.master_key.get_secret_value(),
            "TRACE_CHAIN_URL": anvil_snapshot.url,
            "TRACE_CHAIN_PRIVATE_KEY": anvil_snapshot.private_keys[0],
            "TRACE_CHAIN_CONFIRMATIONS": "1",
        }
        get_settings.cache_clear()  # the CLI reads its settings once per process
        try:
            ran = CliRunner().invoke(cli_app, ["worker", "--once"], env=env)
        finally:
            get_settings.cache_clear()
        assert ran.exit_code == 0, ran.output
        assert "confirmed 1" in ran.output
        path = tmp_path / "invoice.xml"
        path.write_bytes(_xml(client, tenant, issued["number"]))
    code, output = _cli(path, "--rpc", anvil_snapshot.url)
    assert code == 0, output


def test_a_hostile_file_is_a_failure_not_a_crash(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    invoice = _issue_and_anchor(app, client, tenant)
    xml = _xml(client, tenant, invoice["number"])
    start = xml.index(b'format="tracechain/proof+json">') + len(b'format="tracechain/proof+json">')
    end = xml.index(b"</TraceProof>")
    deep = xml[:start] + b"[" * 100_000 + b"]" * 100_000 + xml[end:]
    month = bytearray(xml)
    at = month.index(b"<IssueTime>") + len(b"<IssueTime>") + 5
    month[at : at + 2] = b"13"  # month 13: the schema's pattern holds, the date does not
    for hostile in (deep, bytes(month)):
        verdict = verify_invoice(hostile)
        assert not verdict.ok and verdict.failures


def test_every_part_of_a_line_taken_back_piece_by_piece_verifies(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    parties = invoicing_parties(app, tenant)
    body = invoice_body(parties, kind="normal",
                        lines=[line(quantity="7", unit_price="0.15", rate="13%")])  # fmt: skip
    blue = client.post("/v1/invoices", json=body, headers=tenant.auth("operator")).json()
    reds = []
    for _ in range(7):
        red = client.post(f"/v1/invoices/{blue['number']}/red",
                          json={"reason": "02", "lines": [{"position": 0, "quantity": "1"}]},
                          headers=tenant.auth("operator"))  # fmt: skip
        assert red.status_code == 201, red.text
        reds.append(red.json())
    parts = Components.of(app)
    parts.invoice_batcher.run_once()
    parts.worker.run_until_idle()
    for red in reds:
        verdict = verify_invoice(_xml(client, tenant, red["number"]))
        assert verdict.ok, verdict.describe()
    for figure in ("amount", "tax", "total"):
        assert sum(Decimal(r[figure]) for r in reds) == -Decimal(blue[figure])
    after = client.get(f"/v1/invoices/{blue['number']}", headers=tenant.auth("operator")).json()
    assert after["status"] == "reversed"


def test_the_public_check_finds_an_invoice_whose_number_other_tenants_share(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    issued = []
    for n in range(3):
        keys = tenant if n == 0 else make_tenant(app, f"t{n}")
        parties = invoicing_parties(app, keys)
        body = invoice_body(parties, lines=[line(quantity=str(n + 1))])
        issued.append(client.post("/v1/invoices", json=body, headers=keys.auth("operator")).json())
    assert len({i["number"] for i in issued}) == 1  # each tenant's first in Zhejiang
    for invoice in issued:
        on = _issue_date(invoice)
        answer = client.get(f"/v1/invoices/{invoice['number']}/verify",
                            params={"date": on, "amount": invoice["total"]})  # fmt: skip
        assert answer.status_code == 200, answer.text
        [match] = answer.json()["matches"]
        assert match["digest_sm3"] == invoice["digest_sm3"]
        assert match["seller"]["credit_code"] == "91350100M000100Y43"
    for amount in ("1.13e2", " 385.50", "٣٨٥.٥٠"):
        odd = client.get(f"/v1/invoices/{issued[0]['number']}/verify",
                         params={"date": _issue_date(issued[0]), "amount": amount})  # fmt: skip
        assert odd.status_code == 422, amount
