"""Scan records cannot be changed or deleted through SQL: triggers refuse it on both databases."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from scan_support import run_sql, scan
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import DatabaseError

from fixtures.app import TenantKeys
from fixtures.codes import issue_batch
from trace_api.components import Components
from trace_api.db import transaction
from trace_api.models import CodeScan


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE code_scans SET region = '110000'",
        "UPDATE code_scans SET seq = seq + 100",
        "DELETE FROM code_scans",
        "DELETE FROM code_scans WHERE seq > 1",
    ],
)
def test_updates_and_deletes_of_scan_records_are_refused(
    client: TestClient, app: FastAPI, engine: Engine, tenant: TenantKeys, sql: str
) -> None:
    issued = issue_batch(client, tenant, count=1)
    scan(client, issued, 3)
    with pytest.raises(DatabaseError, match="append-only"):
        run_sql(engine, sql)
    with transaction(Components.of(app).sessions) as session:
        assert session.scalar(select(func.count()).select_from(CodeScan)) == 3
        assert session.scalar(select(func.max(CodeScan.seq))) == 3


def test_truncating_scan_records_is_refused_on_postgresql(
    client: TestClient, engine: Engine, tenant: TenantKeys
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE (its DELETE without WHERE is refused above)")
    issued = issue_batch(client, tenant, count=1)
    scan(client, issued, 1)
    with pytest.raises(DatabaseError, match="append-only"):
        run_sql(engine, "TRUNCATE code_scans")
