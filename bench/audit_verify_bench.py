"""A full pass of the audit log re-verifier over 1,000,000 entries on SQLite.

Prints the time and rate of `LogReverifier.run_pass` (every body re-hashed against its
stored leaf, seq continuity, the leaves folded into a compact range and checked against
every stored checkpoint, each checkpoint's signature on the first pass) beside two
same-run baselines over the same rows: the bare SELECT of (seq, body, leaf_hash) in the
re-verifier's chunks, and SM3 of the same bodies in memory. Then what a pass takes on the
service's schedule: one chunk (TRACE_AUDIT_VERIFY_CHUNK) every TRACE_AUDIT_VERIFY_INTERVAL
seconds.

    .venv/bin/python bench/audit_verify_bench.py [--entries N] [--chunk N] [--checkpoints N]

The log is built with bulk inserts (sqlite3 executemany of pre-rendered canonical bodies,
checked against `compliance.entry.entry_body`), not through the service: building it is
not what is measured.
"""

from __future__ import annotations

import argparse
import math
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from compliance.checkpoint import Checkpoint, sign_checkpoint  # noqa: E402
from compliance.entry import entry_body, entry_leaf_hash  # noqa: E402
from crypto import sm2  # noqa: E402
from crypto.merkle import MerkleTree  # noqa: E402
from crypto.sm3 import sm3  # noqa: E402
from trace_api.audit.integrity import LogIntegrity  # noqa: E402
from trace_api.audit.log import log_id, log_size  # noqa: E402
from trace_api.audit.reverify import LogReverifier  # noqa: E402
from trace_api.db import create_db_engine, migrate, session_factory, transaction  # noqa: E402
from trace_api.models import AuditEntry  # noqa: E402
from trace_api.settings import Settings  # noqa: E402
from trace_api.tenancy import service as tenancy_service  # noqa: E402

START = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
BATCH = 50_000


def _body(tenant_id: str, seq: int, at: datetime) -> bytes:
    """An ``event.captured`` entry's canonical bytes (RFC 8785: keys in order, no spaces)."""
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return (
        f'{{"actor":"system","at":"{stamp}","data":{{"bizStep":"shipping","count":24,'
        f'"event":"ev-{seq}"}},"items":["item-{seq % 100_000}"],"kind":"event.captured",'
        f'"log":"{log_id(tenant_id)}","org":null,"seq":{seq},"tenant":"{tenant_id}","v":1}}'
    ).encode()


