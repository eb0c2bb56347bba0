"""Tampering with the stored audit log as a database administrator would.

`tamper_behind_triggers` drops the append-only triggers, runs the statement and creates
the triggers again exactly as the migration did, so afterwards the tables refuse UPDATE
and DELETE once more and nothing in the schema shows what happened.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from trace_api.audit import log as audit_log
from trace_api.components import Components
from trace_api.db import transaction

_TABLES = ("audit_entries", "audit_checkpoints")


def tamper_behind_triggers(engine: Engine, *statements: str, **params: Any) -> None:
    """Run `statements` with the append-only triggers dropped, then recreate them."""
    with engine.begin() as conn:
        _drop(conn)
        for sql in statements:
            conn.execute(text(sql), params)
        _create(conn)
    assert triggers_refuse_changes(engine)


def triggers_refuse_changes(engine: Engine) -> bool:
    """Whether an UPDATE of the log is refused again (the triggers are back)."""
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE audit_entries SET kind = kind"))
    except DBAPIError:
        return True
    return False


def _drop(conn: Connection) -> None:
    for table in _TABLES:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"DROP TRIGGER {table}_append_only ON {table}"))
        else:
            for operation in ("update", "delete"):
                conn.execute(text(f"DROP TRIGGER {table}_no_{operation}"))


def _create(conn: Connection) -> None:
    for table in _TABLES:
        if conn.dialect.name == "postgresql":
            conn.execute(
                text(
                    f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                    "FOR EACH ROW EXECUTE FUNCTION trace_refuse_change()"
                )
            )
        else:
            for operation in ("UPDATE", "DELETE"):
                conn.execute(
                    text(
                        f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} "
                        f"ON {table} BEGIN SELECT RAISE(ABORT, '{table} is append-only: "
                        f"{operation} refused'); END"
                    )
                )


def grow(app: FastAPI, tenant_id: str, n: int) -> None:
    """Append `n` entries through the service, as any state change would."""
    with transaction(Components.of(app).sessions) as session:
        audit_log.append_many(
            session=session,
            tenant_id=tenant_id,
            changes=[audit_log.Change("test.grow", {"n": i}) for i in range(n)],
        )


def checkpoint(client: Any, tenant: Any) -> Any:
    """POST /v1/audit/checkpoints as the tenant's compliance officer."""
    return client.post("/v1/audit/checkpoints", headers=tenant.auth("compliance"))
