"""Entries appended after the last checkpoint, deleted with audit_heads wound back to match,
are caught by the running service's high-water mark; a restarted one cannot tell.

That is the window docs/audit.md states: while the service is down, whoever can also
rewrite audit_heads can remove the entries appended since the last checkpoint (at most
TRACE_CHECKPOINT_INTERVAL seconds of them) without a trace.
"""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from log_tampering import checkpoint, grow, tamper_behind_triggers
from sqlalchemy import Engine

from fixtures.anchoring import chain_app
from fixtures.app import make_tenant
from trace_api.components import Components

_CUT = (
    "DELETE FROM audit_entries WHERE tenant_id = :t AND seq >= :cut",
    "UPDATE audit_heads SET size = :cut WHERE tenant_id = :t",
)


def test_the_running_service_catches_the_cut_it_appended_past(
    tmp_path: Path, db_url: str, engine: Engine
) -> None:
    app = chain_app(tmp_path, db_url, engine)
    tenant = make_tenant(app, "acme")
    with TestClient(app) as client:
        size = checkpoint(client, tenant).json()["size"]
        grow(app, tenant.tenant_id, 5)  # committed through this process: the mark follows
        assert Components.of(app).log_integrity.high_water_mark(tenant.tenant_id) == size + 5
        tamper_behind_triggers(engine, *_CUT, t=tenant.tenant_id, cut=size)

        Components.of(app).log_reverifier.step()

        found = {f.where: f for f in Components.of(app).log_integrity.findings(tenant.tenant_id)}
        assert f"counts {size} entries, but this service has seen {size + 5}" in (
            found["log size"].reason
        )
        assert checkpoint(client, tenant).status_code == 409
        assert client.get("/healthz").json()["status"] == "degraded"


def test_the_cut_is_caught_from_the_head_the_reverifier_saw(
    tmp_path: Path, db_url: str, engine: Engine
) -> None:
    app = chain_app(tmp_path, db_url, engine)
    tenant = make_tenant(app, "acme")
    with TestClient(app) as client:
        size = checkpoint(client, tenant).json()["size"]
    restarted = chain_app(tmp_path, db_url, engine)
    grow(restarted, tenant.tenant_id, 5)  # appended by another process: only seen
    assert Components.of(restarted).log_integrity.high_water_mark(tenant.tenant_id) == size + 5
    other = chain_app(tmp_path, db_url, engine)
    Components.of(other).log_reverifier.step()  # reads audit_heads: mark at size + 5
    tamper_behind_triggers(engine, *_CUT, t=tenant.tenant_id, cut=size)
    Components.of(other).log_reverifier.run_pass()
    assert [f.where for f in Components.of(other).log_integrity.findings(tenant.tenant_id)] == [
        "log size"
    ]


def test_a_restarted_service_cannot_tell_the_window(
    tmp_path: Path, db_url: str, engine: Engine
) -> None:
    app = chain_app(tmp_path, db_url, engine)
    tenant = make_tenant(app, "acme")
    with TestClient(app) as client:
        size = checkpoint(client, tenant).json()["size"]
        grow(app, tenant.tenant_id, 5)
    # the service is down; the uncheckpointed tail goes, and the head with it
    tamper_behind_triggers(engine, *_CUT, t=tenant.tenant_id, cut=size)
    restarted = chain_app(tmp_path, db_url, engine)
    Components.of(restarted).log_reverifier.run_pass()
    assert Components.of(restarted).log_integrity.findings(tenant.tenant_id) == ()
    with TestClient(restarted) as client:
        assert checkpoint(client, tenant).json()["size"] == size  # nothing to show it
