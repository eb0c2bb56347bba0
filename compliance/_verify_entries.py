"""Bundle verification, steps 5 and 6: every entry against its logged leaf, then the multiproof.

One streaming pass over three members at once: line i of ``entries.jsonl``
goes with row i of ``entry_index.csv``, whose recorded leaf hashes feed a
`MultiproofVerifier` that pulls hashes from ``multiproof.txt`` as it needs
them. Memory stays O(log n) whatever the number of entries.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from compliance import _layout as layout
from compliance._bundle_files import BundleFiles
from compliance._findings import Findings
from compliance.checkpoint import Checkpoint
from compliance.entry import entry_position
from compliance.errors import MalformedEntry
from crypto.merkle import MultiproofVerifier
from crypto.sm3 import sm3

_MAX_ENTRY_LINE = 16 << 20
_MAX_SHORT_LINE = 256
_INDEX_ROW = re.compile(rb"(0|[1-9][0-9]{0,17}),([0-9a-f]{64})")
_PROOF_LINE = re.compile(rb"[0-9a-f]{64}")
_PROGRESS_EVERY = 10_000


@dataclass(frozen=True)
class EntryReport:
    """What steps 5 and 6 found."""

    entries: int
    multiproof_ok: bool


class _Proof:
    """multiproof.txt as an iterator of hashes; stops at (and remembers) a malformed line."""

    def __init__(self, lines: Iterator[bytes]) -> None:
        self._lines = lines
        self.bad_line: int | None = None
        self.count = 0

    def __iter__(self) -> Iterator[bytes]:
        for line in self._lines:
            self.count += 1
            if not _PROOF_LINE.fullmatch(line):
                self.bad_line = self.count
                return
            yield bytes.fromhex(line.decode("ascii"))


def check_entries(
    files: BundleFiles,
    findings: Findings,
    *,
    tenant_id: str,
    log_id: str,
    latest: Checkpoint | None,
    listed_count: int,
    progress: Callable[[int, int], None] | None,
) -> EntryReport:
    """Check every entry line and the multiproof of their logged leaves against `latest`."""
    findings.step = 5
    rows = files.lines(layout.ENTRY_INDEX, max_line=_MAX_SHORT_LINE)
    if next(rows, None) != layout.ENTRY_INDEX_HEADER:
        findings.fail(layout.ENTRY_INDEX, "does not start with the header line 'seq,leaf_hash'")
    proof = _Proof(files.lines(layout.MULTIPROOF, max_line=_MAX_SHORT_LINE))
    proof_elements = iter(proof)
    verifier = MultiproofVerifier(latest.size, proof_elements) if latest is not None else None
    count, previous, surplus = 0, -1, 0
    uncovered: int | None = None
    for line in files.lines(layout.ENTRIES, max_line=_MAX_ENTRY_LINE):
        count += 1
        if progress is not None and count % _PROGRESS_EVERY == 0:
            progress(count, listed_count)
        row = next(rows, None)
        if row is None:
            surplus += 1
            continue
        match = _INDEX_ROW.fullmatch(row)
        if match is None:
            findings.fail(layout.ENTRY_INDEX, f"row {count} is not 'seq,leaf_hash'")
            _check_line(findings, f"{layout.ENTRIES} line {count}", line, None, tenant_id, log_id)
            continue
        seq, recorded = int(match[1]), bytes.fromhex(match[2].decode("ascii"))
        if seq <= previous:
            findings.fail(layout.ENTRY_INDEX, f"row {count}: seq {seq} does not follow {previous}")
        previous = max(previous, seq)
        if (
            verifier is not None
            and not verifier.failed
            and not verifier.add_leaf(seq, recorded)
            and latest is not None
            and seq >= latest.size
        ):
            uncovered = seq
        if sm3(b"\x00" + line) != recorded:
            findings.fail_entry(
                f"entry seq {seq}",
                "its content does not match the leaf hash the log recorded for it",
            )
            continue
        _check_line(findings, f"entry seq {seq}", line, seq, tenant_id, log_id)
    if surplus:
        findings.fail(layout.ENTRIES, f"has {surplus} more line(s) than entry_index.csv rows")
    extra_rows = sum(1 for _ in rows)
    if extra_rows:
        findings.fail(layout.ENTRY_INDEX, f"has {extra_rows} more row(s) than entries.jsonl lines")
    if findings.entry_failures > findings.max_entry_failures:
        hidden = findings.entry_failures - findings.max_entry_failures
        findings.fail(layout.ENTRIES, f"{hidden:,} more entries fail (not listed)")
    if count != listed_count:
        findings.fail(
            layout.MANIFEST, f"lists {listed_count:,} entries, the bundle holds {count:,}"
        )
    if progress is not None:
        progress(count, listed_count)
    findings.step = 6
    multiproof_ok = _check_multiproof(findings, verifier, latest, proof, count, uncovered)
    for _ in proof_elements:  # read the rest, so that the file's digest gets checked
        pass
    return EntryReport(entries=count, multiproof_ok=multiproof_ok)


def _check_line(
    findings: Findings, where: str, line: bytes, seq: int | None, tenant_id: str, log_id: str
) -> None:
    try:
        entry_log, entry_tenant, entry_seq = entry_position(line)
    except MalformedEntry as exc:
        findings.fail_entry(where, f"is not a log entry: {exc}")
        return
    if seq is not None and entry_seq != seq:
        findings.fail_entry(where, f"says it is seq {entry_seq}")
    elif (entry_tenant, entry_log) != (tenant_id, log_id):
        findings.fail_entry(where, f"belongs to tenant {entry_tenant!r} (log {entry_log!r})")


def _check_multiproof(
    findings: Findings,
    verifier: MultiproofVerifier | None,
    latest: Checkpoint | None,
    proof: _Proof,
    count: int,
    uncovered: int | None,
) -> bool:
    if verifier is None or latest is None:
        return False  # no checkpoint: reported already
    root_ok = verifier.verify(latest.root)
    if proof.bad_line is not None:
        findings.fail(layout.MULTIPROOF, f"line {proof.bad_line} is not a 64-digit hex hash")
    elif uncovered is not None:
        findings.fail(
            layout.ENTRY_INDEX,
            f"seq {uncovered} lies beyond the latest checkpoint (size {latest.size})",
        )
    elif not root_ok:
        findings.fail(
            layout.MULTIPROOF,
            f"the {count:,} logged leaf hashes and multiproof.txt do not reproduce the root "
            f"of checkpoint size {latest.size}",
        )
    return root_ok
