"""Alembic creates the schema the ORM expects, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DatabaseError

from fixtures.app import TenantKeys
from fixtures.codes import JSON, issue_batch
from trace_api.db import alembic_config, migrate
from trace_api.models import Base


def test_migrations_build_the_orm_schema_exactly(engine: Engine) -> None:
    migrate(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_migrating_twice_is_harmless(engine: Engine) -> None:
    migrate(engine)
    migrate(engine)
    assert "api_keys" in inspect(engine).get_table_names()


def test_sqlite_runs_in_wal_mode(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_0007_numbers_the_scan_records_there_are_and_goes_back_down(
    client: TestClient, engine: Engine, tenant: TenantKeys
) -> None:
    issued = issue_batch(client, tenant, count=2)
    for n in (0, 1, 0, 0, 1):
        client.get(issued.path(n), headers=JSON)
    command.downgrade(alembic_config(engine), "0006")
    assert "seq" not in {c["name"] for c in inspect(engine).get_columns("code_scans")}
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM code_scans WHERE id = 1"))  # not append-only at 0006
    migrate(engine)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT code_id, seq FROM code_scans ORDER BY id")).all()
    one, zero = rows[0][0], rows[1][0]  # code 0's first record went before the upgrade
    assert rows == [(one, 1), (zero, 1), (zero, 2), (one, 2)]
    with pytest.raises(DatabaseError, match="append-only"), engine.begin() as conn:
        conn.execute(text("DELETE FROM code_scans"))
