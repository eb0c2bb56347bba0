"""Bulk inserts: executemany, or PostgreSQL's COPY where it pays.

COPY skips SQLAlchemy's per-row parameter handling and the server's per-statement work;
for the thousands of rows a capture writes it is the cheaper path on PostgreSQL. It runs
on the session's own connection, so it belongs to the caller's transaction like any
other write.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

COPY_FROM = 500  # rows; below this a multi-row INSERT is as quick


def insert_rows(session: Session, model: Any, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT ``rows`` (dicts with the same keys) into ``model``'s table."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql" or len(rows) < COPY_FROM:
        session.execute(insert(model), rows)
        return
    columns = list(rows[0])
    table = model.__table__.name
    names = ", ".join(f'"{c}"' for c in columns)
    raw = session.connection().connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])
