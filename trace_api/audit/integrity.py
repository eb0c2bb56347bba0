"""What this process knows about the integrity of the tenants' stored audit logs.

A finding (an entry whose body no longer hashes to its logged leaf, a missing entry, a
checkpoint the stored leaves no longer reproduce or whose signature fails, a log shorter
than this process has seen it) is kept here, in memory only, for the life of the
process: nothing a database writer does can clear it. A restart forgets it, and the
re-verifier's first pass, which starts at once, finds again whatever is still wrong.
While a tenant has a finding the service signs no checkpoint and exports no bundle of
its log.

The high-water mark of a log is the largest size this process has seen it at: a
committed append through this process, an ``audit_heads`` row read by the re-verifier,
a tree loaded for a checkpoint. The log and its head only ever grow, so anything below
the mark is a deletion.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from trace_api.audit import log as audit_log
from trace_api.models import utcnow

_log = logging.getLogger(__name__)

MAX_FINDINGS = 100
"""Findings kept per tenant; past that a log is flagged as holding more."""


@dataclass(frozen=True)
class IntegrityFinding:
    """One thing about a tenant's stored log that does not hold.

    `where` names the place ("entry seq 42", "checkpoint size 1000", "log size");
    `seq` or `checkpoint` repeat it as a number when there is one.
    """

    tenant_id: str
    where: str
    reason: str
    seq: int | None = None
    checkpoint: int | None = None
    found_at: datetime = field(default_factory=utcnow)

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass(frozen=True)
class LogWalk:
    """A complete walk of one tenant's log by the re-verifier."""

    entries: int
    checkpoints: int
    finished_at: datetime


@dataclass(frozen=True)
class ReverifierStatus:
    """Where the background re-verifier stands (every figure is this process's)."""

    running: bool
    interval: float | None
    chunk: int | None
    passes: int
    last_pass_finished_at: datetime | None
    last_pass_seconds: float | None
    current_pass_started_at: datetime | None
    entries_this_pass: int


@dataclass
class _TenantRecord:
    findings: dict[str, IntegrityFinding] = field(default_factory=dict)
    truncated: bool = False
    high_water_mark: int = 0
    last_walk: LogWalk | None = None


class LogIntegrity:
    """Findings, high-water marks and re-verification progress of every tenant's log.

    Thread-safe: request threads, the checkpointer, the exporter and the re-verifier all
    report here. `on_finding` (a hook wired where the app is composed) hears each new
    finding once, after it was logged at CRITICAL.
    """

    def __init__(self, *, on_finding: Callable[[IntegrityFinding], None] | None = None) -> None:
        self._guard = threading.Lock()
        self._tenants: dict[str, _TenantRecord] = {}
        self._on_finding = on_finding
        self._status = ReverifierStatus(False, None, None, 0, None, None, None, 0)

    # -- findings -------------------------------------------------------------------------

    def report(self, finding: IntegrityFinding) -> bool:
        """Keep `finding`; True when it is new (one per place: the first reason found stays)."""
        with self._guard:
            record = self._record(finding.tenant_id)
            if finding.where in record.findings:
                return False
            if len(record.findings) >= MAX_FINDINGS:
                record.truncated = True
                return False
            record.findings[finding.where] = finding
        _log.critical(
            "audit log of tenant %s fails its integrity check: %s",
            finding.tenant_id,
            finding,
            extra={"alert": "audit_log_integrity", "tenant_id": finding.tenant_id},
        )
        if self._on_finding is not None:
            self._on_finding(finding)
        return True

    def findings(self, tenant_id: str) -> tuple[IntegrityFinding, ...]:
        """The tenant's findings, in the order found."""
        with self._guard:
            record = self._tenants.get(tenant_id)
            return tuple(record.findings.values()) if record else ()

    def truncated(self, tenant_id: str) -> bool:
        """Whether the tenant's log has more findings than are kept."""
        with self._guard:
            record = self._tenants.get(tenant_id)
            return record.truncated if record else False

    def failing(self) -> dict[str, IntegrityFinding]:
        """The first finding of every tenant that has one."""
        with self._guard:
            return {
                tenant_id: next(iter(record.findings.values()))
                for tenant_id, record in self._tenants.items()
                if record.findings
            }

    # -- high-water marks -----------------------------------------------------------------

    def high_water_mark(self, tenant_id: str) -> int:
        """The largest size this process has seen the tenant's log at."""
        with self._guard:
            record = self._tenants.get(tenant_id)
            return record.high_water_mark if record else 0

    def high_water_marks(self) -> dict[str, int]:
        """Every log's mark, read at one moment (take it before reading the database)."""
        with self._guard:
            return {t: r.high_water_mark for t, r in self._tenants.items() if r.high_water_mark}

    def saw_size(self, tenant_id: str, size: int) -> None:
        """The tenant's log was seen (committed) at `size` entries."""
        with self._guard:
            record = self._record(tenant_id)
            record.high_water_mark = max(record.high_water_mark, size)

    # -- re-verification progress ---------------------------------------------------------

    def covers(self, tenant_id: str) -> bool:
        """Whether a running re-verifier has walked the whole of the tenant's log."""
        with self._guard:
            record = self._tenants.get(tenant_id)
            return self._status.running and record is not None and record.last_walk is not None

    def last_walk(self, tenant_id: str) -> LogWalk | None:
        """The re-verifier's latest complete walk of the tenant's log."""
        with self._guard:
            record = self._tenants.get(tenant_id)
            return record.last_walk if record else None

    def walked(self, tenant_id: str, walk: LogWalk) -> None:
        """The re-verifier finished a walk of the tenant's log."""
        with self._guard:
            self._record(tenant_id).last_walk = walk

    @property
    def status(self) -> ReverifierStatus:
        """The re-verifier's progress."""
        with self._guard:
            return self._status

    def update_status(self, **changes: Any) -> None:
        """Replace fields of the re-verifier's status (the re-verifier's own call)."""
        with self._guard:
            self._status = replace(self._status, **changes)

    def _record(self, tenant_id: str) -> _TenantRecord:
        return self._tenants.setdefault(tenant_id, _TenantRecord())


def watch_appends(sessions: sessionmaker[Session], integrity: LogIntegrity) -> None:
    """Raise each log's high-water mark when a transaction of `sessions` that appended commits.

    A savepoint's commit is not the transaction's; any rollback, a savepoint's too,
    forgets what was noted, which can only leave a mark lower than it could be.
    """

    def committed(session: Session) -> None:
        if session.in_nested_transaction():
            return
        for tenant_id, size in audit_log.take_appended(session).items():
            integrity.saw_size(tenant_id, size)

    def rolled_back(session: Session, _previous: SessionTransaction) -> None:
        audit_log.forget_appended(session)

    event.listen(sessions, "after_commit", committed)
    event.listen(sessions, "after_soft_rollback", rolled_back)
