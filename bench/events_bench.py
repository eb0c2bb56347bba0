"""Item movements per second through bulk capture, with the route checks on and off.

A three-level channel (brand -> distributor -> dealer, territories per level) per mode;
pallets of 1,000 items (20 cases of 50), packed in setup through the capture service
(AggregationEvents) and allocated pallet by pallet to the distributor. Measured: the same
four legs for each mode, as EPCIS documents through the capture service in one
transaction each, captured with the acting dealer's key (as the API does):

    brand ships pallets to the distributor, the distributor receives them,
    the distributor ships them to the dealer, the dealer receives them.

Each event names one pallet, so each moves 1,000 items (and 20 cases and the pallet).
Modes alternate document by document in one database, so both see the same growth, and
take alternate pallets (odd, even), so their keys interleave in every index.
Figures: item movements per second with the route checks on and off, their ratio, and
the target (50,000/s with checks on; checks costing under 20%).

    .venv/bin/python bench/events_bench.py [--pallets 20] [--per-doc 10] [--postgres URL]
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from trace_api.db import create_db_engine, migrate, session_factory, transaction  # noqa: E402
from trace_api.epcis import service  # noqa: E402
from trace_api.epcis.capture import Capturer  # noqa: E402
from trace_api.models import Allocation, ChannelTerritory, DiversionAlert  # noqa: E402
from trace_api.movements import engine as movements_engine  # noqa: E402
from trace_api.tenancy import service as tenancy_service  # noqa: E402

KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]
ITEMS, CASE = 1_000, 50
START = datetime(2026, 1, 1, tzinfo=UTC)
TARGET = 50_000
ORG = "urn:tracechain:org:"


def _check(body: str) -> str:
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str(-total % 10)


def sscc(n: int) -> str:
    return "https://id.gs1.org/00/" + _check(f"0614141{n:010d}")


def item(n: int) -> str:
    return f"https://id.gs1.org/01/10614141073464/21/{n:09d}"


def document(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "@context": CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-25T00:00:00Z",
        "epcisBody": {"eventList": events},
    }


@contextmanager
def database(kind: str, postgres: str | None) -> Iterator[Engine]:
    """A fresh SQLite file, or a fresh schema on the PostgreSQL server."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            engine = create_db_engine(f"sqlite:///{tmp}/bench.db")
            yield engine
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
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


