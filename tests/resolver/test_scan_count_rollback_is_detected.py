"""A scan count set back in the database shows: the page follows the records and warns, and
the recount names the code; deleted or changed records are named by the seal they break."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from scan_support import run_sql, scan, unlimited, without_append_only
from sqlalchemy import Engine

from fixtures.app import TenantKeys
from fixtures.audit import log_entries
from fixtures.codes import issue_batch
from trace_api.components import Components
from trace_api.resolver.seals import ScanSealer


def _verify(client: TestClient, tenant: TenantKeys, serial: str | None = None) -> dict:
    path = f"/v1/codes/{serial}/scans/verify" if serial else "/v1/scans/verify"
    response = client.get(path, headers=tenant.auth("compliance"))
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_count_set_back_from_31_to_1_still_warns_and_is_named(
    client: TestClient, app: FastAPI, engine: Engine, tenant: TenantKeys
) -> None:
    unlimited(app)
    issued = issue_batch(client, tenant, count=1)
    serial = issued.codes[0]["serial"]
    assert scan(client, issued, 31)["scans"]["count"] == 31
    assert _verify(client, tenant, serial)["ok"]
    run_sql(engine, "UPDATE code_states SET scan_count = 1")
    found = _verify(client, tenant, serial)
    assert not found["ok"] and found["code"]["counter"] == 1 and found["code"]["records"] == 31
    assert [f["check"] for f in found["findings"]] == ["counter_behind_records"]
    assert found["findings"][0]["serial"] == serial
    body = scan(client, issued, 1)
    assert body["scans"]["count"] == 32  # never fewer than the records
    codes = [w["code"] for w in body["warnings"]]
    assert codes == ["count_tampered"]  # one client's 32 scans are not "many" (scans.py)
    assert body["warnings"][0]["counter"] == 1 and body["warnings"][0]["records"] == 31
    page = client.get(issued.path(0)).text
    assert "您是第 33 位查询者" in page
    assert 'data-verdict="possibly_copied"' in page and "查询计数曾被改动" in page
    mismatches = [
        e for e in log_entries(app, tenant.tenant_id) if e["kind"] == "code.scan_count_mismatch"
    ]
    assert [(e["data"]["counter"], e["data"]["records"]) for e in mismatches] == [(1, 31)]
    assert _verify(client, tenant, serial)["ok"]  # the counter was put right by that scan


def test_the_page_names_the_tampering_in_both_languages(
    client: TestClient, app: FastAPI, engine: Engine, tenant: TenantKeys
) -> None:
    unlimited(app)
    issued = issue_batch(client, tenant, count=1)
    scan(client, issued, 31)
    run_sql(engine, "UPDATE code_states SET scan_count = 1")
    zh = client.get(issued.path(0)).text
    assert "查询计数曾被改动" in zh and "计数显示 1 次" in zh and "查询记录却有 31 次" in zh
    run_sql(engine, "UPDATE code_states SET scan_count = 1")
    en = client.get(issued.path(0), headers={"Accept-Language": "en"}).text
    assert "scan count was altered" in en and "the scan records hold 32" in en


def test_records_deleted_behind_the_triggers_break_their_seal(
    client: TestClient, app: FastAPI, engine: Engine, tenant: TenantKeys
) -> None:
    unlimited(app)
    issued = issue_batch(client, tenant, count=2)
    serial = issued.codes[0]["serial"]
    scan(client, issued, 31)
    scan(client, issued, 3, n=1)
    (seal,) = ScanSealer(sessions=Components.of(app).sessions).run_once()
    assert seal.count == 34
    without_append_only(
        engine,
        "DELETE FROM code_scans WHERE seq > 1 AND code_id = "
        "(SELECT id FROM codes WHERE serial = :serial)",
        serial=serial,
    )
    run_sql(engine, "UPDATE code_states SET scan_count = 1 WHERE code_id = "
            "(SELECT id FROM codes WHERE serial = :serial)", serial=serial)  # fmt: skip
    found = _verify(client, tenant, serial)  # the code alone now looks consistent ...
    assert found["code"] == {"serial": serial, "counter": 1, "records": 1, "last_seq": 1}
    assert not found["ok"]  # ... but its seal does not
    (finding,) = found["findings"]
    assert finding["check"] == "seal_count" and finding["entry_seq"] == seal.seq
    assert (finding["from_id"], finding["to_id"]) == (seal.from_id, seal.to_id)
    assert "34 were sealed, 4 are there: records were deleted" in finding["detail"]
    assert [f["check"] for f in _verify(client, tenant)["findings"]] == ["seal_count"]


def test_a_changed_record_changes_its_seals_root(
    client: TestClient, app: FastAPI, engine: Engine, tenant: TenantKeys
) -> None:
    unlimited(app)
    issued = issue_batch(client, tenant, count=1)
    scan(client, issued, 3)
    assert [s.count for s in ScanSealer(sessions=Components.of(app).sessions).run_once()] == [3]
    without_append_only(engine, "UPDATE code_scans SET region = '110000' WHERE seq = 2")
    (finding,) = _verify(client, tenant)["findings"]
    assert finding["check"] == "seal_root" and "records were changed" in finding["detail"]


def test_the_recount_is_for_compliance_and_admins_of_the_tenant_only(
    client: TestClient, tenant: TenantKeys, other_tenant: TenantKeys
) -> None:
    issued = issue_batch(client, tenant, count=1)
    path = f"/v1/codes/{issued.codes[0]['serial']}/scans/verify"
    assert client.get(path).status_code == 401
    assert client.get(path, headers=tenant.auth("operator")).status_code == 403
    assert client.get(path, headers=tenant.auth("admin")).status_code == 200
    assert client.get(path, headers=other_tenant.auth("compliance")).status_code == 404
