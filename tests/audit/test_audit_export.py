"""Audit bundle exports: over the API and the CLI, filtered, and verified offline."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from compliance.verify import verify_bundle
from fixtures.anchoring import chain_app
from fixtures.app import TEST_MASTER_KEY, TenantKeys, make_tenant
from fixtures.audit import download, finished_export, tamper
from trace_api.audit import log as audit_log
from trace_api.cli import app as cli_app
from trace_api.components import Components
from trace_api.db import transaction
from trace_api.settings import get_settings


def _export(client: TestClient, tenant: TenantKeys, **filters) -> bytes:
    return download(client, tenant, finished_export(client, tenant, filters))


def _entries(bundle: bytes) -> list[bytes]:
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        return archive.read("entries.jsonl").splitlines()


def _seed(app, tenant: TenantKeys) -> None:
    with transaction(Components.of(app).sessions) as session:
        audit_log.append_many(
            session=session,
            tenant_id=tenant.tenant_id,
            changes=[
                audit_log.Change(
                    "event.captured" if n % 2 else "alert.raised",
                    {"n": n},
                    organisation_id=tenant.dealer_org_id if n % 3 == 0 else None,
                    items=[f"item-{n % 4}"],
                )
                for n in range(40)
            ],
        )


def test_exported_bundle_verifies_offline_and_anchored(
    tmp_path: Path, db_url: str, engine: Engine
) -> None:
    app = chain_app(tmp_path, db_url, engine)
    tenant = make_tenant(app, "acme")
    _seed(app, tenant)
    with TestClient(app) as client:
        Components.of(app).worker.run_until_idle()
        client.post("/v1/audit/checkpoints", headers=tenant.auth("compliance"))
        Components.of(
            app
        ).worker.run_until_idle()  # this checkpoint is anchored; the export's is not
        bundle = _export(client, tenant)
    path = tmp_path / "bundle.zip"
    path.write_bytes(bundle)
    verdict = verify_bundle(
        path, expected_public_key=Components.of(app).signing_key.public_key.to_bytes()
    )
    assert verdict.ok, verdict.describe()
    assert len(_entries(bundle)) == 40 + 7  # the seeded entries after the tenant's own
    stored = list((tmp_path / "trace" / "exports").rglob("*.zip"))
    assert stored and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in stored)
    assert stat.S_IMODE((tmp_path / "trace" / "exports").stat().st_mode) == 0o700


def test_filters_select_entries(tmp_path: Path, db_url: str, engine: Engine) -> None:
    app = chain_app(tmp_path, db_url, engine)
    tenant = make_tenant(app, "acme")
    _seed(app, tenant)
    import json

    with TestClient(app) as client:
        by_kind = [json.loads(e) for e in _entries(_export(client, tenant, kinds=["alert.raised"]))]
        by_org = [
            json.loads(e)
            for e in _entries(_export(client, tenant, organisation_id=tenant.dealer_org_id))
        ]
        by_item = [json.loads(e) for e in _entries(_export(client, tenant, item="item-1"))]
        empty = client.post(
            "/v1/audit/exports",
            json={"since": "2999-01-01T00:00:00Z", "until": "2000-01-01T00:00:00Z"},
            headers=tenant.auth("compliance"),
        )
        naive = client.post(
            "/v1/audit/exports",
            json={"since": "2026-01-01T00:00:00"},
            headers=tenant.auth("compliance"),
        )
    assert {e["kind"] for e in by_kind} == {"alert.raised"} and len(by_kind) == 20
    assert all(e["org"] == tenant.dealer_org_id for e in by_org) and len(by_org) >= 14
    assert [e["data"]["n"] for e in by_item] == list(range(1, 40, 4))
    assert empty.status_code == 422
    assert naive.status_code == 422


def test_export_is_for_compliance_and_per_tenant(
    tmp_path: Path, db_url: str, engine: Engine
) -> None:
    app = chain_app(tmp_path, db_url, engine)
    tenant = make_tenant(app, "acme")
    other = make_tenant(app, "globex")
    with TestClient(app) as client:
        for role in ("operator", "dealer"):
            response = client.post("/v1/audit/exports", json={}, headers=tenant.auth(role))
            assert response.status_code == 403
        started = client.post("/v1/audit/exports", json={}, headers=tenant.auth("compliance"))
        location = started.headers["location"]
        assert client.get(location, headers=other.auth("compliance")).status_code == 404
        assert client.get(location + "/bundle", headers=other.auth("compliance")).status_code == 404


def test_entry_changed_in_the_database_fails_the_export(
    tmp_path: Path, db_url: str, engine: Engine
) -> None:
    app = chain_app(tmp_path, db_url, engine)
    tenant = make_tenant(app, "acme")
    _seed(app, tenant)
    with TestClient(app) as client:
        client.post("/v1/audit/checkpoints", headers=tenant.auth("compliance"))
        tamper(
            engine,
            "UPDATE audit_entries SET body = :b WHERE tenant_id = :t AND seq = 12",
            b=b'{"v":1,"forged":true}',
            t=tenant.tenant_id,
        )
        status = finished_export(client, tenant)
        again = finished_export(client, tenant)
    # Nothing was appended since the checkpoint; the export still checks every entry it
    # writes, fails naming the changed one, and the finding refuses the next export.
    assert status["status"] == "failed" and "entry 12" in status["error"], status
    assert again["status"] == "failed" and "refused" in again["error"], again
    assert not (tmp_path / "trace" / "exports" / tenant.tenant_id / f"{status['id']}.zip").exists()


def test_cli_exports_and_verifies(tmp_path: Path, db_url: str, engine: Engine, monkeypatch) -> None:
    app = chain_app(tmp_path, db_url, engine)
    tenant = make_tenant(app, "acme")
    _seed(app, tenant)
    monkeypatch.setenv("TRACE_DATABASE_URL", db_url)
    monkeypatch.setenv("TRACE_DATA_DIR", str(tmp_path / "trace"))
    monkeypatch.setenv("TRACE_MASTER_KEY", TEST_MASTER_KEY)
    get_settings.cache_clear()
    out = tmp_path / "cli.zip"
    runner = CliRunner()
    try:
        result = runner.invoke(
            cli_app,
            ["export-audit", "--tenant", "acme", "--out", str(out), "--kind", "alert.raised"],
        )
        assert result.exit_code == 0, result.output
        assert len(_entries(out.read_bytes())) == 20
        assert out.stat().st_mode & 0o077 == 0  # the log may name people: owner only
        untrusted = runner.invoke(cli_app, ["verify-bundle", str(out)])
        assert untrusted.exit_code == 3, untrusted.output  # consistent, but no trust root
        assert untrusted.output.startswith("UNTRUSTED")
        key = Components.of(app).signing_key.public_key
        verified = runner.invoke(cli_app, ["verify-bundle", str(out), "--key", key.hex()])
        assert verified.exit_code == 0, verified.output
        assert (
            verified.output.startswith("VERIFIED") and "trust root: pinned key" in verified.output
        )
        damaged = tmp_path / "damaged.zip"
        data = bytearray(out.read_bytes())
        data[len(data) // 3] ^= 0x01
        damaged.write_bytes(bytes(data))
        refused = runner.invoke(cli_app, ["verify-bundle", str(damaged), "--key", key.hex()])
        assert refused.exit_code == 1
        assert runner.invoke(cli_app, ["verify-bundle", str(damaged)]).exit_code == 1
    finally:
        get_settings.cache_clear()


def test_bundle_verifies_against_the_chain_it_was_anchored_on(
    tmp_path: Path, db_url: str, engine: Engine, anvil_snapshot, anvil_factory
) -> None:
    node = anvil_snapshot
    app = chain_app(tmp_path, db_url, engine, node.url, node.private_keys[0])
    tenant = make_tenant(app, "acme")
    _seed(app, tenant)
    with TestClient(app) as client:
        client.post("/v1/audit/checkpoints", headers=tenant.auth("compliance"))
        assert Components.of(app).worker.run_until_idle().confirmed >= 1
        bundle = _export(client, tenant)
    path = tmp_path / "bundle.zip"
    path.write_bytes(bundle)
    contract, _ = Components.of(app).gateway.contract()
    verdict = verify_bundle(path, rpc_url=node.url, expected_contract=contract.address)
    assert verdict.verified, verdict.describe()
    assert verdict.anchors_checked >= 1
    runner = CliRunner()
    chain = ["--rpc", node.url, "--contract", contract.address]
    result = runner.invoke(cli_app, ["verify-bundle", str(path), *chain])
    assert result.exit_code == 0, result.output
    assert "trust root: chain" in result.output
    # the anchors hold, but in a contract only the bundle names: no trust root
    unpinned = runner.invoke(cli_app, ["verify-bundle", str(path), "--rpc", node.url])
    assert unpinned.exit_code == 3, unpinned.output
    elsewhere = anvil_factory()  # a chain that never saw these anchors
    refused = runner.invoke(
        cli_app,
        ["verify-bundle", str(path), "--rpc", elsewhere.url, "--contract", contract.address],
    )
    assert refused.exit_code == 1
    assert "checkpoint size" in refused.output
