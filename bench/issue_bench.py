"""Issuing codes end to end: seal, hash, tree, store, anchor; on SQLite and PostgreSQL.

Run: .venv/bin/python bench/issue_bench.py [--codes 1000000] [--workers 2] [--no-postgres]

For each database: one batch of ``--codes`` codes issued with `issue_codes` (serials,
SM4-GCM sealing and leaf hashing in worker processes, rows written by executemany on
SQLite / COPY on PostgreSQL, tree, anchor job, audit entry), committed, then anchored on
the embedded chain by the worker. Printed beside it, measured in the same run: raw SM4-GCM
seals per second on one core (`cryptography`, one GCM context per message) and bulk seals
(`Keyring.seal_many`, what issuing uses), the floor the per-code work stands on,
and a single-process breakdown of the stages. PostgreSQL is the server named by
TRACE_TEST_POSTGRES_URL (default: the local one), in a scratch schema dropped afterwards.

The CPU time the issue took in this process and in the sealing workers (from /proc) is
printed per code too: with other processes on the machine, codes per second drop, while
CPU per code stays the work an issue costs. Committing includes SQLite's checkpoint, which
copies the write-ahead log into the database file and syncs it.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import secrets
import sqlite3
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TypeVar

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from pydantic import SecretStr
from scratch_postgres import scratch_schema

from crypto import sm4
from crypto.envelope import Keyring
from crypto.merkle import MerkleTree
from crypto.serials import new_serials
from crypto.sm3 import sm3
from trace_api.anchoring.gateway import ChainGateway
from trace_api.anchoring.worker import AnchorWorker
from trace_api.codes import service as codes_service
from trace_api.codes.issuing import CHUNK, SealerPool, issue_codes
from trace_api.codes.payload import BatchFacts, leaf_input, templates
from trace_api.codes.sealing import SealJob, seal_chunk
from trace_api.codes.serial_slices import draw_slice, slice_of
from trace_api.db import (
    create_db_engine,
    migrate,
    session_factory,
    transaction,
    wal_checkpointer,
)
from trace_api.settings import Settings
from trace_api.tenancy import service as tenancy_service

T = TypeVar("T")
MASTER_KEY = bytes(range(16))
FACTS = BatchFacts(
    tenant_id="00000000-0000-0000-0000-000000000000",
    batch_id="00000000-0000-0000-0000-000000000001",
    gtin="09506000134352",
    product="龙井绿茶 250 g",
    brand="西湖",
    lot="L2026-11-25A",
    production_date=date(2026, 11, 25),
    expiry=date(2028, 11, 24),
    factory="杭州二厂",
    allocation=None,
)


def _timed(work: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, result


def raw_seals_per_second(n: int) -> tuple[float, float, int]:
    """SM4-GCM seals of payloads of the benchmark's size, per second, on one core.

    Two same-run baselines: `cryptography` with one GCM context per message (what a seal
    costs through the library alone), and `Keyring.seal_many`, which seals groups of
    same-length payloads together (`crypto._gcm_bulk`) and is what issuing runs.
    """
    parts = templates(FACTS)
    serials = new_serials(n)
    items = [
        (f"{parts.payload[0]}{i}{parts.payload[1]}{s}{parts.payload[2]}".encode(), s.encode())
        for i, s in enumerate(serials)
    ]
    key = sm4.generate_key()

    def per_context() -> None:
        for plaintext, associated_data in items:
            sm4.seal(key, plaintext, associated_data)

    keyring = Keyring.new("dk-bench")
    single, _ = _timed(per_context)
    bulk, _ = _timed(lambda: keyring.seal_many(items))
    return n / single, n / bulk, len(items[0][0])


def stage_breakdown(n: int) -> list[tuple[str, float]]:
    """Microseconds per code of each stage, in one process (what the pipeline overlaps)."""
    parts = templates(FACTS)
    keyring = Keyring.new("dk-bench")
    transport = bytes(16)
    job = SealJob(
        transport_key=transport,
        wrapped_key=keyring.wrapped_keys(transport)["dk-bench"],
        key_id="dk-bench",
        payload_parts=parts.payload,
        leaf_parts=parts.leaf,
    )
    rows: list[tuple[str, float]] = []

    def draw() -> list[str]:
        drawn: list[str] = []
        for at in range(0, n, CHUNK):
            count = min(CHUNK, n - at)
            drawn += draw_slice(*slice_of(at, count, n), count)
        return drawn

    t, serials = _timed(draw)
    rows.append(("serials (CSPRNG in slices, base32, check)", t))
    t, _ = _timed(lambda: keyring.seal_many([(b"x" * 250, s.encode()) for s in serials]))
    rows.append(("SM4-GCM seal (250-byte payload)", t))
    t, chunk = _timed(lambda: seal_chunk(job, 0, serials))
    rows.append(("payload + seal + leaves + chunk root", t))
    leaves = [chunk.leaves[i : i + 32] for i in range(0, len(chunk.leaves), 32)]
    t, _ = _timed(lambda: MerkleTree.from_leaf_hashes(leaves).root())
    rows.append(("Merkle tree of the leaves", t))
    sealed = keyring.seal_many([(b"x" * 329, s.encode()) for s in serials])
    t, _ = _timed(lambda: _bare_insert(serials, sealed))
    rows.append((BARE_INSERT, t))
    return [(name, seconds / n * 1e6) for name, seconds in rows]


def primitive_floor(payload: int, sealed: int, leaf_input: int) -> list[tuple[str, float]]:
    """Microseconds per code that SM4, SM3 and the CSPRNG take on their own, on one core.

    Each is timed on one large buffer (no per-message calls at all) and scaled by the
    blocks a code needs: SM4 on its payload's counter blocks and the tag mask; SM3 on the
    sealed envelope, the leaf input and, on average, one inner node (64 bytes of
    children), each with its padding. What a pipeline spends above this is per-item work.
    """
    size = 32 << 20
    buffer = bytes(size)
    encrypt = Cipher(algorithms.SM4(bytes(16)), modes.ECB()).encryptor()
    sm4_seconds, _ = _timed(lambda: encrypt.update(buffer))
    sm3_seconds, _ = _timed(lambda: sm3(buffer))
    csprng_seconds, _ = _timed(lambda: os.urandom(size))
    sm4_blocks = -(-payload // 16) + 1
    sm3_blocks = sum(-(-(n + 9) // 64) for n in (sealed, 1 + leaf_input, 65))
    random_bytes = 12 + 10  # the nonce, and a serial's 80 bits
    return [
        (f"SM4 on {sm4_blocks} blocks", sm4_seconds / size * 16 * sm4_blocks * 1e6),
        (f"SM3 on {sm3_blocks} blocks", sm3_seconds / size * 64 * sm3_blocks * 1e6),
        (f"CSPRNG, {random_bytes} bytes", csprng_seconds / size * random_bytes * 1e6),
    ]


BARE_INSERT = "SQLite executemany, bare table in memory"
FLOOR_STAGES = ("serials", "payload + seal + leaves + chunk root", BARE_INSERT)


def _bare_insert(serials: list[str], sealed: list[bytes]) -> None:
    """The same rows into a table with no index, key or constraint: the writer's floor."""
    connection = sqlite3.connect(":memory:", isolation_level=None)
    connection.execute("CREATE TABLE codes (issuance_id, idx, serial, sealed)")
    connection.execute("BEGIN")
    connection.executemany(
        "INSERT INTO codes VALUES (1, ?, ?, ?)",
        zip(range(len(serials)), serials, sealed, strict=True),
    )
    connection.execute("COMMIT")
    connection.close()


