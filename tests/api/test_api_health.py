"""/healthz reports the database and the chain; /docs is served."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from trace_api.components import Components, get_engine


def test_healthz_reports_database_ok(client: TestClient, engine) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["database"] == {"ok": True, "dialect": engine.dialect.name}
    assert "chain" in body
    assert body["status"] in {"ok", "degraded"}


def test_healthz_is_503_when_the_database_is_gone(client: TestClient, app, tmp_path) -> None:
    engine = Components.of(app).engine
    url = engine.url
    if engine.dialect.name == "postgresql":
        broken = url.set(port=1)
    else:
        broken = url.set(database=f"{tmp_path}/missing-dir/x.db")
    gone = create_engine(broken)
    app.dependency_overrides[get_engine] = lambda: gone
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"]["ok"] is False
    assert response.json()["status"] == "degraded"


def test_openapi_docs_are_served(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert "/v1/api-keys" in spec["paths"]


def test_healthz_reports_the_audit_log(client: TestClient, app, tenant) -> None:
    audit = client.get("/healthz").json()["audit_log"]
    assert audit["ok"] is True and audit["integrity_failures"] == {}
    # the re-verifier runs only inside `trace serve` with the worker in process
    assert audit["reverifier"] == {
        "running": False,
        "passes": 0,
        "last_pass_finished_at": None,
        "last_pass_seconds": None,
    }
    Components.of(app).log_reverifier.run_pass()
    audit = client.get("/healthz").json()["audit_log"]
    assert audit["reverifier"]["passes"] == 1 and audit["reverifier"]["last_pass_finished_at"]
