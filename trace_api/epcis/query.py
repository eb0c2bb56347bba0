"""Running an EventQuery: SQL conditions, keyset paging, checks, and error declarations.

Results come in capture order, each error declaration right after the event it corrects
(order key ``group_id, id``), or by eventTime/recordTime when asked. A
page token is the last row's order key plus a fingerprint of the query, base64url JSON:
stateless, it never expires, and it cannot be replayed against another query. When the
event that a declaration corrects (or the declaration of an event) does not match the query
itself, it comes along anyway, next to its partner: a query shows a correction with what
it corrects.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, literal, or_, select, tuple_
from sqlalchemy.orm import Session

from trace_api.epcis import custody
from trace_api.epcis.errors import QueryParameterError
from trace_api.epcis.parameters import EventQuery
from trace_api.errors import ServiceError
from trace_api.models import EpcisEvent, EpcisEventEpc

_BATCH = 200
_SCAN_FACTOR = 20  # rows looked at per page, at most, before a short page is returned


class QueryTooLarge(ServiceError):
    status = 413
    slug = "epcis-query-too-large"
    title = "Query result too large"
    type_uri = "epcisException:QueryTooLargeException"


@dataclass(frozen=True)
class Viewer:
    """Whose query: the tenant, and for a dealer its organisation (custody applies)."""

    tenant_id: str
    organisation_id: str | None = None


# What a query reads of each event: plain rows (not ORM objects) are several times
# cheaper to read when a page holds a thousand events. documents.event_out takes either.
EVENT_COLUMNS = (
    EpcisEvent.id,
    EpcisEvent.corrects_id,
    EpcisEvent.group_id,
    EpcisEvent.event_time,
    EpcisEvent.record_time,
    EpcisEvent.event_id,
    EpcisEvent.event_id_generated,
    EpcisEvent.context,
    EpcisEvent.body,
)
EventRow = Any  # a Row of EVENT_COLUMNS, or an EpcisEvent


@dataclass
class Page:
    """Events of one page in output order, their parsed bodies, and the next page token."""

    rows: list[EventRow]
    bodies: dict[int, dict[str, Any]] = field(default_factory=dict)
    next_token: str | None = None


def _group_key(query: EventQuery) -> Any:
    # A query by EPC or eventID selects a handful of rows: "+ 0" keeps the planner from
    # walking the whole order index (ix_epcis_events_tenant_group) to avoid a small sort.
    return EpcisEvent.group_id + 0 if query.epc_matches or query.event_ids else EpcisEvent.group_id


def _order_columns(query: EventQuery) -> list[Any]:
    columns: list[Any] = [_group_key(query), EpcisEvent.id]
    if query.order_by == "eventTime":
        columns.insert(0, EpcisEvent.event_time)
    elif query.order_by == "recordTime":
        columns.insert(0, EpcisEvent.record_time)
    return columns


def conditions(
    viewer: Viewer, query: EventQuery, *, narrowed: bool = False
) -> list[ColumnElement[bool]]:
    """The SQL side of a query: everything but the Python checks and the order.

    ``narrowed``: the caller selects a few rows by key, so the tenant test is written so
    that no index serves it (SQLite would otherwise walk all the tenant's events).
    """
    tenant: Any = EpcisEvent.tenant_id
    if narrowed or query.epc_matches:  # an EPC query is driven by the identifier index
        tenant = tenant.concat("")
    where: list[ColumnElement[bool]] = [tenant == viewer.tenant_id]
    if viewer.organisation_id is not None:
        where.append(custody.visible_to(viewer.tenant_id, viewer.organisation_id))
    columns: dict[str, Any] = {
        "eventTime": EpcisEvent.event_time,
        "recordTime": EpcisEvent.record_time,
    }
    for name, bound in query.times.items():
        column = columns[name[3:]]
        where.append(column >= bound if name.startswith("GE_") else column < bound)
    pairs: tuple[tuple[list[str], Any], ...] = (
        (query.event_types, EpcisEvent.event_type),
        (query.actions, EpcisEvent.action),
        (query.biz_steps, EpcisEvent.biz_step),
        (query.dispositions, EpcisEvent.disposition),
        (query.read_points, EpcisEvent.read_point),
        (query.biz_locations, EpcisEvent.biz_location),
        (query.event_ids, EpcisEvent.event_id),
    )
    for values, column in pairs:
        if values:
            where.append(column.in_(values))
    for roles, matches in query.epc_matches:
        exact = [m.key for m in matches if not m.prefix]
        alternatives: list[ColumnElement[bool]] = [EpcisEventEpc.epc.in_(exact)] if exact else []
        alternatives += [
            EpcisEventEpc.epc.startswith(m.key, autoescape=True) for m in matches if m.prefix
        ]
        where.append(
            EpcisEvent.id.in_(
                select(EpcisEventEpc.event_pk).where(
                    EpcisEventEpc.tenant_id == viewer.tenant_id,
                    EpcisEventEpc.role.in_(roles),
                    or_(*alternatives),
                )
            )
        )
    if query.declared is not None:
        declared = EpcisEvent.declared_at
        where.append(declared.is_not(None) if query.declared else declared.is_(None))
    for name, bound in query.declaration_times.items():
        declared = EpcisEvent.declared_at
        where.append(declared >= bound if name.startswith("GE_") else declared < bound)
    return where


def _key(row: EventRow, query: EventQuery) -> list[Any]:
    key: list[Any] = [row.group_id, row.id]
    if query.order_by == "eventTime":
        key.insert(0, row.event_time)
    elif query.order_by == "recordTime":
        key.insert(0, row.record_time)
    return key


def encode_token(fingerprint: str, key: list[Any], returned: int) -> str:
    """A page token: where the last page ended, for which query, after how many events."""
    payload = json.dumps({"f": fingerprint, "k": key, "n": returned}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _decode_token(token: str, fingerprint: str, query: EventQuery) -> tuple[list[Any], int]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(raw)
        key, returned = payload["k"], int(payload["n"])
        width = 3 if query.order_by else 2
        if payload["f"] != fingerprint or not isinstance(key, list) or len(key) != width:
            raise ValueError("token of another query")
        ids = [int(k) for k in key[-2:]]
        if query.order_by:
            return [datetime.fromisoformat(key[0]), *ids], returned
        return ids, returned
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise QueryParameterError("nextPageToken is not a token of this query") from None


def _after(
    columns: list[ColumnElement[Any]], key: list[Any], descending: bool
) -> ColumnElement[bool]:
    values = [literal(v, c.type) for c, v in zip(columns, key, strict=True)]
    left, right = tuple_(*columns), tuple_(*values)
    return left < right if descending else left > right


def _matches(row: EventRow, query: EventQuery, bodies: dict[int, dict[str, Any]]) -> bool:
    if not query.checks:
        return True
    body = bodies.setdefault(row.id, json.loads(row.body))
    return all(check(body) for check in query.checks)


def select_events(viewer: Viewer, query: EventQuery) -> Select[*tuple[Any, ...]]:
    """The query's rows in output order (before checks and paging)."""
    columns = _order_columns(query)
    order = [c.desc() for c in columns] if query.descending else columns
    return select(*EVENT_COLUMNS).where(*conditions(viewer, query)).order_by(*order)


def run(
    *,
    session: Session,
    viewer: Viewer,
    query: EventQuery,
    per_page: int,
    token: str | None,
    fingerprint: str,
) -> Page:
    """One page of the query's events (see the module docstring)."""
    returned = 0
    statement = select_events(viewer, query)
    columns = _order_columns(query)
    if token:
        key, returned = _decode_token(token, fingerprint, query)
        statement = statement.where(_after(columns, key, query.descending))
    if query.max_event_count is not None and not token:
        _refuse_if_more_than(session, statement, query)
    limit = per_page
    if query.event_count_limit is not None:
        limit = min(limit, query.event_count_limit - returned)
    page = Page(rows=[])
    last: list[Any] | None = None
    exhausted = limit <= 0
    scanned, batch_size = 0, max(_BATCH, limit)
    while not exhausted and len(page.rows) < limit and scanned < limit * _SCAN_FACTOR:
        current = (
            statement if last is None else statement.where(_after(columns, last, query.descending))
        )
        batch = session.execute(current.limit(batch_size)).all()
        for row in batch:
            last, scanned = _key(row, query), scanned + 1
            if _matches(row, query, page.bodies):
                page.rows.append(row)
                if len(page.rows) == limit:
                    break
        else:
            exhausted = len(batch) < batch_size
    capped = query.event_count_limit is not None and returned + len(page.rows) >= (
        query.event_count_limit
    )
    if last is not None and not capped and not exhausted:
        probe = statement.where(_after(columns, last, query.descending)).limit(1)
        if session.scalar(probe) is not None:
            page.next_token = encode_token(fingerprint, _json_key(last), returned + len(page.rows))
    _add_partners(session, viewer, query, page)
    page.rows = _originals_first(page.rows)
    return page


def _originals_first(rows: list[EventRow]) -> list[EventRow]:
    """Within each run of one event and its declarations, the event comes first (a
    declaration captured before its event has the smaller id)."""
    out: list[EventRow] = []
    run: list[EventRow] = []
    for row in rows:
        if run and row.group_id != run[0].group_id:
            out += sorted(run, key=lambda r: r.corrects_id is not None)
            run = []
        run.append(row)
    return out + sorted(run, key=lambda r: r.corrects_id is not None)


def _json_key(key: list[Any]) -> list[Any]:
    return [k.isoformat() if isinstance(k, datetime) else k for k in key]


def _refuse_if_more_than(
    session: Session, statement: Select[*tuple[Any, ...]], query: EventQuery
) -> None:
    limit = query.max_event_count
    assert limit is not None
    if query.checks:
        count = sum(
            1
            for row in session.execute(statement)
            if all(check(json.loads(row.body)) for check in query.checks)
        )
    else:
        count = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    if count > limit:
        raise QueryTooLarge(
            f"the query matches {count} events, more than maxEventCount={limit}",
            matching=count,
        )


def _add_partners(session: Session, viewer: Viewer, query: EventQuery, page: Page) -> None:
    """Put each declaration next to the event it corrects when only one of them matched."""
    if not page.rows:
        return
    ids = {row.id for row in page.rows}
    wanted = {row.corrects_id for row in page.rows if row.corrects_id} - ids
    visible = conditions(viewer, EventQuery(), narrowed=True)
    partners = list(
        session.execute(
            select(*EVENT_COLUMNS)
            .where(*visible, EpcisEvent.corrects_id.in_(ids), EpcisEvent.id.not_in(ids))
            .order_by(EpcisEvent.id)
        ).all()
    )
    if wanted:
        partners += session.execute(
            select(*EVENT_COLUMNS)
            .where(*visible, EpcisEvent.id.in_(wanted))
            .order_by(EpcisEvent.id)
        ).all()
    if not partners:
        return
    matching = set(
        session.scalars(
            select(EpcisEvent.id).where(
                and_(*conditions(viewer, query, narrowed=True)),
                EpcisEvent.id.in_([p.id for p in partners]),
            )
        )
    )
    partners = [p for p in partners if p.id not in matching or not _matches(p, query, page.bodies)]
    declarations: dict[int, list[EventRow]] = {}
    originals: dict[int, EventRow] = {}
    for partner in partners:
        if partner.corrects_id is not None and partner.corrects_id in ids:
            declarations.setdefault(partner.corrects_id, []).append(partner)
        else:
            originals[partner.id] = partner
    ordered: list[EventRow] = []
    for row in page.rows:
        if row.corrects_id in originals:
            ordered.append(originals.pop(row.corrects_id))
        ordered.append(row)
        ordered.extend(declarations.get(row.id, []))
    page.rows = ordered
