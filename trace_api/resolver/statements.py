"""The resolver's per-scan statements, run on SQLite's DBAPI connection directly.

A scan is three small statements. SQLAlchemy's execution layer adds about 15 µs of Python
to each (measured: the lookup join takes 24 µs through it, 8 µs on the DBAPI cursor), more
than SQLite spends on most of them. So on SQLite the resolver compiles its SQLAlchemy
statements once and runs them on the connection's own DBAPI connection (same transaction),
passing values in and out through the very type processors SQLAlchemy would apply: what
is stored and read is the same either way (`tests/resolver/test_resolver_fast_paths.py`).
Other databases keep the ordinary path (they wait on the network, not on Python).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql.expression import Executable


class CompiledStatement:
    """One statement compiled for one dialect, with its parameter and result processing."""

    def __init__(self, statement: Any, dialect: Dialect, keys: Sequence[str]) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys))
        constants = compiled.construct_params({key: None for key in keys})
        self.sql: str = compiled.string
        self.keys = tuple(keys)
        # Per positional parameter: (key, processor), or (None, the statement's own literal)
        # for values such as the 1 of ``scan_count + 1``.
        self._binds: list[tuple[str | None, Any]] = []
        for name in compiled.positiontup or ():
            processor = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            if name in keys:
                self._binds.append((name, processor))
            else:
                value = constants[name]
                self._binds.append((None, processor(value) if processor else value))
        processors = [
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in statement.exported_columns
        ]
        self._results = [(i, process) for i, process in enumerate(processors) if process]

    def first(self, connection: sqlite3.Connection, params: Mapping[str, Any]) -> Any:
        """The first row as a tuple of Python values (as SQLAlchemy returns them), or None."""
        row = connection.execute(self.sql, self._values(params)).fetchone()
        if row is None or not self._results:
            return row
        values = list(row)
        for i, process in self._results:
            if values[i] is not None:
                values[i] = process(values[i])
        return values

    def _values(self, params: Mapping[str, Any]) -> list[Any]:
        values = []
        for name, extra in self._binds:
            if name is None:
                values.append(extra)  # a literal
            else:
                value = params[name]
                values.append(value if extra is None or value is None else extra(value))
        return values


class DirectStatements:
    """`CompiledStatement` s by statement and dialect, compiled on first use.

    Statements are module-level constants, each always run with the same parameter keys.
    """

    def __init__(self) -> None:
        self._compiled: dict[tuple[int, Dialect], CompiledStatement] = {}
        self._lock = threading.Lock()

    def get(
        self, statement: Executable, dialect: Dialect, keys: Sequence[str]
    ) -> CompiledStatement:
        compiled = self._compiled.get((id(statement), dialect))
        if compiled is None:
            compiled = CompiledStatement(statement, dialect, keys)
            with self._lock:
                self._compiled[(id(statement), dialect)] = compiled
        return compiled


STATEMENTS = DirectStatements()


def direct_connection(connection: Connection) -> sqlite3.Connection | None:
    """The SQLite DBAPI connection under ``connection`` (in its transaction), else None."""
    if connection.dialect.name != "sqlite":
        return None
    raw = connection.connection.dbapi_connection
    return raw if isinstance(raw, sqlite3.Connection) else None


def first_row(
    connection: Connection, statement: Executable, keys: Sequence[str], params: Mapping[str, Any]
) -> Any:
    """The statement's first row: on SQLite's DBAPI connection directly, else through
    SQLAlchemy; None when there is none."""
    direct = direct_connection(connection)
    if direct is not None:
        return STATEMENTS.get(statement, connection.dialect, keys).first(direct, params)
    return connection.execute(statement, params).first()