class Channel:
    """One mode's channel: its organisations, its pallets, and a clock for event times."""

    def __init__(self, bench: Bench, name: str, checks: bool, first_pallet: int) -> None:
        """Channel ``name`` with pallets first_pallet, first_pallet + 2, ..."""
        self.bench, self.checks = bench, checks
        self.orgs: dict[str, str] = {}
        with transaction(bench.sessions) as session:
            parent = None
            for level, territory in (("brand", None), ("dist", "330000"), ("dealer", "330100")):
                org = tenancy_service.create_organisation(
                    session=session,
                    tenant_id=bench.tenant_id,
                    name=f"{name} {level}",
                    kind=level,
                    parent_id=parent,
                )
                if territory:
                    session.add(
                        ChannelTerritory(
                            tenant_id=bench.tenant_id,
                            organisation_id=org.id,
                            division_code=territory,
                        )
                    )
                self.orgs[level] = parent = org.id
        self.pallets = list(range(first_pallet, first_pallet + 2 * bench.pallets, 2))
        self.clock = START

    def tick(self) -> str:
        self.clock += timedelta(seconds=1)
        return self.clock.isoformat().replace("+00:00", "Z")

    def capture(self, events: list[dict[str, Any]], org: str) -> float:
        checked = service.check_document(
            document(events), capture_limit=10**7, file_size_limit=10**10
        )
        capturer = Capturer(self.bench.tenant_id, "bench", self.orgs[org], route_checks=self.checks)
        started = time.perf_counter()
        with transaction(self.bench.sessions) as session:
            job = service.start_capture(
                session=session, capturer=capturer, request=checked, behaviour="rollback"
            )
            service.run_capture(
                session=session,
                job=job,
                capturer=capturer,
                request=checked,
                on_stored=movements_engine.on_stored,
            )
            assert job.success, job.errors
        return time.perf_counter() - started

    def pack(self) -> None:
        """Items into cases into pallets (setup), each pallet allocated to the distributor."""
        for pallet in self.pallets:
            first = pallet * ITEMS
            cases = [sscc(pallet * 100 + c) for c in range(ITEMS // CASE)]
            events = [
                self._aggregation(case, [item(first + c * CASE + i) for i in range(CASE)])
                for c, case in enumerate(cases)
            ]
            events.append(self._aggregation(sscc(pallet * 100 + 99), cases))
            self.capture(events, "brand")
        with transaction(self.bench.sessions) as session:
            session.add_all(
                Allocation(
                    tenant_id=self.bench.tenant_id,
                    target_kind="container",
                    target=sscc(pallet * 100 + 99),
                    organisation_id=self.orgs["dist"],
                    created_by="bench",
                )
                for pallet in self.pallets
            )

    def _aggregation(self, parent: str, children: list[str]) -> dict[str, Any]:
        return {
            "type": "AggregationEvent",
            "eventTime": self.tick(),
            "eventTimeZoneOffset": "+08:00",
            "parentID": parent,
            "childEPCs": children,
            "action": "ADD",
            "bizStep": "packing",
            "sourceList": [{"type": "owning_party", "source": ORG + self.orgs["brand"]}],
        }

    def leg_documents(self, step: str, sender: str, receiver: str) -> list[list[dict[str, Any]]]:
        per = self.bench.per_doc
        docs = []
        for start in range(0, len(self.pallets), per):
            events = []
            for pallet in self.pallets[start : start + per]:
                event: dict[str, Any] = {
                    "type": "ObjectEvent",
                    "eventTime": self.tick(),
                    "eventTimeZoneOffset": "+08:00",
                    "epcList": [sscc(pallet * 100 + 99)],
                    "action": "OBSERVE",
                    "bizStep": step,
                    "destinationList": [
                        {"type": "owning_party", "destination": ORG + self.orgs[receiver]}
                    ],
                }
                if step == "shipping":
                    event["sourceList"] = [
                        {"type": "owning_party", "source": ORG + self.orgs[sender]}
                    ]
                events.append(event)
            docs.append(events)
        return docs


class Bench:
    def __init__(self, engine: Engine, pallets: int, per_doc: int) -> None:
        migrate(engine)
        self.engine, self.pallets, self.per_doc = engine, pallets, per_doc
        self.sessions = session_factory(engine)
        with transaction(self.sessions) as session:
            tenant, _ = tenancy_service.create_tenant(session=session, master_key=KEY, name="bench")
        self.tenant_id = tenant.id

    def alerts(self) -> int:
        with transaction(self.sessions) as session:
            return int(session.scalar(select(func.count()).select_from(DiversionAlert)) or 0)


LEGS = (
    ("shipping", "brand", "dist", "brand"),
    ("receiving", "brand", "dist", "dist"),
    ("shipping", "dist", "dealer", "dist"),
    ("receiving", "dist", "dealer", "dealer"),
)


def run(kind: str, engine: Engine, pallets: int, per_doc: int) -> dict[str, float]:
    bench = Bench(engine, pallets, per_doc)
    # Odd pallets for one mode, even for the other: their keys interleave in every index,
    # so neither mode gets the cheaper end of a B-tree (an earlier layout, one mode's
    # keys all below the other's, showed up as a 15-20% "difference" on SQLite).
    modes = {"on": Channel(bench, "A", True, 1), "off": Channel(bench, "B", False, 2)}
    started = time.perf_counter()
    for channel in modes.values():
        channel.pack()
    print(f"  setup: {2 * pallets * ITEMS:,} items packed in {time.perf_counter() - started:.1f} s")
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    seconds = {"on": 0.0, "off": 0.0}
    for step, sender, receiver, actor in LEGS:
        docs = {m: c.leg_documents(step, sender, receiver) for m, c in modes.items()}
        for i in range(len(docs["on"])):
            order = ("on", "off") if i % 2 == 0 else ("off", "on")  # neither always first
            for mode in order:
                seconds[mode] += modes[mode].capture(docs[mode][i], actor)
    moved = len(LEGS) * pallets * ITEMS
    rates = {mode: moved / s for mode, s in seconds.items()}
    print(
        f"  {moved:,} item movements per mode ({len(LEGS)} legs x {pallets} pallets x "
        f"{ITEMS:,} items; {per_doc} pallets per document); alerts raised: {bench.alerts()}"
    )
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pallets", type=int, default=20, help="pallets per mode")
    parser.add_argument("--per-doc", type=int, default=10, help="pallets (events) per document")
    parser.add_argument("--postgres", default=os.environ.get("TRACE_TEST_POSTGRES_URL"))
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    kinds = ["sqlite"] + (["postgresql"] if args.postgres else [])
    if args.only:
        kinds = [args.only]
    table = []
    for kind in kinds:
        print(f"{kind}:")
        with database(kind, args.postgres) as engine:
            rates = run(kind, engine, args.pallets, args.per_doc)
        cost = 1 - rates["on"] / rates["off"]
        table.append((kind, rates["on"], rates["off"], cost))
        print(
            f"  checks on {rates['on']:>10,.0f}/s   checks off {rates['off']:>10,.0f}/s   "
            f"checks cost {cost:6.1%}",
            flush=True,
        )
    print()
    print(f"target: {TARGET:,} item movements/s with checks on; checks costing under 20%")
    print(f"{'database':<11}{'checks on':>14}{'checks off':>14}{'on/off':>9}{'checks cost':>13}")
    for kind, on, off, cost in table:
        print(f"{kind:<11}{on:>12,.0f}/s{off:>12,.0f}/s{on / off:>9.2f}{cost:>13.1%}")


if __name__ == "__main__":
    main()
