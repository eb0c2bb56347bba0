"""EPCIS repository: events captured per second and events queried per second.

For each database (SQLite always; PostgreSQL with --postgres URL or TRACE_TEST_POSTGRES_URL)
and each size (100,000 stored events; 1,000,000 as well with --full), it fills the store
through the capture service (schema validation, identifier index, audit log leaf per event,
documents of 10,000 events), then measures at that size:

- capture: one more 10,000-event document, eventIDs given; and 1,000 events without an
  eventID (the event hash ID is computed for each);
- query by EPC: single-item queries (half as EPC URN, half as Digital Link);
- query by time window: pages of 1,000 events, EPCISQueryDocument built;

each beside its same-run baseline: a bare ``executemany`` INSERT of the same rows into a
table of the same columns with no index, and a bare SELECT of the same rows. On PostgreSQL
the tables are ANALYZEd after each fill, as autovacuum would (the CI server runs without it).

    .venv/bin/python bench/epcis_bench.py [--full] [--sizes 100000,...] [--postgres URL]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from trace_api.db import create_db_engine, migrate, session_factory, transaction  # noqa: E402
from trace_api.epcis import documents, service  # noqa: E402
from trace_api.epcis.capture import Capturer  # noqa: E402
from trace_api.epcis.query import Viewer  # noqa: E402
from trace_api.movements import engine as movements_engine  # noqa: E402
from trace_api.tenancy import service as tenancy_service  # noqa: E402

KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
BATCH = 10_000
START = datetime(2026, 1, 1, tzinfo=UTC)
CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]
STEPS = ("commissioning", "packing", "shipping", "receiving", "retail_selling")


def event(n: int, with_id: bool = True) -> dict[str, Any]:
    """Event ``n``: item ``n`` seen at second ``n`` of the year, at one of 50 places."""
    when = START + timedelta(seconds=n * 30)
    out: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventTime": when.isoformat().replace("+00:00", "Z"),
        "eventTimeZoneOffset": "+08:00",
        "epcList": [f"urn:epc:id:sgtin:0614141.107346.{n}"],
        "action": "OBSERVE",
        "bizStep": STEPS[n % len(STEPS)],
        "disposition": "in_transit",
        "readPoint": {"id": f"urn:epc:id:sgln:0614141.07346.{n % 50}"},
        "bizLocation": {"id": f"urn:epc:id:sgln:0614141.07346.{n % 50}"},
    }
    if with_id:
        out["eventID"] = f"urn:uuid:00000000-0000-4000-8000-{n:012d}"
    return out


def document(first: int, count: int, with_id: bool = True) -> dict[str, Any]:
    return {
        "@context": CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-25T00:00:00Z",
        "epcisBody": {"eventList": [event(n, with_id) for n in range(first, first + count)]},
    }


@contextmanager
def database(kind: str, postgres: str | None) -> Iterator[tuple[str, Engine]]:
    """A fresh SQLite file, or a fresh schema on the PostgreSQL server."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/bench.db"
            engine = create_db_engine(url)
            yield url, engine
            engine.dispose()
        return
    assert postgres
    schema = f"bench_{secrets.token_hex(4)}"
    parsed = make_url(postgres).set(drivername="postgresql+psycopg")
    admin = create_engine(parsed, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = parsed.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )
    engine = create_db_engine(url)
    try:
        yield url, engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


