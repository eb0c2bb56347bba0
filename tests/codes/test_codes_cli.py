"""The CLI: `trace codes issue` issues with a progress bar; `verify-proof` checks offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from fixtures.app import TEST_MASTER_KEY, TenantKeys
from fixtures.codes import JSON, make_batch, make_product
from trace_api.cli import app as cli_app
from trace_api.settings import get_settings


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str):
    monkeypatch.setenv("TRACE_DATABASE_URL", db_url)
    monkeypatch.setenv("TRACE_DATA_DIR", str(tmp_path / "trace"))
    monkeypatch.setenv("TRACE_MASTER_KEY", TEST_MASTER_KEY)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_cli_issues_codes_that_resolve_and_writes_pins_once(
    cli_env: None, client: TestClient, app: FastAPI, tenant: TenantKeys, tmp_path: Path
) -> None:
    product = make_product(client, tenant)
    batch = make_batch(client, tenant, product["id"])
    pins = tmp_path / "pins.csv"
    result = CliRunner().invoke(
        cli_app,
        ["codes", "issue", "--batch", batch["id"], "--count", "300", "--pins",
         "--pins-out", str(pins), "--workers", "0"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "issued 300 codes" in result.output
    lines = pins.read_text().splitlines()
    assert len(lines) == 301 and pins.stat().st_mode & 0o077 == 0
    serial, pin = lines[150].split(",")
    detail = client.get(f"/v1/codes/{serial}", headers=tenant.auth("operator")).json()
    path = detail["uri"].removeprefix("http://127.0.0.1:8000")
    assert client.get(path, headers=JSON).json()["verdict"] == "pin_required"
    answer = client.post(path, json={"pin": pin}, headers=JSON).json()
    assert answer["pin"]["result"] == "verified" and answer["verdict"] == "genuine"
    again = CliRunner().invoke(cli_app, ["codes", "issue", "--batch", batch["id"], "--count", "1"])
    assert again.exit_code == 1 and "issued once" in again.output

    proof = client.get(f"/v1/codes/{serial}/proof").text
    (tmp_path / "proof.json").write_text(proof)
    ok = CliRunner().invoke(cli_app, ["codes", "verify-proof", str(tmp_path / "proof.json")])
    assert ok.exit_code == 0 and ok.output.startswith("OK")
    document = json.loads(proof)
    document["index"] += 1
    (tmp_path / "bad.json").write_text(json.dumps(document))
    bad = CliRunner().invoke(cli_app, ["codes", "verify-proof", str(tmp_path / "bad.json")])
    assert bad.exit_code == 1 and bad.output.startswith("FAILED")
