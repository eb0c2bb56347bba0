"""An export never finishes over a changed row, even one the re-verifier has not reached:
every entry it writes is checked against its leaf (and that leaf against the tree its
checkpoints were built from), after the checkpoint it makes first checked the leaves."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from log_tampering import checkpoint, grow, tamper_behind_triggers
from sqlalchemy import Engine

from compliance.entry import entry_leaf_hash
from fixtures.anchoring import chain_app
from fixtures.app import make_tenant
from fixtures.audit import finished_export
from trace_api.components import Components


def _covered(app, tenant_id: str) -> None:
    """As after the running re-verifier walked the log once: it trusts that walk."""
    Components.of(app).log_reverifier.run_pass()
    Components.of(app).log_integrity.update_status(running=True)
    assert Components.of(app).log_integrity.covers(tenant_id)


def test_a_changed_body_fails_the_export_before_the_reverifier_sees_it(
    tmp_path: Path, db_url: str, engine: Engine
) -> None:
    app = chain_app(tmp_path, db_url, engine)
    tenant = make_tenant(app, "acme")
    grow(app, tenant.tenant_id, 30)
    with TestClient(app) as client:
        assert checkpoint(client, tenant).status_code == 201
        _covered(app, tenant.tenant_id)
        tamper_behind_triggers(
            engine,
            "UPDATE audit_entries SET body = :b WHERE tenant_id = :t AND seq = 17",
            b=b'{"forged":true}',
            t=tenant.tenant_id,
        )
        # nothing new to checkpoint, and the older entries are the re-verifier's: the
        # checkpoint passes; the export's own check is what stops the bundle
        assert checkpoint(client, tenant).status_code == 200
        status = finished_export(client, tenant, {"kinds": ["test.grow"]})
    assert status["status"] == "failed", status
    assert "entry 17 no longer hashes to its logged leaf" in status["error"]
    assert [f.where for f in Components.of(app).log_integrity.findings(tenant.tenant_id)] == [
        "entry seq 17"
    ]


def test_a_rewritten_leaf_fails_the_export(tmp_path: Path, db_url: str, engine: Engine) -> None:
    app = chain_app(tmp_path, db_url, engine)
    tenant = make_tenant(app, "acme")
    grow(app, tenant.tenant_id, 30)
    with TestClient(app) as client:
        assert checkpoint(client, tenant).status_code == 201
        _covered(app, tenant.tenant_id)
        forged = b'{"forged":true}'
        tamper_behind_triggers(
            engine,
            "UPDATE audit_entries SET body = :b, leaf_hash = :h WHERE tenant_id = :t AND seq = 9",
            b=forged,
            h=entry_leaf_hash(forged),
            t=tenant.tenant_id,
        )
        status = finished_export(client, tenant)
    assert status["status"] == "failed", status
    assert "no longer reproduce the root of checkpoint" in status["error"]
