"""Entries a checkpoint covers, deleted behind the triggers, are found even by a service
that never saw the log before: the signed checkpoints say how long it was."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from log_tampering import checkpoint, grow, tamper_behind_triggers
from sqlalchemy import Engine

from fixtures.anchoring import chain_app
from fixtures.app import make_tenant
from trace_api.components import Components


def test_a_deleted_entry_in_the_middle_is_found(
    tmp_path: Path, db_url: str, engine: Engine
) -> None:
    app = chain_app(tmp_path, db_url, engine)
    tenant = make_tenant(app, "acme")
    grow(app, tenant.tenant_id, 20)
    with TestClient(app) as client:
        assert checkpoint(client, tenant).status_code == 201
        tamper_behind_triggers(
            engine, "DELETE FROM audit_entries WHERE tenant_id = :t AND seq = 9", t=tenant.tenant_id
        )
        Components.of(app).log_reverifier.run_pass()
        found = {f.where: f for f in Components.of(app).log_integrity.findings(tenant.tenant_id)}
        assert "missing" in found["entry seq 9"].reason
        assert checkpoint(client, tenant).status_code == 409


def test_deleted_checkpointed_entries_at_the_end_are_found_after_a_restart(
    tmp_path: Path, db_url: str, engine: Engine
) -> None:
    app = chain_app(tmp_path, db_url, engine)
    tenant = make_tenant(app, "acme")
    grow(app, tenant.tenant_id, 20)
    with TestClient(app) as client:
        size = checkpoint(client, tenant).json()["size"]
    # the last five checkpointed entries go, and the head is wound back to match
    tamper_behind_triggers(
        engine,
        "DELETE FROM audit_entries WHERE tenant_id = :t AND seq >= :cut",
        "UPDATE audit_heads SET size = :cut WHERE tenant_id = :t",
        t=tenant.tenant_id,
        cut=size - 5,
    )
    restarted = chain_app(tmp_path, db_url, engine)  # no high-water mark: a fresh process
    Components.of(restarted).log_reverifier.run_pass()
    found = {f.where: f for f in Components.of(restarted).log_integrity.findings(tenant.tenant_id)}
    assert f"covers {size} entries" in found[f"checkpoint size {size}"].reason
    with TestClient(restarted) as client:
        refused = checkpoint(client, tenant)
        assert refused.status_code == 409
        assert client.get("/healthz").json()["status"] == "degraded"
