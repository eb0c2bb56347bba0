"""Audit export and offline verification of 1,000,000 log entries.

Prints entries/s and the peak memory (max RSS) of each process, beside a same-run
baseline: the bare read of the same rows from the database into a plain zip member.
Targets (issue 4): at least 100,000 entries/s exported, peak memory under 300 MB.

    .venv/bin/python bench/export_bench.py [--entries N] [--postgres URL]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

KEY = "000102030405060708090a0b0c0d0e0f"
SIGNING = "11" * 32


def _env(db_url: str, data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "TRACE_DATABASE_URL": db_url,
        "TRACE_DATA_DIR": str(data_dir),
        "TRACE_MASTER_KEY": KEY,
        "TRACE_SIGNING_KEY": SIGNING,
    }


def seed(db_url: str, data_dir: Path, entries: int) -> str:
    """A tenant whose log holds ``entries`` entries, checkpointed; returns its id."""
    os.environ.update(_env(db_url, data_dir))
    from trace_api.audit import log as audit_log
    from trace_api.audit.scheduler import Checkpointer
    from trace_api.audit.trees import LogTrees
    from trace_api.db import create_db_engine, migrate, session_factory, transaction
    from trace_api.keystore import load_master_key, load_signing_key
    from trace_api.settings import Settings
    from trace_api.tenancy import service as tenancy_service

    settings = Settings()
    engine = create_db_engine(settings.resolved_database_url)
    migrate(engine)
    sessions = session_factory(engine)
    master_key, _ = load_master_key(settings)
    signing_key, _ = load_signing_key(settings)
    with transaction(sessions) as session:
        tenant, _ = tenancy_service.create_tenant(
            session=session, master_key=master_key, name=f"bench-{time.time_ns()}"
        )
    with transaction(sessions) as session:
        done = audit_log.log_size(session=session, tenant_id=tenant.id)
    batch = 50_000
    while done < entries:
        n = min(batch, entries - done)
        with transaction(sessions) as session:
            audit_log.append_many(
                session=session,
                tenant_id=tenant.id,
                changes=[
                    audit_log.Change(
                        "event.captured",
                        {"event": f"ev-{done + i}", "bizStep": "shipping", "count": 24},
                        items=[f"item-{(done + i) % 100_000}"],
                    )
                    for i in range(n)
                ],
            )
        done += n
        # the service checkpoints on a schedule while the log grows; so does the seed
        Checkpointer(sessions=sessions, signing_key=signing_key, trees=LogTrees()).run_once()
    engine.dispose()
    return tenant.id


def child_export(db_url: str, data_dir: Path, tenant_id: str, out: Path) -> None:
    os.environ.update(_env(db_url, data_dir))
    from trace_api.audit.export import ExportFilters, export_bundle
    from trace_api.audit.trees import LogTrees
    from trace_api.db import create_db_engine, session_factory
    from trace_api.keystore import load_signing_key
    from trace_api.settings import Settings

    settings = Settings()
    sessions = session_factory(create_db_engine(settings.resolved_database_url))
    signing_key, _ = load_signing_key(settings)
    started = time.perf_counter()
    with open(out, "wb") as handle:
        stats = export_bundle(
            sessions=sessions,
            tenant_id=tenant_id,
            filters=ExportFilters(),
            signing_key=signing_key,
            trees=LogTrees(),
            out=handle,
        )
    _report(stats.entries, time.perf_counter() - started)


def child_verify(bundle: Path) -> None:
    from compliance.verify import verify_bundle

    started = time.perf_counter()
    verdict = verify_bundle(bundle)
    elapsed = time.perf_counter() - started
    if not verdict.ok:
        print(verdict.describe(), file=sys.stderr)
        raise SystemExit(1)
    _report(verdict.entries, elapsed)


def child_baseline(db_url: str, tenant_id: str, out: Path) -> None:
    from sqlalchemy import select

    from trace_api.db import create_db_engine, session_factory, transaction
    from trace_api.models import AuditEntry

    sessions = session_factory(create_db_engine(db_url))
    started = time.perf_counter()
    count = 0
    with (
        transaction(sessions) as session,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive,
        archive.open("entries.jsonl", "w") as member,
    ):
        rows = session.connection().execute(
            select(AuditEntry.body)
            .where(AuditEntry.tenant_id == tenant_id)
            .order_by(AuditEntry.seq)
            .execution_options(stream_results=True, yield_per=20_000)
        )
        for (body,) in rows:
            member.write(body + b"\n")
            count += 1
    _report(count, time.perf_counter() - started)


def _report(entries: int, seconds: float) -> None:
    print(f"{entries} {seconds:.3f} {_peak_rss_kb()}")


def _peak_rss_kb() -> int:
    # VmHWM belongs to this process image; ru_maxrss would carry over the parent's peak,
    # which Linux keeps across fork and execve.
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _run_child(*args: str) -> tuple[int, float, float]:
    """Run this script as a child; return (entries, seconds, its peak RSS in MB)."""
    result = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"child {args[0]} failed:\n{result.stdout}\n{result.stderr}")
    entries, seconds, peak_kb = result.stdout.split()[-3:]
    return int(entries), float(seconds), int(peak_kb) / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--postgres", default=None, help="also run on this PostgreSQL URL")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, *rest = args.child
        if mode == "export":
            child_export(rest[0], Path(rest[1]), rest[2], Path(rest[3]))
        elif mode == "verify":
            child_verify(Path(rest[0]))
        else:
            child_baseline(rest[0], rest[1], Path(rest[2]))
        return

    targets = [("sqlite", None)]
    if args.postgres:
        targets.append(("postgresql", args.postgres))
    print(f"audit export bench: {args.entries:,} log entries per database")
    print(f"{'database':<11} {'work':<34} {'entries/s':>12} {'peak RSS MB':>12}")
    for name, url in targets:
        with tempfile.TemporaryDirectory(prefix="export-bench-") as tmp:
            data_dir = Path(tmp) / "trace"
            db_url = url or f"sqlite:///{tmp}/bench.db"
            started = time.perf_counter()
            tenant_id = seed(db_url, data_dir, args.entries)
            seed_rate = args.entries / (time.perf_counter() - started)
            print(f"{name:<11} {'seed (append_many, not measured)':<34} {seed_rate:>12,.0f}")
            base = _run_child("--child", "baseline", db_url, tenant_id, f"{tmp}/plain.zip")
            print(f"{name:<11} {'baseline: bare read into a zip':<34} {base[0] / base[1]:>12,.0f}")
            bundle = f"{tmp}/bundle.zip"
            exp = _run_child("--child", "export", db_url, str(data_dir), tenant_id, bundle)
            print(
                f"{name:<11} {'export (checkpoint + bundle)':<34} {exp[0] / exp[1]:>12,.0f} "
                f"{exp[2]:>12,.0f}"
            )
            ver = _run_child("--child", "verify", bundle)
            print(
                f"{name:<11} {'verify-bundle (offline)':<34} {ver[0] / ver[1]:>12,.0f} "
                f"{ver[2]:>12,.0f}"
            )
            size = Path(bundle).stat().st_size / 1e6
            print(
                f"{name:<11} export at {exp[0] / exp[1] / (base[0] / base[1]):.2f}x the bare "
                f"read; bundle {size:,.0f} MB for {exp[0]:,} entries"
            )


if __name__ == "__main__":
    main()