def build_log(db_path: Path, entries: int, checkpoints: int) -> tuple[str, sm2.PrivateKey]:
    """A tenant whose log holds ``entries`` entries and ``checkpoints`` signed checkpoints."""
    url = f"sqlite:///{db_path}"
    engine = create_db_engine(url)
    migrate(engine)
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        tenant, _ = tenancy_service.create_tenant(
            session=session, master_key=bytes(range(16)), name="bench"
        )
        first = log_size(session=session, tenant_id=tenant.id)
    tenant_id = tenant.id
    sample = START + timedelta(seconds=first)
    assert _body(tenant_id, first, sample) == entry_body(
        log_id=log_id(tenant_id),
        tenant_id=tenant_id,
        seq=first,
        kind="event.captured",
        at=sample,
        actor="system",
        org=None,
        items=[f"item-{first % 100_000}"],
        data={"event": f"ev-{first}", "bizStep": "shipping", "count": 24},
    ), "the pre-rendered body is not the canonical entry"
    engine.dispose()

    key = sm2.PrivateKey.generate()
    tree = MerkleTree("sm3")
    with transaction(session_factory(create_db_engine(url))) as session:
        for (leaf,) in session.execute(
            select(AuditEntry.leaf_hash)
            .where(AuditEntry.tenant_id == tenant_id)
            .order_by(AuditEntry.seq)
        ):
            tree.append_leaf_hash(bytes(leaf))
    every = max(1, (entries - first) // max(1, checkpoints))
    sizes = {min(entries, first + every * (k + 1)) for k in range(checkpoints)}
    previous: Checkpoint | None = None
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    for start in range(first, entries, BATCH):
        rows = []
        for seq in range(start, min(entries, start + BATCH)):
            at = START + timedelta(seconds=seq)
            body = _body(tenant_id, seq, at)
            leaf = entry_leaf_hash(body)
            tree.append_leaf_hash(leaf)
            stamp = at.strftime("%Y-%m-%d %H:%M:%S.%f")
            rows.append((tenant_id, seq, "event.captured", stamp, "system", None, body, leaf))
        db.executemany(
            "INSERT INTO audit_entries (tenant_id, seq, kind, recorded_at, actor, "
            "organisation_id, body, leaf_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        for size in sorted(s for s in sizes if start < s <= start + len(rows)):
            cp = Checkpoint(
                log_id=log_id(tenant_id),
                tenant_id=tenant_id,
                size=size,
                root=tree.root(size),
                issued_at=START + timedelta(seconds=size),
                previous_size=previous.size if previous else None,
                previous_root=previous.root if previous else None,
            )
            db.execute(
                "INSERT INTO audit_checkpoints (tenant_id, size, root, issued_at, body, "
                "signature, anchor_job_id) VALUES (?, ?, ?, ?, ?, ?, NULL)",
                (
                    tenant_id,
                    size,
                    "0x" + cp.root.hex(),
                    cp.issued_at.strftime("%Y-%m-%d %H:%M:%S.%f"),
                    cp.body(),
                    sign_checkpoint(key, cp),
                ),
            )
            previous = cp
        db.commit()
    db.execute("UPDATE audit_heads SET size = ? WHERE tenant_id = ?", (entries, tenant_id))
    db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return tenant_id, key


def bare_select(url: str, tenant_id: str, entries: int, chunk: int) -> tuple[float, list[float]]:
    """The same rows, in the same chunks, read and dropped; and SM3 of their bodies, timed apart."""
    sessions = session_factory(create_db_engine(url))
    read = 0.0
    hashing: list[float] = []
    with transaction(sessions) as session:
        connection = session.connection()
        for start in range(0, entries, chunk):
            began = time.perf_counter()
            rows = connection.execute(
                select(AuditEntry.seq, AuditEntry.body, AuditEntry.leaf_hash)
                .where(
                    AuditEntry.tenant_id == tenant_id,
                    AuditEntry.seq >= start,
                    AuditEntry.seq < start + chunk,
                )
                .order_by(AuditEntry.seq)
            ).all()
            read += time.perf_counter() - began
            bodies = [bytes(body) for _, body, _ in rows]
            began = time.perf_counter()
            for body in bodies:
                sm3(b"\x00" + body)
            hashing.append(time.perf_counter() - began)
    return read, hashing


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=Settings().audit_verify_chunk)
    parser.add_argument("--checkpoints", type=int, default=1_000)
    args = parser.parse_args()
    interval = Settings().audit_verify_interval

    with tempfile.TemporaryDirectory(prefix="audit-verify-bench-") as tmp:
        db_path = Path(tmp) / "bench.db"
        url = f"sqlite:///{db_path}"
        began = time.perf_counter()
        tenant_id, key = build_log(db_path, args.entries, args.checkpoints)
        built = time.perf_counter() - began
        size_mb = db_path.stat().st_size / 1e6
        print(
            f"audit re-verification bench: {args.entries:,} entries, {args.checkpoints:,} "
            f"checkpoints, SQLite ({size_mb:,.0f} MB; built in {built:.1f} s, not measured)"
        )

        read, hashing = bare_select(url, tenant_id, args.entries, args.chunk)
        hashed = sum(hashing)

        integrity = LogIntegrity()
        reverifier = LogReverifier(
            sessions=session_factory(create_db_engine(url)),
            integrity=integrity,
            public_key=key.public_key,
            chunk=args.chunk,
        )
        began = time.perf_counter()
        steps = 1
        while not reverifier.step():
            steps += 1
        first = time.perf_counter() - began
        began = time.perf_counter()
        reverifier.run_pass()
        second = time.perf_counter() - began
        assert not integrity.failing(), integrity.failing()
        walk = integrity.last_walk(tenant_id)
        assert walk is not None and walk.entries == args.entries
        assert walk.checkpoints == args.checkpoints

        n = args.entries
        print(f"{'work':<52} {'seconds':>8} {'entries/s':>12}")
        rows = [
            ("baseline: bare SELECT seq, body, leaf_hash (chunks)", read),
            ("baseline: SM3 of the same bodies (in memory)", hashed),
            ("baseline: the two together", read + hashed),
            ("full pass, first (checkpoint signatures verified)", first),
            ("full pass, again (signatures known)", second),
        ]
        for label, seconds in rows:
            print(f"{label:<52} {seconds:>8.2f} {n / seconds:>12,.0f}")
        print(
            f"the second pass at {second / (read + hashed):.2f}x the bare read + SM3; "
            f"{steps} steps of {args.chunk:,} entries"
        )
        print(
            f"on the service's schedule (a step every {interval:g} s): a full pass of "
            f"{n:,} entries takes about {math.ceil(n / args.chunk) * interval + second:.0f} s "
            f"({math.ceil(n / args.chunk)} steps, {second / steps * 1000:.0f} ms of work each)"
        )


if __name__ == "__main__":
    main()
