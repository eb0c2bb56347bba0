"""The anchoring worker: submit queued roots, confirm them, and re-check them for reorgs.

Crash safety rests on two facts: ``anchorId`` is deterministic and the contract refuses
a second anchor with the same id. Before sending, the worker asks the chain whether the
id is anchored already (a crash after sending but before recording leaves exactly that
state) and adopts the transaction it finds. Each job is handled in a transaction of its
own, so a crash loses at most the step in flight, which the next pass redoes.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from chain import AlreadyAnchored, AnchorContract, AnchorReceipt, ChainError
from trace_api.anchoring.gateway import ChainGateway
from trace_api.anchoring.service import ANCHOR_KINDS
from trace_api.db import transaction
from trace_api.models import AnchorJob, utcnow

_log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(minutes=5)


@dataclass
class PassReport:
    """What one pass of the worker did."""

    submitted: int = 0
    adopted: int = 0
    confirmed: int = 0
    requeued: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def busy(self) -> bool:
        return bool(self.submitted or self.adopted or self.confirmed or self.requeued)


class AnchorWorker:
    """Moves anchor jobs pending -> submitted -> confirmed, and back to pending on a reorg."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        gateway: ChainGateway,
        confirmations: int,
        batch_size: int = 100,
        reorg_window: int = 128,
        resubmit_after: timedelta = timedelta(minutes=3),
    ) -> None:
        self._sessions = sessions
        self._gateway = gateway
        self._confirmations = max(1, confirmations)
        self._batch_size = batch_size
        self._reorg_window = reorg_window
        self._resubmit_after = resubmit_after

    def run_once(self) -> PassReport:
        """One pass over due jobs; chain failures are recorded on the jobs, never raised."""
        report = PassReport()
        try:
            contract, deployment_id = self._gateway.contract()
            self._submit_due(contract, deployment_id, report)
            self._confirm_submitted(contract, report)
            self._recheck_confirmed(contract, report)
            self._gateway.record_success()
        except ChainError as exc:
            self._gateway.record_error(exc)
            report.errors.append(str(exc))
            self._note_waiting(exc)
        return report

    def run_until_idle(self, max_passes: int = 1000) -> PassReport:
        """Passes until nothing is left to do now (tests, `trace worker --once`)."""
        total = PassReport()
        for _ in range(max_passes):
            report = self.run_once()
            for name in ("submitted", "adopted", "confirmed", "requeued", "failed"):
                setattr(total, name, getattr(total, name) + getattr(report, name))
            total.errors.extend(report.errors)
            if report.errors or not report.busy:
                break
        return total

    def run_forever(self, stop: threading.Event, interval: float = 1.0) -> None:
        """Work until ``stop`` is set, idling ``interval`` seconds between quiet passes."""
        while not stop.is_set():
            try:
                report = self.run_once()
            except Exception:  # the loop must outlive a bad pass (e.g. the database away)
                _log.exception("anchoring pass failed")
                report = PassReport(errors=["unexpected"])
            if not report.busy:
                stop.wait(interval)

    # -- pending -> submitted ------------------------------------------------------------------

    def _submit_due(self, contract: AnchorContract, deployment_id: int, report: PassReport) -> None:
        with transaction(self._sessions) as session:
            due = list(
                session.scalars(
                    select(AnchorJob.id)
                    .where(AnchorJob.status == "pending", AnchorJob.next_attempt_at <= utcnow())
                    .order_by(AnchorJob.id)
                    .limit(self._batch_size)
                )
            )
        for job_id in due:
            error: ChainError | None = None
            with transaction(self._sessions) as session:
                job = self._claim(session, job_id, "pending")
                if job is None:
                    continue
                try:
                    self._submit(contract, deployment_id, job, report)
                except ChainError as exc:
                    self._defer(job, exc)  # committed with the job, then reported
                    error = exc
            if error is not None:
                raise error

    def _claim(self, session: Session, job_id: int, status: str) -> AnchorJob | None:
        # FOR UPDATE SKIP LOCKED on PostgreSQL lets several workers share the queue;
        # SQLite ignores it and serialises writers itself.
        return session.scalar(
            select(AnchorJob)
            .where(AnchorJob.id == job_id, AnchorJob.status == status)
            .with_for_update(skip_locked=True)
        )

    def _submit(
        self, contract: AnchorContract, deployment_id: int, job: AnchorJob, report: PassReport
    ) -> None:
        anchor_id = bytes.fromhex(job.anchor_id[2:])
        found = contract.find_anchor_receipt(anchor_id)
        if found is None:
            try:
                tx_hash = contract.anchor(
                    anchor_id,
                    bytes.fromhex(job.root[2:]),
                    job.size,
                    ANCHOR_KINDS[job.kind],
                    bytes.fromhex(job.meta[2:]),
                )
            except AlreadyAnchored:
                found = contract.find_anchor_receipt(anchor_id)
                if found is None:
                    raise
            else:
                job.status = "submitted"
                job.tx_hash = tx_hash
                job.block_number = job.block_hash = None
                job.deployment_id = deployment_id
                job.submitted_at = utcnow()
                job.attempts += 1
                job.last_error = None
                report.submitted += 1
                return
        if not self._adopt(contract, deployment_id, job, found):
            report.failed += 1
            return
        report.adopted += 1

    def _adopt(
        self, contract: AnchorContract, deployment_id: int, job: AnchorJob, found: AnchorReceipt
    ) -> bool:
        """Take over an anchor already on chain (sent before a crash, or by another worker)."""
        onchain = contract.get_anchor(bytes.fromhex(job.anchor_id[2:]))
        if onchain is None or "0x" + onchain.root.hex() != job.root or onchain.size != job.size:
            job.status = "failed"
            job.last_error = "the chain holds a different root under this anchor id"
            _log.error("anchor job %s: %s", job.id, job.last_error)
            return False
        job.status = "submitted"
        job.tx_hash = found.tx_hash
        job.block_number = found.block_number
        job.block_hash = found.block_hash
        job.deployment_id = deployment_id
        job.submitted_at = job.submitted_at or utcnow()
        job.last_error = None
        return True

    # -- submitted -> confirmed ----------------------------------------------------------------

    def _confirm_submitted(self, contract: AnchorContract, report: PassReport) -> None:
        with transaction(self._sessions) as session:
            ids = list(
                session.scalars(
                    select(AnchorJob.id)
                    .where(AnchorJob.status == "submitted")
                    .order_by(AnchorJob.id)
                    .limit(self._batch_size)
                )
            )
        for job_id in ids:
            with transaction(self._sessions) as session:
                job = self._claim(session, job_id, "submitted")
                if job is not None:
                    self._confirm(contract, job, report)

    def _confirm(self, contract: AnchorContract, job: AnchorJob, report: PassReport) -> None:
        assert job.tx_hash is not None
        receipt = contract.receipt(job.tx_hash)
        if receipt is not None and not receipt.succeeded:
            # Reverted: most likely a duplicate of an anchor that did land; adopt that one.
            found = contract.find_anchor_receipt(bytes.fromhex(job.anchor_id[2:]))
            if found is None:
                self._requeue(job, f"transaction {job.tx_hash} reverted", report)
                return
            receipt = found
            job.tx_hash = found.tx_hash
        if receipt is None:
            submitted = job.submitted_at or utcnow()
            if utcnow() - submitted > self._resubmit_after:
                self._requeue(job, f"transaction {job.tx_hash} was not mined in time", report)
            return
        job.block_number = receipt.block_number
        job.block_hash = receipt.block_hash
        if contract.confirmations(receipt.block_number) >= self._confirmations:
            job.status = "confirmed"
            job.confirmed_at = job.checked_at = utcnow()
            job.times_anchored += 1
            report.confirmed += 1

    # -- confirmed: re-check for reorgs --------------------------------------------------------

    def _recheck_confirmed(self, contract: AnchorContract, report: PassReport) -> None:
        head = contract.client.block_number()
        with transaction(self._sessions) as session:
            ids = list(
                session.scalars(
                    select(AnchorJob.id)
                    .where(
                        AnchorJob.status == "confirmed",
                        or_(
                            AnchorJob.block_number >= head - self._reorg_window,
                            AnchorJob.block_number > head,
                        ),
                    )
                    .order_by(AnchorJob.id)
                )
            )
        for job_id in ids:
            with transaction(self._sessions) as session:
                job = self._claim(session, job_id, "confirmed")
                if job is None or job.block_number is None:
                    continue
                canonical = contract.block_hash_at(job.block_number)
                job.checked_at = utcnow()
                if canonical == job.block_hash:
                    continue
                _log.warning(
                    "anchor job %s: block %s is no longer canonical", job.id, job.block_number
                )
                self._requeue(job, f"reorg dropped block {job.block_number}", report)
                contract.client.resync_nonce()  # the dropped transaction's nonce is free again

    # -- bookkeeping ---------------------------------------------------------------------------

    def _requeue(self, job: AnchorJob, reason: str, report: PassReport) -> None:
        job.status = "pending"
        job.tx_hash = job.block_hash = None
        job.block_number = None
        job.confirmed_at = None
        job.last_error = reason
        job.next_attempt_at = utcnow()
        report.requeued += 1

    def _defer(self, job: AnchorJob, exc: BaseException) -> None:
        job.attempts += 1
        job.last_error = f"{type(exc).__name__}: {exc}"[:1000]
        delay = min(MAX_BACKOFF, timedelta(seconds=2 ** min(job.attempts, 9)))
        job.next_attempt_at = utcnow() + delay

    def _note_waiting(self, exc: BaseException) -> None:
        """Make the chain's failure visible on every job that is waiting for it."""
        message = f"{type(exc).__name__}: {exc}"[:1000]
        try:
            with transaction(self._sessions) as session:
                for job in session.scalars(
                    select(AnchorJob)
                    .where(AnchorJob.status.in_(("pending", "submitted")))
                    .limit(self._batch_size)
                ):
                    job.last_error = message
        except Exception:  # the database may be the thing that is down
            _log.exception("could not record the chain error on waiting jobs")
