"""Recounting scan records: against each code's counter, and against the tenant's seals.

What a compliance officer (or anyone with the database and the checkpointed log) checks.
In this order, each failure a finding that names the code or the seal:

1. every `scans.sealed` entry still hashes to its logged leaf (the checkpoints sign those
   leaves; `trace verify-bundle` checks them against the chain), and the seals tile the
   id line: each starts where the previous one ended;
2. the tenant's records in each sealed range are as many as were sealed and reproduce the
   sealed Merkle root: fewer is records deleted, more is records added, the same count
   with another root is records changed;
3. each code's counter against its records: a counter behind its records was set back
   (the scan page then shows the records' count and warns), a counter ahead of them, or
   records numbered past their count, means records were deleted (or the counter raised);
   the first scan the code's state shows is its first record's.

Records after the last seal are counted as unsealed (they are sealed in the next round).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from compliance.entry import entry_leaf_hash
from trace_api.models import Code, CodeIssuance, CodeScan, CodeState
from trace_api.resolver.seals import RECORDS, parse_seal, records_root, seal_entries, utc

MAX_FINDINGS = 1_000


@dataclass(frozen=True, slots=True)
class ScanFinding:
    """One disagreement: which check, what was found, and the code or seal it concerns."""

    check: str
    detail: str
    serial: str | None = None
    entry_seq: int | None = None
    from_id: int | None = None
    to_id: int | None = None


@dataclass(frozen=True, slots=True)
class CodeCount:
    """A code's counter beside its records."""

    serial: str
    counter: int
    records: int
    last_seq: int


@dataclass
class ScanRecount:
    """The verdict of a recount: ``ok`` only when there is no finding."""

    findings: list[ScanFinding] = field(default_factory=list)
    seals: int = 0
    sealed_records: int = 0
    unsealed_records: int = 0
    codes_checked: int = 0
    code: CodeCount | None = None
    more_findings: int = 0

    @property
    def ok(self) -> bool:
        return not self.findings

    def add(self, finding: ScanFinding) -> None:
        if len(self.findings) < MAX_FINDINGS:
            self.findings.append(finding)
        else:
            self.more_findings += 1


def recount(*, session: Session, tenant_id: str, code_id: int | None = None) -> ScanRecount:
    """Recount the tenant's seals, and one code's records (or every code's, if None)."""
    result = ScanRecount()
    last_to = _recount_seals(session, tenant_id, result)
    result.unsealed_records = _records_after(session, tenant_id, last_to)
    _recount_codes(session, tenant_id, code_id, result)
    return result


def _recount_seals(session: Session, tenant_id: str, result: ScanRecount) -> int:
    previous_to = 0
    for seq, body, leaf in seal_entries(session, tenant_id):
        body = bytes(body)
        if entry_leaf_hash(body) != bytes(leaf):
            result.add(
                ScanFinding(
                    "seal_entry_changed",
                    f"the scans.sealed entry seq {seq} no longer hashes to its logged leaf",
                    entry_seq=seq,
                )
            )
        try:
            seal = parse_seal(seq, body)
        except (KeyError, TypeError, ValueError):
            detail = f"entry seq {seq} holds no seal"
            result.add(ScanFinding("seal_entry_changed", detail, entry_seq=seq))
            continue
        span = {"entry_seq": seq, "from_id": seal.from_id, "to_id": seal.to_id}
        if seal.from_id != previous_to:
            result.add(
                ScanFinding(
                    "seal_chain",
                    f"the seal in entry seq {seq} starts after record id {seal.from_id}, "
                    f"where the previous seal ended at {previous_to}",
                    **span,
                )
            )
        rows = session.connection().execute(
            RECORDS.execution_options(yield_per=10_000),
            {"tenant_id": tenant_id, "after": seal.from_id, "upto": seal.to_id},
        )
        count, _, root = records_root(iter(rows))
        where = f"records {seal.from_id + 1}..{seal.to_id} sealed in entry seq {seq}"
        if count != seal.count:
            what = "deleted" if count < seal.count else "added"
            result.add(
                ScanFinding(
                    "seal_count",
                    f"{where}: {seal.count} were sealed, {count} are there: records were {what}",
                    **span,
                )
            )
        elif root != seal.root:
            result.add(
                ScanFinding(
                    "seal_root",
                    f"{where}: as many as were sealed, but they no longer reproduce the sealed "
                    "root: records were changed",
                    **span,
                )
            )
        result.seals += 1
        result.sealed_records += seal.count
        previous_to = seal.to_id
    return previous_to


