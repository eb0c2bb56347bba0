"""An entry already covered by a checkpoint, its body changed behind the triggers, is found.

The attacker leaves the stored leaf hash alone, so the leaves still reproduce every
signed root: only re-hashing the body shows the change. The re-verifier does; then
/healthz is degraded, the integrity API names the entry, no checkpoint is signed over
it (on demand or on schedule) and no export finishes.
"""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from log_tampering import checkpoint, grow, tamper_behind_triggers
from sqlalchemy import Engine

from fixtures.anchoring import chain_app
from fixtures.app import make_tenant
from fixtures.audit import finished_export
from trace_api.components import Components


def test_a_changed_checkpointed_entry_is_found_and_refuses_signing_and_export(
    tmp_path: Path, db_url: str, engine: Engine
) -> None:
    app = chain_app(tmp_path, db_url, engine)
    tenant = make_tenant(app, "acme")
    other = make_tenant(app, "globex")
    grow(app, tenant.tenant_id, 20)
    with TestClient(app) as client:
        assert checkpoint(client, tenant).status_code == 201
        grow(app, tenant.tenant_id, 5)
        assert checkpoint(client, tenant).status_code == 201  # entry 3 is well behind it
        Components.of(app).log_reverifier.run_pass()
        assert client.get("/healthz").json()["audit_log"]["ok"] is True

        tamper_behind_triggers(
            engine,
            "UPDATE audit_entries SET body = :b WHERE tenant_id = :t AND seq = 3",
            b=b'{"v":1,"forged":true}',
            t=tenant.tenant_id,
        )
        Components.of(app).log_reverifier.run_pass()

        health = client.get("/healthz").json()
        assert health["status"] == "degraded"
        assert health["audit_log"]["ok"] is False
        assert "entry seq 3" in health["audit_log"]["integrity_failures"][tenant.tenant_id]
        assert other.tenant_id not in health["audit_log"]["integrity_failures"]

        report = client.get("/v1/audit/integrity", headers=tenant.auth("compliance")).json()
        assert report["ok"] is False
        assert [(f["where"], f["seq"]) for f in report["findings"]] == [("entry seq 3", 3)]
        assert "no longer hashes to its logged leaf" in report["findings"][0]["reason"]
        assert report["last_full_walk"]["entries"] == 25 + 7  # the tenant's own 7 first
        assert report["reverifier"]["passes"] == 2
        assert client.get("/v1/audit/integrity", headers=tenant.auth("dealer")).status_code == 403
        assert client.get("/v1/audit/integrity", headers=other.auth("admin")).json()["ok"]

        grow(app, tenant.tenant_id, 2)  # something new to sign
        refused = checkpoint(client, tenant)
        assert refused.status_code == 409, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["type"].endswith("/problems/log-integrity")
        assert "entry seq 3" in refused.json()["detail"]
        assert refused.json()["seq"] == 3
        assert Components.of(app).checkpointer.run_once() == 1  # the other tenant only
        assert (
            client.get("/v1/audit/checkpoints", headers=tenant.auth("compliance")).json()[0]["size"]
            == 25 + 7
        )

        status = finished_export(client, tenant)
        assert status["status"] == "failed", status
        assert "entry seq 3" in status["error"] and status["download"] is None
        assert finished_export(client, other)["status"] == "done"