class Store:
    """A migrated database with one tenant, filled through the capture service."""

    def __init__(self, engine: Engine) -> None:
        migrate(engine)
        self.engine = engine
        self.sessions = session_factory(engine)
        with transaction(self.sessions) as session:
            tenant, _ = tenancy_service.create_tenant(session=session, master_key=KEY, name="bench")
        self.capturer = Capturer(tenant.id, "bench", None)
        self.viewer = Viewer(tenant.id)
        self.size = 0

    def capture(self, doc: dict[str, Any]) -> int:
        checked = service.check_document(doc, capture_limit=10**7, file_size_limit=10**10)
        with transaction(self.sessions) as session:
            job = service.start_capture(
                session=session, capturer=self.capturer, request=checked, behaviour="rollback"
            )
            service.run_capture(
                session=session,
                job=job,
                capturer=self.capturer,
                request=checked,
                on_stored=movements_engine.on_stored,
            )
            assert job.success, job.errors
            return int(job.stored_count)

    def fill(self, target: int) -> float:
        """Capture until ``target`` events are stored; events/s of the fill."""
        started, added = time.perf_counter(), 0
        while self.size < target:
            n = min(BATCH, target - self.size)
            added += self.capture(document(self.size, n))
            self.size += n
            print(f"\r  filled {self.size:>9,}", end="", flush=True)
        print()
        rate = added / (time.perf_counter() - started) if added else 0.0
        if self.engine.dialect.name == "postgresql":
            # What autovacuum does on a production server; the test server runs with
            # autovacuum off, and without statistics the planner guesses (about 3x slower
            # captures and time-window queries at 1,000,000 events).
            with self.engine.begin() as conn:
                conn.execute(text("ANALYZE"))
        return rate

    def query(self, params: dict[str, Any], per_page: int) -> int:
        with transaction(self.sessions) as session:
            page = service.query_events(
                session=session, viewer=self.viewer, params=params, per_page=per_page, token=None
            )
            documents.query_document(page.rows, page.bodies)
            return len(page.rows)


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:>12,.0f}/s"


def timed(fn: Callable[[], int]) -> tuple[int, float]:
    started = time.perf_counter()
    count = fn()
    return count, time.perf_counter() - started


def baseline_insert(engine: Engine, rows: list[tuple[Any, ...]]) -> float:
    """Bare DBAPI executemany of the same event rows into an unindexed twin table."""
    columns = "tenant_id, event_id, event_type, event_time, record_time, biz_step, body"
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_rows (tenant_id TEXT, event_id TEXT, event_type "
            "TEXT, event_time TEXT, record_time TEXT, biz_step TEXT, body TEXT)"
        )
        marks = ", ".join(["?"] * 7) if engine.dialect.name == "sqlite" else ", ".join(["%s"] * 7)
        started = time.perf_counter()
        cursor.executemany(f"INSERT INTO bench_rows ({columns}) VALUES ({marks})", rows)
        raw.commit()
        return len(rows) / (time.perf_counter() - started)
    finally:
        raw.close()


def baseline_select(engine: Engine, sql: str, params: list[dict[str, Any]]) -> float:
    """Bare SELECT of the bodies a query returns, rows per second."""
    fetched = 0
    with engine.connect() as conn:
        started = time.perf_counter()
        for p in params:
            fetched += len(conn.execute(text(sql), p).all())
        return fetched / (time.perf_counter() - started)