def _records_after(session: Session, tenant_id: str, after: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(CodeScan)
            .join(Code, Code.id == CodeScan.code_id)
            .join(CodeIssuance, CodeIssuance.id == Code.issuance_id)
            .where(CodeIssuance.tenant_id == tenant_id, CodeScan.id > after)
        )
        or 0
    )


def _recount_codes(
    session: Session, tenant_id: str, code_id: int | None, result: ScanRecount
) -> None:
    counts = select(
        CodeScan.code_id, func.count().label("n"), func.max(CodeScan.seq).label("last")
    ).group_by(CodeScan.code_id)
    if code_id is not None:
        counts = counts.where(CodeScan.code_id == code_id)
    tally = counts.subquery()
    first = aliased(CodeScan)
    query = (
        select(
            Code.serial,
            CodeState.scan_count,
            CodeState.first_scan_at,
            tally.c.n,
            tally.c.last,
            first.scanned_at,
        )
        .select_from(Code)
        .join(CodeIssuance, CodeIssuance.id == Code.issuance_id)
        .outerjoin(CodeState, CodeState.code_id == Code.id)
        .outerjoin(tally, tally.c.code_id == Code.id)
        .outerjoin(first, and_(first.code_id == Code.id, first.seq == 1))
        .where(CodeIssuance.tenant_id == tenant_id)
    )
    if code_id is not None:
        query = query.where(Code.id == code_id)
    else:
        query = query.where(or_(CodeState.code_id.is_not(None), tally.c.code_id.is_not(None)))
    for row in session.execute(query.execution_options(yield_per=10_000)):
        count = _check_code(result, *row)
        result.codes_checked += 1
        if code_id is not None:
            result.code = count


def _check_code(
    result: ScanRecount,
    serial: str,
    counter: int | None,
    first_scan_at: datetime | None,
    records: int | None,
    last: int | None,
    first_record_at: datetime | None,
) -> CodeCount:
    count = CodeCount(serial, int(counter or 0), int(records or 0), int(last or 0))
    said: dict[str, Any] = {"serial": serial}
    if count.counter < count.last_seq:
        result.add(
            ScanFinding(
                "counter_behind_records",
                f"code {serial}: its counter says {count.counter} scans, its records run to "
                f"scan {count.last_seq}: the counter was set back",
                **said,
            )
        )
    elif count.counter > count.records:
        result.add(
            ScanFinding(
                "counter_ahead_of_records",
                f"code {serial}: its counter says {count.counter} scans, {count.records} "
                "records are there: records were deleted (or the counter raised)",
                **said,
            )
        )
    if count.records < count.last_seq:
        result.add(
            ScanFinding(
                "records_missing",
                f"code {serial}: its records run to scan {count.last_seq}, but "
                f"{count.last_seq - count.records} of them are not there: they were deleted",
                **said,
            )
        )
    if first_record_at is not None and (
        first_scan_at is None or utc(first_scan_at) != utc(first_record_at)
    ):
        result.add(
            ScanFinding(
                "first_scan_changed",
                f"code {serial}: its state says first scanned "
                f"{first_scan_at.isoformat() if first_scan_at else 'never'}, its first record "
                f"says {utc(first_record_at).isoformat()}",
                **said,
            )
        )
    return count
