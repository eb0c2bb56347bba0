"""The CLI: `trace admin create-tenant NAME` prints a first admin key that works."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from fixtures.app import TEST_MASTER_KEY
from trace_api.app import create_app
from trace_api.cli import app as cli_app
from trace_api.settings import Settings, get_settings


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path, db_url: str):
    monkeypatch.setenv("TRACE_DATABASE_URL", db_url)
    monkeypatch.setenv("TRACE_DATA_DIR", str(tmp_path / "trace"))
    monkeypatch.setenv("TRACE_MASTER_KEY", TEST_MASTER_KEY)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_create_tenant_prints_a_working_admin_key(cli_env) -> None:
    result = CliRunner().invoke(cli_app, ["admin", "create-tenant", "Zhejiang Tea Co"])
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert key.startswith("trk_")
    with TestClient(create_app(Settings())) as client:
        me = client.get("/v1/whoami", headers={"Authorization": f"Bearer {key}"}).json()
    assert me["tenant_name"] == "Zhejiang Tea Co"
    assert me["role"] == "admin"


def test_duplicate_tenant_name_fails_cleanly(cli_env) -> None:
    runner = CliRunner()
    assert runner.invoke(cli_app, ["admin", "create-tenant", "dup"]).exit_code == 0
    result = runner.invoke(cli_app, ["admin", "create-tenant", "dup"])
    assert result.exit_code == 1
    assert "exists already" in result.output