def _setup(url: str, data_dir: Path, count: int) -> tuple[object, object, int]:
    engine = create_db_engine(url)
    migrate(engine)
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        tenant, _ = tenancy_service.create_tenant(
            session=session, master_key=MASTER_KEY, name=f"bench {secrets.token_hex(4)}"
        )
        product = codes_service.create_product(
            session=session, tenant_id=tenant.id, gtin=FACTS.gtin, name=FACTS.product,
            brand=FACTS.brand,
        )  # fmt: skip
        batch = codes_service.create_batch(
            session=session, tenant_id=tenant.id, product_id=product.id, lot=FACTS.lot,
            production_date=FACTS.production_date, factory=FACTS.factory, expiry=FACTS.expiry,
        )  # fmt: skip
        issuance = codes_service.start_issuance(
            session=session, tenant_id=tenant.id, batch_id=batch.id, count=count,
            with_pins=False, allocation=None, max_count=count, actor="bench",
        )  # fmt: skip
    return engine, sessions, issuance.id


def run_one(label: str, url: str, count: int, workers: int, data_dir: Path) -> dict[str, float]:
    """Issue ``count`` codes into the database at ``url`` and anchor them."""
    engine, sessions, issuance_id = _setup(url, data_dir, count)
    settings = Settings(
        env="test", data_dir=data_dir, database_url=url, master_key=SecretStr(MASTER_KEY.hex()),
        chain_url="embedded", worker_in_process=False,
    )  # fmt: skip
    gateway = ChainGateway(settings, sessions)  # type: ignore[arg-type]
    gateway.contract()  # deploy first: a running service is connected already
    worker = AnchorWorker(sessions=sessions, gateway=gateway, confirmations=1)  # type: ignore[arg-type]
    pool = SealerPool(workers)
    pool_start, _ = _timed(pool.start)
    from trace_api.models import CodeIssuance

    children = multiprocessing.active_children()  # the sealing workers
    workers_cpu = sum(_cpu_seconds(child.pid) for child in children)
    parent_cpu = time.process_time()
    start = time.perf_counter()
    with transaction(sessions) as session:  # type: ignore[arg-type]
        issuance = session.get(CodeIssuance, issuance_id)
        assert issuance is not None
        keyring = tenancy_service.tenant_keyring(
            session=session, master_key=MASTER_KEY, tenant_id=issuance.tenant_id
        )
        issue_codes(session=session, issuance=issuance, keyring=keyring, pin_key=None, sealers=pool)
        written = time.perf_counter()
    committed = time.perf_counter()
    parent_cpu = time.process_time() - parent_cpu
    workers_cpu = sum(_cpu_seconds(child.pid) for child in children) - workers_cpu
    report = worker.run_until_idle()
    anchored = time.perf_counter()
    assert report.confirmed == 1, report
    checkpointer = wal_checkpointer(engine)  # type: ignore[arg-type]
    if checkpointer is not None:  # SQLite copies its log into the file in the background
        checkpointer.nudge()
        checkpointer.wait()
    checkpointed = time.perf_counter()
    pool.close()
    gateway.close()
    engine.dispose()  # type: ignore[attr-defined]
    return {
        "pool_start": pool_start,
        "issue": written - start,
        "commit": committed - written,
        "anchor": anchored - committed,
        "total": anchored - start,
        "checkpoint": checkpointed - committed,
        "parent_cpu": parent_cpu,
        "workers_cpu": workers_cpu,
    }


