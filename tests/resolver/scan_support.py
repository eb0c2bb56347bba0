"""Helpers for the scan record tests: scanning a code n times, tampering as a DBA could."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from fixtures.codes import JSON, IssuedBatch
from trace_api.components import Components
from trace_api.ratelimit import TokenBuckets


def scan(client: TestClient, issued: IssuedBatch, times: int, n: int = 0) -> dict:
    """Scan code ``n`` ``times`` times; the last JSON answer."""
    body: dict = {}
    for _ in range(times):
        body = client.get(issued.path(n), headers=JSON).json()
    return body


def unlimited(app: FastAPI) -> None:
    Components.of(app).resolver.requests = TokenBuckets(rate=1e6, burst=1e6)  # not what is tested


def run_sql(engine: Engine, sql: str, **params: object) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql), params)


def without_append_only(engine: Engine, sql: str, **params: object) -> None:
    """Run ``sql`` on code_scans with its append-only triggers switched off, as a DBA could."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE code_scans DISABLE TRIGGER USER"))
            conn.execute(text(sql), params)
            conn.execute(text("ALTER TABLE code_scans ENABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS code_scans_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS code_scans_no_delete"))
            conn.execute(text(sql), params)
