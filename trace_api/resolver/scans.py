"""Recording a scan: the atomic count step, the scan record, clone warnings, the audit log.

The count is one atomic upsert (``scan_count = scan_count + 1 ... RETURNING``), so
concurrent scans of one code count exactly, whatever the number of server processes.
Each scan then appends its record to `code_scans` with that count as its ``seq``, unique
per code; the records are append-only (triggers) and sealed into the audit log
(`seals`), so they, not the counter, are what a count is checked against. A counter set
back in the database makes the next scan's ``seq`` collide with a record: that scan then
recounts the records, answers their count (never fewer), warns ``count_tampered``, puts
the counter right and logs ``code.scan_count_mismatch``. Scans are high-volume: the audit
log gets the first scan of each code, clone warnings and suspicious verdicts, not every
scan.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, case, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from trace_api.audit import log as audit_log
from trace_api.instants import iso
from trace_api.models import CodeScan, CodeState, ResolverMiss, utcnow
from trace_api.resolver import flags
from trace_api.resolver.lookup import CodeRow
from trace_api.resolver.regions import implausible_travel, place_of
from trace_api.resolver.resolution import Resolution, ResolveDb, Scan
from trace_api.resolver.statements import STATEMENTS, direct_connection
from trace_api.settings import Settings

_STATE = cast(Table, CodeState.__table__)
_SCANS = cast(Table, CodeScan.__table__)
_SCAN_ROW = insert(_SCANS)
_SCAN_ROWS = {  # a record whose (code_id, seq) exists already is not stored: no row back
    name: insert_(_SCANS)
    .on_conflict_do_nothing(index_elements=["code_id", "seq"])
    .returning(_SCANS.c.id)
    for name, insert_ in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}
_RECORDS = select(func.count(), func.max(_SCANS.c.seq)).where(
    _SCANS.c.code_id == bindparam("code_id")
)
_FIRST_RECORD = select(_SCANS.c.scanned_at, _SCANS.c.region).where(
    _SCANS.c.code_id == bindparam("code_id"), _SCANS.c.seq == 1
)
_CLIENTS_SINCE = select(
    func.count(func.distinct(_SCANS.c.client_hash)),
    func.max(case((_SCANS.c.client_hash == bindparam("client"), 1), else_=0)),
).where(_SCANS.c.code_id == bindparam("code_id"), _SCANS.c.seq > bindparam("since"))
_MISS_ROW = insert(cast(Table, ResolverMiss.__table__))
_STATE_KEYS = (
    "code_id", "scan_count", "first_scan_at", "first_scan_region", "last_scan_at",
    "located_at", "lat", "lon", "region", "pin_failures",
)  # fmt: skip
_SCAN_KEYS = ("code_id", "seq", "scanned_at", "region", "lat", "lon", "client_hash", "warnings")


def _scan_upsert(insert_: Any, located: bool) -> Any:
    """``INSERT ... ON CONFLICT (code_id) DO UPDATE ... RETURNING``: one atomic count step."""
    table = _STATE
    statement = insert_(table)
    excluded = statement.excluded
    update = {
        "scan_count": table.c.scan_count + 1,
        "first_scan_at": func.coalesce(table.c.first_scan_at, excluded.first_scan_at),
        "first_scan_region": case(
            (table.c.first_scan_at.is_(None), excluded.first_scan_region),
            else_=table.c.first_scan_region,
        ),
        "last_scan_at": excluded.last_scan_at,
    }
    if located:
        update.update(
            located_at=excluded.located_at,
            lat=excluded.lat,
            lon=excluded.lon,
            region=excluded.region,
        )
    return statement.on_conflict_do_update(index_elements=["code_id"], set_=update).returning(
        table.c.scan_count, table.c.first_scan_at, table.c.first_scan_region
    )


_SCAN_UPSERTS = {
    (name, located): _scan_upsert(insert_, located)
    for name, insert_ in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
    for located in (False, True)
}


def record_miss(connection: Connection, scan: Scan, reason: str) -> None:
    """A lookup of a serial that does not exist (kept as the client's keyed hash only)."""
    connection.execute(
        _MISS_ROW, {"at": utcnow(), "client_hash": scan.client_hash, "reason": reason}
    )


def record_scan(
    db: ResolveDb, settings: Settings, result: Resolution, row: CodeRow, scan: Scan
) -> None:
    """Count the scan, store its record, and set ``result.scans`` and ``result.warnings``."""
    now = utcnow()
    located = scan.region is not None or (scan.lat is not None and scan.lon is not None)
    values = {
        "code_id": row.code_id,
        "scan_count": 1,
        "first_scan_at": now,
        "first_scan_region": scan.region,
        "last_scan_at": now,
        "located_at": now if located else None,
        "lat": scan.lat,
        "lon": scan.lon,
        "region": scan.region,
        "pin_failures": 0,
    }
    connection = db.connection
    dialect = connection.dialect
    upsert = _SCAN_UPSERTS[(dialect.name, located)]
    direct = direct_connection(connection)
    if direct is not None:
        count, first_at, first_region = STATEMENTS.get(upsert, dialect, _STATE_KEYS).first(
            direct, values
        )
    else:
        count, first_at, first_region = connection.execute(upsert, values).one()
    scan_row = {
        "code_id": row.code_id,
        "seq": count,
        "scanned_at": now,
        "region": scan.region,
        "lat": scan.lat,
        "lon": scan.lon,
        "client_hash": scan.client_hash,
    }
    warnings, news = _warnings(connection, settings, row, scan, count, now)
    mismatch: dict[str, Any] | None = None
    if not _store_record(connection, direct, scan_row, warnings):
        # The counter is behind the records: it was set back. The records decide.
        records, last = connection.execute(_RECORDS, {"code_id": row.code_id}).one()
        mismatch = {
            "code": "count_tampered",
            "counter": count - 1,
            "records": int(records),
            "last_seq": int(last),
        }
        count = int(last) + 1
        first_at, first_region = _first_record(connection, row.code_id, now, scan.region)
        connection.execute(
            update(_STATE)
            .where(_STATE.c.code_id == row.code_id)
            .values(scan_count=count, first_scan_at=first_at, first_scan_region=first_region)
        )
        warnings, news = _warnings(connection, settings, row, scan, count, now)
        warnings.insert(0, mismatch)
        scan_row["seq"] = count
        if not _store_record(connection, direct, scan_row, warnings):  # the row lock is ours
            raise RuntimeError(f"scan record {count} of code {row.code_id} exists already")
    if warnings:
        flags.raise_flags(connection, row.code_id, warnings, now)
    result.scans = {
        "count": count,
        "first_at": iso(first_at),
        "first_region": first_region,
        "this_scan_at": iso(now),
    }
    result.warnings.extend(flags.active(row.flags, warnings))
    _log(db, result, row, scan, count, news, mismatch)


def _store_record(
    connection: Connection,
    direct: Any,
    scan_row: dict[str, Any],
    warnings: list[dict[str, Any]],
) -> bool:
    """Append the scan's record; False when its ``seq`` is taken (and nothing was stored)."""
    record = {**scan_row, "warnings": ",".join(w["code"] for w in warnings)[:200]}
    statement = _SCAN_ROWS[connection.dialect.name]
    if direct is not None:
        compiled = STATEMENTS.get(statement, connection.dialect, _SCAN_KEYS)
        return compiled.first(direct, record) is not None
    return connection.execute(statement, record).first() is not None


def _first_record(
    connection: Connection, code_id: int, now: datetime, region: str | None
) -> tuple[datetime, str | None]:
    """When and where the code's first recorded scan was."""
    first = connection.execute(_FIRST_RECORD, {"code_id": code_id}).first()
    return (now, region) if first is None else (first[0], first[1])


def _warnings(
    connection: Connection,
    settings: Settings,
    row: CodeRow,
    scan: Scan,
    count: int,
    now: datetime,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Clone warnings, and those of them that are news (the audit log records them)."""
    warnings: list[dict[str, Any]] = []
    news: list[dict[str, Any]] = []
    limit = settings.scan_warn_count
    since = row.reviewed_scan_count or 0  # "many scans" counts afresh after a review
    if count - since > limit:
        clients = _clients_since(connection, row.code_id, since, scan.client_hash)
        if clients > limit:  # one client scanning again and again copies nothing
            warning = {"code": "many_scans", "count": count, "clients": clients, "limit": limit}
            warnings.append(warning)
            if "many_scans" not in flags.stored(row.flags):
                news.append(warning)
    if row.located_at is None:
        return warnings, news
    before = place_of(row.lat, row.lon, row.region)
    here = place_of(scan.lat, scan.lon, scan.region)
    if before is not None and here is not None:
        km = implausible_travel(before, row.located_at, here, now, settings.scan_max_speed_kmh)
        if km is not None:
            minutes = max(0, int((now - row.located_at).total_seconds() // 60))
            warning = {
                "code": "far_apart",
                "km": round(km),
                "minutes": minutes,
                "previous_region": row.region,
                "region": scan.region,
            }
            warnings.append(warning)
            news.append(warning)
    return warnings, news


def _log(
    db: ResolveDb,
    result: Resolution,
    row: CodeRow,
    scan: Scan,
    count: int,
    warnings: list[dict[str, Any]],
    mismatch: dict[str, Any] | None,
) -> None:
    changes: list[audit_log.Change] = []
    items = (row.serial, row.batch_id)
    base = {"serial": row.serial, "batch_id": row.batch_id, "scan_count": count}
    if mismatch is not None:
        data = {**base, "counter": mismatch["counter"], "records": mismatch["records"]}
        changes.append(audit_log.Change("code.scan_count_mismatch", data, items=items))
    if count == 1:
        data = {**base, "region": scan.region, "verdict": result.verdict}
        changes.append(audit_log.Change("code.first_scan", data, items=items))
    if warnings:
        data = {**base, "warnings": warnings}
        changes.append(audit_log.Change("code.clone_warning", data, items=items))
    if result.verdict == "suspicious":
        data = {**base, "reasons": result.reasons}
        changes.append(audit_log.Change("code.suspicious_scan", data, items=items))
    if changes:
        audit_log.append_many(session=db.session(), tenant_id=row.tenant_id, changes=changes)


def _clients_since(connection: Connection, code_id: int, since: int, client: bytes) -> int:
    """Distinct clients among the code's scans after scan ``since``, this one's included."""
    others, mine = connection.execute(
        _CLIENTS_SINCE, {"code_id": code_id, "since": since, "client": client}
    ).one()
    return int(others) + (0 if mine else 1)


def stored_scans(row: CodeRow) -> dict[str, Any] | None:
    """What the page says of a code's scans when this request is not one (a PIN, a report)."""
    if not row.scan_count:
        return None
    return {
        "count": row.scan_count,
        "first_at": iso(row.first_scan_at),
        "first_region": row.first_scan_region,
        "this_scan_at": None,
    }
