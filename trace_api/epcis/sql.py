"""Statements for many keys at once, on both databases, without an IN list per key.

``IN (:k1, :k2, ...)`` with hundreds of bound parameters costs more to expand and plan
than the look-ups it makes. The keys go as one parameter instead: a JSON array read with
``json_each`` on SQLite, an array compared with ``= ANY`` on PostgreSQL. Inserts go
through the Core table (PostgreSQL: COPY, trace_api/epcis/bulk.py), never through the
ORM's per-row bookkeeping.

EPCIS custody and the movements engine above it both read this way, so it lives in epcis.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import ColumnElement, String, any_, bindparam, column, func, insert, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from trace_api.epcis import bulk

BATCH = 20_000  # keys per statement


def batches(values: Iterable[str], size: int = BATCH) -> Iterator[list[str]]:
    """``values`` in lists of at most ``size``."""
    items = list(values)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def one_of(session: Session, target: Any, keys: Sequence[str]) -> ColumnElement[bool]:
    """``target`` is one of ``keys``, as one bound parameter."""
    condition: ColumnElement[bool]
    if is_postgres(session):
        condition = target == any_(bindparam(None, list(keys), type_=postgresql.ARRAY(String())))
        return condition
    values: Any = select(column("value")).select_from(func.json_each(json.dumps(list(keys))))
    condition = target.in_(values.scalar_subquery())
    return condition


def insert_rows(session: Session, model: Any, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT ``rows`` (dicts with the same keys) into ``model``'s table.

    PostgreSQL: COPY. SQLite: the DBAPI's executemany on tuples, each value converted by
    its column type's bind processor once per distinct value (a capture's rows share their
    few timestamps), which is several times quicker than SQLAlchemy's per-row handling.
    """
    if not rows:
        return
    if is_postgres(session):
        bulk.insert_rows(session, model, rows)
        return
    connection = session.connection()
    table = model.__table__
    compiled = insert(table).compile(dialect=connection.dialect, column_keys=list(rows[0]))
    names = list(compiled.positiontup or ())
    converters = []
    for name in names:
        processor = table.c[name].type.bind_processor(connection.dialect)
        converters.append(_memoised(processor) if processor is not None else None)
    values = [
        tuple(
            row[name] if convert is None else convert(row[name])
            for name, convert in zip(names, converters, strict=True)
        )
        for row in rows
    ]
    connection.exec_driver_sql(compiled.string, values)


def _memoised(processor: Callable[[Any], Any]) -> Callable[[Any], Any]:
    seen: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        if value is None:
            return None
        try:
            return seen[value]
        except KeyError:
            seen[value] = converted = processor(value)
            return converted
        except TypeError:  # unhashable: convert every time
            return processor(value)

    return convert
