"""A scratch PostgreSQL schema for a bench run, dropped afterwards."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/test"


@contextmanager
def scratch_schema(server: str | None = None) -> Iterator[str]:
    """A URL whose connections use a new schema of ``server`` (TRACE_TEST_POSTGRES_URL, else
    the local one); the schema is dropped when the block ends."""
    server = server or os.environ.get("TRACE_TEST_POSTGRES_URL", DEFAULT_SERVER)
    parsed = make_url(server).set(drivername="postgresql+psycopg")
    admin = create_engine(parsed, isolation_level="AUTOCOMMIT")
    schema = f"bench_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield parsed.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
