"""A finding stays for the life of the process, whatever the database says afterwards,
and a restarted service finds again, on its first pass, what is still wrong."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from log_tampering import checkpoint, grow, tamper_behind_triggers
from sqlalchemy import Engine, select

from fixtures.anchoring import chain_app
from fixtures.app import make_tenant
from trace_api.components import Components
from trace_api.db import transaction
from trace_api.models import AuditEntry

_SET_BODY = "UPDATE audit_entries SET body = :b WHERE tenant_id = :t AND seq = 4"


def _body(app, tenant_id: str, seq: int) -> bytes:
    with transaction(Components.of(app).sessions) as session:
        return bytes(
            session.scalar(
                select(AuditEntry.body).where(
                    AuditEntry.tenant_id == tenant_id, AuditEntry.seq == seq
                )
            )
        )


def test_restoring_the_row_does_not_clear_the_finding(
    tmp_path: Path, db_url: str, engine: Engine
) -> None:
    app = chain_app(tmp_path, db_url, engine)
    tenant = make_tenant(app, "acme")
    grow(app, tenant.tenant_id, 10)
    original = _body(app, tenant.tenant_id, 4)
    with TestClient(app) as client:
        assert checkpoint(client, tenant).status_code == 201
        tamper_behind_triggers(engine, _SET_BODY, b=b'{"forged":1}', t=tenant.tenant_id)
        Components.of(app).log_reverifier.run_pass()
        tamper_behind_triggers(engine, _SET_BODY, b=original, t=tenant.tenant_id)  # covering up
        Components.of(app).log_reverifier.run_pass()

        assert client.get("/healthz").json()["status"] == "degraded"
        report = client.get("/v1/audit/integrity", headers=tenant.auth("admin")).json()
        assert [f["where"] for f in report["findings"]] == ["entry seq 4"]
        assert checkpoint(client, tenant).status_code == 409


def test_a_restarted_service_finds_it_again_on_its_first_pass(
    tmp_path: Path, db_url: str, engine: Engine
) -> None:
    app = chain_app(tmp_path, db_url, engine)
    tenant = make_tenant(app, "acme")
    grow(app, tenant.tenant_id, 10)
    with TestClient(app) as client:
        assert checkpoint(client, tenant).status_code == 201
    tamper_behind_triggers(engine, _SET_BODY, b=b'{"forged":1}', t=tenant.tenant_id)

    restarted = chain_app(tmp_path, db_url, engine)  # same database, same signing key
    assert Components.of(restarted).log_integrity.findings(tenant.tenant_id) == ()
    Components.of(restarted).log_reverifier.run_pass()
    assert [f.where for f in Components.of(restarted).log_integrity.findings(tenant.tenant_id)] == [
        "entry seq 4"
    ]