def _cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of process ``pid`` so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codes", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    print(f"issuing {args.codes:,} codes per database, {args.workers} sealing processes, "
          f"{os.cpu_count()} cores")  # fmt: skip

    seals, bulk_seals, payload_size = raw_seals_per_second(min(args.codes, 300_000))
    print(f"\nbaselines, same run, one core, {payload_size}-byte payloads: raw SM4-GCM seals "
          f"(cryptography, a GCM context each) {seals:,.0f}/s; bulk seals "
          f"(Keyring.seal_many, crypto._gcm_bulk) {bulk_seals:,.0f}/s")  # fmt: skip
    print("\nstages, one process, µs per code:")
    stages = stage_breakdown(min(args.codes, 200_000))
    for name, micros in stages:
        print(f"  {name:<40}{micros:>8.2f}")
    floor = sum(micros for name, micros in stages if name.startswith(FLOOR_STAGES))
    sealed = Keyring.new("dk-bench").seal_many([(b"x" * payload_size, b"0" * 17)])[0]
    leaf_size = len(leaf_input(templates(FACTS).leaf, sealed, "0" * 17))
    primitives = primitive_floor(payload_size, len(sealed), leaf_size)
    bare_insert = dict(stages)[BARE_INSERT]
    cores = os.cpu_count() or 1
    print(f"  CPU floor per code (serials, sealing with leaves, bare insert): {floor:.1f} µs, "
          f"so at most {cores / floor * 1e6:,.0f} codes/s on {cores} cores")  # fmt: skip
    print("\nthe primitives alone, µs per code (one large buffer each, no per-item calls):")
    for name, micros in primitives:
        print(f"  {name:<40}{micros:>8.2f}")
    bare = sum(micros for _, micros in primitives) + bare_insert
    print(f"  with the bare insert: {bare:.1f} µs, so at most {cores / bare * 1e6:,.0f} codes/s on "
          f"{cores} cores if every per-item step cost nothing beyond its primitive")  # fmt: skip

    results: list[tuple[str, dict[str, float]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        sqlite_url = f"sqlite:///{tmp}/bench.db"
        sqlite_run = run_one("SQLite", sqlite_url, args.codes, args.workers, Path(tmp))
        results.append(("SQLite", sqlite_run))
        if not args.no_postgres:
            with scratch_schema() as url:
                results.append(
                    ("PostgreSQL", run_one("PostgreSQL", url, args.codes, args.workers, Path(tmp)))
                )

    n = args.codes
    print(f"\n{'database':<12}{'issue s':>9}{'commit s':>10}{'anchor s':>10}{'total s':>9}"
          f"{'codes/s':>11}{'e2e codes/s':>13}{'vs raw seals':>14}"
          f"{'CPU µs/code: parent + workers':>32}{'log copied s':>14}")  # fmt: skip
    for label, r in results:
        stored = n / (r["issue"] + r["commit"])
        e2e = n / r["total"]
        cpu = f"{r['parent_cpu'] / n * 1e6:.1f} + {r['workers_cpu'] / n * 1e6:.1f}"
        print(f"{label:<12}{r['issue']:>9.2f}{r['commit']:>10.2f}{r['anchor']:>10.2f}"
              f"{r['total']:>9.2f}{stored:>11,.0f}{e2e:>13,.0f}{e2e / seals:>13.2f}x"
              f"{cpu:>32}{r['checkpoint']:>14.2f}")  # fmt: skip
    print(f"{'raw seals':<12}{'':>9}{'':>10}{'':>10}{n / seals:>9.2f}{seals:>11,.0f}")
    print(f"{'bulk seals':<12}{'':>9}{'':>10}{'':>10}{n / bulk_seals:>9.2f}{bulk_seals:>11,.0f}")
    print("\ncodes/s: issued and committed; e2e: including the anchor transaction confirmed "
          "on the embedded chain. Worker start-up (spawn) is paid once per process and not "
          f"counted: {results[0][1]['pool_start']:.2f} s. CPU: issue and commit, in this "
          "process and in the sealing workers. Log copied: on SQLite, seconds from the commit "
          "until the background checkpoint has copied the write-ahead log into the database file "
          "(trace_api/sqlite_wal.py); nothing waits for it.")  # fmt: skip
    print("target: 100,000 codes/s on SQLite.")


if __name__ == "__main__":
    main()
