"""Issuance jobs: small batches inside the request, large ones in the background.

A job runs in one transaction of its own (rows, tree, anchor job and audit entry commit
together), so a job stopped part-way leaves nothing behind and simply runs again: at
shutdown the running job stops at its next chunk and goes back to pending, and every job
left pending or running (also by a crash) starts again when the service does. Progress is
kept in memory, since on SQLite no other transaction could write it while the job holds
the write lock. PINs, stored only as hashes, are handed out
once: in the response for small batches, as a one-time CSV download for jobs.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from trace_api.codes import service as codes_service
from trace_api.codes.issuing import IssueResult, SealerPool, issue_codes
from trace_api.db import transaction
from trace_api.errors import Conflict, NotFound
from trace_api.models import CodeIssuance, utcnow
from trace_api.private_files import open_private, private_dir
from trace_api.tenancy import service as tenancy_service

_log = logging.getLogger(__name__)


class IssueRunner:
    """Runs issuances: now (in the caller's transaction) or as a job, one job at a time."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        master_key: bytes,
        workers: int,
        directory: Path,
    ) -> None:
        self._sessions = sessions
        self._master_key = master_key
        self._pin_key = codes_service.pin_key(master_key)
        self._directory = directory
        self.sealers = SealerPool(workers)
        self._executor: ThreadPoolExecutor | None = None
        self._progress: dict[int, int] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def resume(self) -> list[int]:
        """Start again every job a previous process left pending or running."""
        with transaction(self._sessions) as session:
            unfinished = list(
                session.scalars(
                    select(CodeIssuance.id)
                    .where(CodeIssuance.status.in_(("pending", "running")))
                    .order_by(CodeIssuance.id)
                )
            )
        for issuance_id in unfinished:
            self.launch(issuance_id)
        return unfinished

    def issue_now(self, *, session: Session, issuance: CodeIssuance) -> IssueResult:
        """Issue in the caller's transaction, sealing in this process (small batches)."""
        keyring = tenancy_service.tenant_keyring(
            session=session, master_key=self._master_key, tenant_id=issuance.tenant_id
        )
        return issue_codes(
            session=session,
            issuance=issuance,
            keyring=keyring,
            pin_key=self._pin_key,
            sealers=self.sealers,
            in_process=True,
        )

    def issue_or_queue(
        self, *, session: Session, issuance: CodeIssuance, sync_limit: int
    ) -> IssueResult | None:
        """Issue now, in the caller's transaction, an issuance of at most ``sync_limit``
        codes (``TRACE_CODES_SYNC_LIMIT``); a larger one is a job: None, and the caller
        launches it once its transaction has committed, so that the job sees its row."""
        if issuance.count > sync_limit:
            return None
        return self.issue_now(session=session, issuance=issuance)

    def launch(self, issuance_id: int) -> None:
        """Run a committed pending issuance in the background (it waits for the next start
        once shutdown has begun)."""
        with self._lock:
            if self._stopping.is_set():
                return
            self._progress[issuance_id] = 0
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="code-issue")
            executor = self._executor
        executor.submit(self._run, issuance_id)

    def progress(self, issuance_id: int) -> int | None:
        """Codes done so far of a job running in this process."""
        with self._lock:
            return self._progress.get(issuance_id)

    def pins_path(self, record: CodeIssuance) -> Path:
        return self._directory / record.tenant_id / f"issuance-{record.id}-pins.csv"

    def take_pins(self, record: CodeIssuance) -> bytes:
        """The job's PIN file, once: it is deleted as it is handed out."""
        path = self.pins_path(record)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            if record.with_pins and record.status == "done":
                raise Conflict("the PINs of this issuance were downloaded already") from None
            raise NotFound(f"issuance {record.id} has no PIN file") from None
        path.unlink()
        return data

    def _run(self, issuance_id: int) -> None:
        try:
            with transaction(self._sessions) as session:
                record = session.get(CodeIssuance, issuance_id)
                assert record is not None
                record.status = "running"
            with transaction(self._sessions) as session:
                record = session.get(CodeIssuance, issuance_id)
                assert record is not None
                keyring = tenancy_service.tenant_keyring(
                    session=session, master_key=self._master_key, tenant_id=record.tenant_id
                )
                result = issue_codes(
                    session=session,
                    issuance=record,
                    keyring=keyring,
                    pin_key=self._pin_key,
                    sealers=self.sealers,
                    progress=lambda n: self._note(issuance_id, n),
                )
                if result.pins is not None:
                    self._write_pins(record, result.pins)
        except Exception as exc:
            # Its sealing workers killed (a signal to the whole process group) is no fault
            # of the job's either: it waits for the next start like an interrupted one.
            if isinstance(exc, IssueInterrupted | BrokenProcessPool) or self._stopping.is_set():
                self._set_pending(issuance_id)
                return
            # a failed job is reported on its row, not lost
            _log.exception("code issuance %s failed", issuance_id)
            detail = exc.detail if isinstance(exc, Conflict) else f"{type(exc).__name__}: {exc}"
            with transaction(self._sessions) as session:
                session.execute(
                    update(CodeIssuance)
                    .where(CodeIssuance.id == issuance_id)
                    .values(status="failed", error=detail[:1000], finished_at=utcnow())
                )
        finally:
            with self._lock:
                self._progress.pop(issuance_id, None)

    def _note(self, issuance_id: int, done: int) -> None:
        if self._stopping.is_set():
            raise IssueInterrupted(issuance_id)
        with self._lock:
            self._progress[issuance_id] = done

    def _set_pending(self, issuance_id: int) -> None:
        _log.info("code issuance %s stopped by the shutdown; it runs again on start", issuance_id)
        try:
            with transaction(self._sessions) as session:
                session.execute(
                    update(CodeIssuance)
                    .where(CodeIssuance.id == issuance_id)
                    .values(status="pending", error="interrupted by a shutdown; resumes on start")
                )
        except Exception:  # left 'running', which resumes on start just the same
            _log.exception("could not mark code issuance %s pending", issuance_id)

    def _write_pins(self, record: CodeIssuance, pins: list[tuple[str, str]]) -> None:
        path = self.pins_path(record)
        private_dir(path.parent)
        fd = open_private(path)
        with os.fdopen(fd, "w", newline="") as handle:
            handle.write(pins_csv(pins))

    def shutdown(self) -> None:
        """Stop the running job at its next chunk (it resumes on start), then the sealers."""
        self._stopping.set()
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
        self.sealers.close()


class IssueInterrupted(Exception):
    """The service is stopping: the job's transaction rolls back and it runs again later."""


def pins_csv(pins: list[tuple[str, str]]) -> str:
    """The one-time PIN print file: serial and PIN per line."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["serial", "pin"])
    writer.writerows(pins)
    return out.getvalue()
