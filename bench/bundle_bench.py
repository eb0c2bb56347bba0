"""Measure the audit bundle writer and verifier on a synthetic log of 1,000,000 entries.

Not a test (pytest does not collect it) and it asserts nothing: it prints
entries/s and peak memory growth beside a same-run baseline, the bare
generation of the same entries (what a database cursor would cost instead).

    .venv/bin/python bench/bundle_bench.py [--entries N] [--stored]

Each phase runs in its own process, so each peak RSS (ru_maxrss) is its own.
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from compliance.bundle import BundleEntry, CheckpointRecord, write_bundle  # noqa: E402
from compliance.checkpoint import Checkpoint, sign_checkpoint  # noqa: E402
from crypto import sm2  # noqa: E402
from crypto.merkle import MerkleTree  # noqa: E402
from crypto.sm3 import sm3  # noqa: E402

TENANT = "acme"
LOG = "tracechain/audit/acme"
START = datetime(2026, 1, 1, tzinfo=UTC)
KINDS = ("code.issued", "event.captured", "event.captured", "invoice.issued", "alert.raised")
# About 200 bytes, canonical (keys sorted, no spaces): what entry_body makes for a small change.
# The digest makes the entries as hard to compress as real ones (ids, hashes).
TEMPLATE = (
    '{{"actor":"key_{actor:04x}","at":"{at}","data":{{"digest":"{digest}","n":{seq}}},'
    '"items":["item-{seq:07d}"],"kind":"{kind}","log":"{log}","org":"org-{org}","seq":{seq},'
    '"tenant":"{tenant}","v":1}}'
)


def _reset_peak() -> float:
    """Restart peak-RSS accounting (Linux: clear_refs 5 resets VmHWM); return the RSS now."""
    with contextlib.suppress(OSError):  # elsewhere the peak includes what came before
        Path("/proc/self/clear_refs").write_text("5")
    return _status_mb("VmRSS")


def _peak_mb() -> float:
    return _status_mb("VmHWM")


def _status_mb(field: str) -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _entry(seq: int) -> tuple[bytes, str, datetime]:
    at = START + timedelta(seconds=seq * 3)
    kind = KINDS[seq % len(KINDS)]
    body = TEMPLATE.format(
        actor=seq % 5000,
        at=at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        digest=sm3(seq.to_bytes(8, "big")).hex()[:16],
        seq=seq,
        kind=kind,
        log=LOG,
        org=seq % 17,
        tenant=TENANT,
    )
    return body.encode(), kind, at


def _entries(n: int, tree: MerkleTree) -> Iterator[BundleEntry]:
    leaf_at = tree.leaf_hash_at
    for seq in range(n):
        body, kind, at = _entry(seq)
        yield BundleEntry(seq=seq, body=body, leaf_hash=leaf_at(seq), kind=kind, at=at)


def _log(n: int, key: sm2.PrivateKey) -> tuple[MerkleTree, list[CheckpointRecord]]:
    tree = MerkleTree.from_leaf_hashes(sm3(b"\x00" + _entry(seq)[0]) for seq in range(n))
    records: list[CheckpointRecord] = []
    previous: Checkpoint | None = None
    for size in (n // 4, n // 2, n):
        cp = Checkpoint(
            LOG,
            TENANT,
            size,
            tree.root(size),
            START + timedelta(days=size // 1000),
            previous.size if previous else None,
            previous.root if previous else None,
        )
        records.append(CheckpointRecord(cp, sign_checkpoint(key, cp)))
        previous = cp
    return tree, records


def write_phase(n: int, out: Path, compress: bool) -> None:
    key = sm2.PrivateKey.generate()
    tree, records = _log(n, key)
    start = time.perf_counter()
    for _ in _entries(n, tree):
        pass
    baseline = time.perf_counter() - start
    before = _reset_peak()
    start = time.perf_counter()
    with out.open("wb") as handle:
        stats = write_bundle(
            handle,
            tenant_id=TENANT,
            log_id=LOG,
            signing_key=key,
            entries=_entries(n, tree),
            tree=tree,
            checkpoints=records,
            witnesses=[],
            filters={},
            created_at=datetime.now(UTC),
            compress=compress,
        )
    elapsed = time.perf_counter() - start
    size = out.stat().st_size
    print(f"entries: {stats.entries:,}, {stats.entry_bytes / stats.entries:.0f} bytes each")
    print(f"baseline, generating the entries alone: {baseline:.2f} s ({n / baseline:,.0f}/s)")
    print(
        f"write_bundle ({'deflate-1' if compress else 'stored'}), generation included: "
        f"{elapsed:.2f} s = {n / elapsed:,.0f} entries/s; "
        f"writer alone ~{n / max(elapsed - baseline, 1e-9):,.0f} entries/s"
    )
    growth = _peak_mb() - before
    print(f"bundle: {size / 1e6:.1f} MB; peak RSS growth while writing: {growth:.0f} MB")


def verify_phase(path: Path) -> None:
    from compliance.verify import verify_bundle

    before = _reset_peak()
    start = time.perf_counter()
    verdict = verify_bundle(path)
    elapsed = time.perf_counter() - start
    print(f"verify_bundle: ok={verdict.ok}, {verdict.entries:,} entries in {elapsed:.2f} s")
    growth = _peak_mb() - before
    print(f"  = {verdict.entries / elapsed:,.0f} entries/s; peak RSS growth {growth:.0f} MB")
    if not verdict.ok:
        print(verdict.describe())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--stored", action="store_true", help="ZIP_STORED instead of DEFLATE-1")
    parser.add_argument("--phase", choices=["write", "verify"], help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "write":
        write_phase(args.entries, args.out, not args.stored)
        return
    if args.phase == "verify":
        verify_phase(args.out)
        return
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bundle.zip"
        me = [sys.executable, __file__, "--entries", str(args.entries), "--out", str(out)]
        stored = ["--stored"] if args.stored else []
        subprocess.run([*me, "--phase", "write", *stored], check=True)
        subprocess.run([*me, "--phase", "verify"], check=True)


if __name__ == "__main__":
    main()
