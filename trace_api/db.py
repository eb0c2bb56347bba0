"""Database engine, sessions and schema migrations (Alembic; never ``create_all``)."""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, Select, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from trace_api.private_files import private_dir, private_file
from trace_api.sqlite_wal import WalCheckpointer

_MIGRATIONS = Path(__file__).with_name("migrations")
_checkpointers: weakref.WeakKeyDictionary[Engine, WalCheckpointer] = weakref.WeakKeyDictionary()


def create_db_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL mode, foreign keys and a busy timeout."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        path = _sqlite_file(parsed.database, parsed.query)
        if path is not None:
            private_dir(path.parent)
            private_file(path)  # SQLite gives its -wal and -shm files the same mode
            checkpointer = WalCheckpointer(path)
            _checkpointers[engine] = checkpointer
            event.listen(engine, "connect", _no_autocheckpoint)
            event.listen(engine, "commit", lambda *_: checkpointer.nudge())
            event.listen(engine, "checkin", lambda *_: checkpointer.nudge())
            event.listen(engine, "engine_disposed", lambda *_: checkpointer.close())
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def wal_checkpointer(engine: Engine) -> WalCheckpointer | None:
    """The background checkpointer of a SQLite file database (None for other databases)."""
    return _checkpointers.get(engine)


def _sqlite_file(database: str | None, query: Mapping[str, Any]) -> Path | None:
    """The file of a SQLite URL whose log `WalCheckpointer` can watch (not memory, not URIs)."""
    if not database or database == ":memory:" or database.startswith("file:") or "uri" in query:
        return None
    return Path(database)


def _no_autocheckpoint(dbapi_connection: Any, _record: Any) -> None:
    """Commits never checkpoint: the engine's `WalCheckpointer` does, in the background."""
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that never expire loaded objects on commit (responses read them after)."""
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error, close always.

    The one place that ends a transaction: requests, jobs, the CLI and scans all use it.
    """
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration bound to ``engine`` (no alembic.ini needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision``."""
    command.upgrade(alembic_config(engine), revision)


def database_status(engine: Engine) -> dict[str, Any]:
    """Whether the database answers, for /healthz; never raises."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"ok": True, "dialect": engine.dialect.name}
    except Exception as exc:  # health reports must not fail themselves
        return {"ok": False, "dialect": engine.dialect.name, "error": str(exc)[:300]}


def stream_rows(
    session: Session, query: Select[*tuple[Any, ...]], chunk: int
) -> Iterator[Sequence[Any]]:
    """The rows of ``query`` in chunks, with flat memory, as plain tuples.

    On PostgreSQL a binary server-side cursor: bytea and timestamptz arrive without
    text decoding, which halves the cost of reading a million rows. Elsewhere Core
    partitions (no ORM loading). Runs in the session's transaction either way.
    """
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        rows = connection.execute(query.execution_options(yield_per=chunk))
        yield from rows.partitions(chunk)
        return
    compiled = query.compile(
        dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
    )
    raw = connection.connection.driver_connection
    assert raw is not None
    with raw.cursor(name=f"stream_{id(query):x}", binary=True) as cursor:
        cursor.execute(str(compiled), compiled.params)
        while batch := cursor.fetchmany(chunk):
            yield batch
