"""`trace serve` runs the re-verifier as a thread: its first pass starts at once, it shows
in /healthz, and it stops promptly with the service."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient
from log_tampering import grow, tamper_behind_triggers
from pydantic import SecretStr
from sqlalchemy import Engine

from fixtures.app import TEST_MASTER_KEY, make_tenant
from trace_api.app import create_app
from trace_api.components import Components
from trace_api.settings import Settings


def _until(condition, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_the_service_runs_the_reverifier_and_stops_it(
    tmp_path: Path, db_url: str, engine: Engine
) -> None:
    settings = Settings(
        env="test",
        data_dir=tmp_path / "trace",
        database_url=db_url,
        master_key=SecretStr(TEST_MASTER_KEY),
        worker_in_process=True,
        checkpoint_interval=3600,  # keep the checkpointer out of the way
        audit_verify_interval=0.05,
        audit_verify_chunk=100,
    )
    app = create_app(settings, engine=engine)
    tenant = make_tenant(app, "acme")
    grow(app, tenant.tenant_id, 30)
    integrity = Components.of(app).log_integrity
    with TestClient(app) as client:
        _until(lambda: integrity.status.passes >= 1)
        assert integrity.covers(tenant.tenant_id)
        health = client.get("/healthz").json()["audit_log"]
        assert health["reverifier"]["running"] is True and health["reverifier"]["passes"] >= 1
        tamper_behind_triggers(
            engine,
            "UPDATE audit_entries SET body = :b WHERE tenant_id = :t AND seq = 11",
            b=b"{}",
            t=tenant.tenant_id,
        )
        _until(lambda: bool(integrity.findings(tenant.tenant_id)))
        assert client.get("/healthz").json()["status"] == "degraded"
        stopping = time.monotonic()
    assert time.monotonic() - stopping < 5  # every thread joined, the re-verifier's too
    assert integrity.status.running is False
    assert not integrity.covers(tenant.tenant_id)