def measure(store: Store, kind: str) -> list[tuple[str, str, str]]:
    """The figures at the store's current size: (what, ours, baseline)."""
    out = []
    size = store.size
    extra = document(size, BATCH)
    stored, seconds = timed(lambda: store.capture(extra))
    store.size += BATCH
    rows = [
        (
            store.capturer.tenant_id,
            e["eventID"],
            e["type"],
            e["eventTime"],
            e["eventTime"],
            e["bizStep"],
            json.dumps(e, separators=(",", ":")),
        )
        for e in extra["epcisBody"]["eventList"]
    ]
    out.append(
        (
            "capture, eventID given",
            rate(stored, seconds),
            f"executemany {baseline_insert(store.engine, rows):>10,.0f}/s",
        )
    )
    no_ids = document(size + BATCH, 1_000, with_id=False)
    stored, seconds = timed(lambda: store.capture(no_ids))
    store.size += 1_000
    out.append(("capture, hash eventID", rate(stored, seconds), ""))

    rng = random.Random(size)
    items = [rng.randrange(store.size) for _ in range(300)]

    def by_epc() -> int:
        found = 0
        for i, n in enumerate(items):
            epc = (
                f"urn:epc:id:sgtin:0614141.107346.{n}"
                if i % 2
                else f"https://id.gs1.org/01/10614141073464/21/{n}"
            )
            found += store.query({"MATCH_epc": [epc]}, 30)
        return found

    found, seconds = timed(by_epc)
    epc_sql = (
        "SELECT e.body FROM epcis_event_epcs x JOIN epcis_events e ON e.id = x.event_pk "
        "WHERE x.tenant_id = :t AND x.epc = :k AND x.role IN ('e', 'c')"
    )
    keys = [
        {"t": store.capturer.tenant_id, "k": f"https://id.gs1.org/01/10614141073464/21/{n}"}
        for n in items
    ]
    out.append(
        (
            f"query by EPC ({len(items)} q, {len(items) / seconds:,.0f} q/s)",
            rate(found, seconds),
            f"bare SELECT {baseline_select(store.engine, epc_sql, keys):>10,.0f}/s",
        )
    )

    windows = []
    for _ in range(20):
        first = rng.randrange(max(1, size - 2000))
        windows.append(START + timedelta(seconds=first * 30))

    def by_time() -> int:
        found = 0
        for start in windows:
            found += store.query(
                {
                    "GE_eventTime": [start.isoformat()],
                    "LT_eventTime": [(start + timedelta(seconds=30_000)).isoformat()],
                },
                1000,
            )
        return found

    found, seconds = timed(by_time)
    time_sql = (
        "SELECT body FROM epcis_events WHERE tenant_id = :t AND event_time >= :a "
        "AND event_time < :b ORDER BY id LIMIT 1000"
    )
    spans = [
        {"t": store.capturer.tenant_id, "a": w, "b": w + timedelta(seconds=30_000)} for w in windows
    ]
    if kind == "sqlite":  # stored as SQLAlchemy writes DateTime on SQLite
        spans = [
            {
                **s,
                "a": s["a"].strftime("%Y-%m-%d %H:%M:%S.%f"),
                "b": s["b"].strftime("%Y-%m-%d %H:%M:%S.%f"),
            }
            for s in spans
        ]
    out.append(
        (
            f"query by time window ({len(windows)} pages of <=1000)",
            rate(found, seconds),
            f"bare SELECT {baseline_select(store.engine, time_sql, spans):>10,.0f}/s",
        )
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="also 1,000,000 stored events")
    parser.add_argument("--sizes", help="comma-separated sizes (overrides --full)")
    parser.add_argument("--postgres", default=os.environ.get("TRACE_TEST_POSTGRES_URL"))
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    sizes = (
        [int(s) for s in args.sizes.split(",")]
        if args.sizes
        else ([100_000, 1_000_000] if args.full else [100_000])
    )
    kinds = ["sqlite"] + (["postgresql"] if args.postgres else [])
    if args.only:
        kinds = [args.only]
    table: list[tuple[str, int, str, str, str]] = []
    for kind in kinds:
        with database(kind, args.postgres) as (_, engine):
            store = Store(engine)
            for size in sizes:
                print(f"{kind}: filling to {size:,} events")
                fill = store.fill(size)
                table.append(
                    (kind, size, "fill (capture service, 10k/doc)", f"{fill:>12,.0f}/s", "")
                )
                print(f"  fill{'':<42}{fill:>13,.0f}/s", flush=True)
                for what, ours, base in measure(store, kind):
                    table.append((kind, size, what, ours, base))
                    print(f"  {what:<46}{ours:>15}  {base}", flush=True)
    print()
    print(f"{'database':<11}{'stored':>11}  {'measure':<46}{'ours':>15}  baseline (same run)")
    for kind, size, what, ours, base in table:
        print(f"{kind:<11}{size:>11,}  {what:<46}{ours:>15}  {base}")


if __name__ == "__main__":
    main()
