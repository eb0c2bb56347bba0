"""Scratch-off PINs: checked under a back-off per code and per client, never locked for good.

Anyone who sees a label's URI can try its PIN, so wrong PINs are counted twice: for the
code (in `code_states`, shared by every client and every server process) and for the
client (in `pin_clients`, by the keyed hash of its IP). After ``limit`` wrong PINs in a
streak, the code (or the client) backs off: for ``base`` seconds, doubling with each
further wrong PIN up to ``cap``. While it backs off, a PIN is not checked at all, right or
wrong (checking a right one would let an attacker keep guessing), and the answer is a
`backing_off` outcome with the wait. When the wait is over, the next PIN is checked as
usual, so a stranger's wrong PINs delay the genuine buyer but never lock them out. A
streak is forgotten a day after its last back-off (or wrong PIN) ends.

Each check locks the code's state row first (an upsert that touches it), then the
client's row, and re-reads both: concurrent tries of one code are checked one at a time,
so the back-off holds however many requests or processes race. Bound (defaults, 8-digit
PINs): docs/codes.md "PIN back-off".
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from trace_api.audit import log as audit_log
from trace_api.codes.sealing import pin_hash
from trace_api.errors import RateLimited
from trace_api.instants import iso
from trace_api.models import CodeState, PinClient
from trace_api.resolver import flags
from trace_api.resolver.lookup import CodeRow
from trace_api.settings import Settings

FORGET_AFTER = timedelta(days=1)  # a streak's quiet time, after its back-off, to be forgotten

_STATE = cast(Table, CodeState.__table__)
_CLIENTS = cast(Table, PinClient.__table__)


class PinBackoff(RateLimited):
    """A PIN try refused unchecked while its code or client backs off (429, Retry-After)."""

    slug = "pin-backoff"
    title = "Too many wrong PINs: try again later"

    def __init__(self, outcome: dict[str, Any]) -> None:
        scope, seconds = outcome["backoff"], outcome["retry_after"]
        detail = (
            "too many wrong PINs were tried for this code, possibly by someone else; "
            "PINs for it are not checked until the wait is over"
            if scope == "code"
            else "too many wrong PINs came from this client; its PINs are not checked "
            "until the wait is over"
        )
        super().__init__(detail, retry_after=seconds, backoff=scope, until=outcome["until"])
        self.headers = {"Retry-After": str(seconds)}


@dataclass(frozen=True, slots=True)
class Backoff:
    """``limit`` wrong PINs, then ``base`` seconds, doubling per further one, up to ``cap``."""

    limit: int
    base: float
    cap: float

    def wait_after(self, failures: int) -> float | None:
        """The back-off that the ``failures``-th wrong PIN of a streak starts, if any."""
        if failures < self.limit:
            return None
        return min(self.cap, self.base * 2.0 ** min(failures - self.limit, 64))


@dataclass(frozen=True, slots=True)
class Streak:
    """Wrong PINs in a row for a code or a client: how many, the last one's time, the wait."""

    failures: int = 0
    failed_at: datetime | None = None
    blocked_until: datetime | None = None

    def wait(self, now: datetime) -> float:
        """Seconds of back-off left (0: PINs are checked)."""
        if self.blocked_until is None or self.blocked_until <= now:
            return 0.0
        return (self.blocked_until - now).total_seconds()

    def counted(self, now: datetime) -> int:
        """Failures that still count: none once the streak has been quiet long enough."""
        ends = [t for t in (self.failed_at, self.blocked_until) if t is not None]
        if not ends or now - max(ends) >= FORGET_AFTER:
            return 0
        return self.failures

    def failed(self, now: datetime, policy: Backoff) -> Streak:
        """The streak after one more wrong PIN at ``now``."""
        failures = self.counted(now) + 1
        wait = policy.wait_after(failures)
        until = None if wait is None else now + timedelta(seconds=wait)
        return Streak(failures, now, until)


def _retry_after(seconds: float) -> int:
    return max(1, int(seconds + 0.999))


class PinChecks:
    """The PIN rules of one resolver (the policies come from its settings)."""

    def __init__(self, settings: Settings, pin_key: bytes) -> None:
        self.settings = settings
        self._pin_key = pin_key

    @property
    def code_policy(self) -> Backoff:
        """The back-off of one code, shared by every client."""
        s = self.settings
        return Backoff(s.pin_max_failures, s.pin_backoff_seconds, s.pin_backoff_max_seconds)

    @property
    def client_policy(self) -> Backoff:
        """The back-off of one client, across every code."""
        s = self.settings
        return Backoff(s.pin_client_max_failures, s.pin_backoff_seconds, s.pin_backoff_max_seconds)

    def check(
        self, *, session: Session, row: CodeRow, pin: str, client_hash: bytes, now: datetime
    ) -> dict[str, Any]:
        """The outcome of one PIN try for a code that has a PIN, in the caller's transaction.

        ``verified`` (first use), ``already_used``, ``wrong`` (with the tries left before a
        back-off, and the wait when this one started it) or ``backing_off`` (not checked).
        """
        assert row.pin_hash is not None
        code = Streak(row.pin_failures or 0, None, row.pin_blocked_until)
        refused = _refusal(code, Streak(), now)  # the common refusal costs no write
        if refused is not None:
            return refused
        code, used_at, used_by = self._lock_code(session, row.code_id)
        client = self._lock_client(session, client_hash)
        refused = _refusal(code, client, now)
        if refused is not None:
            return refused
        if not hmac.compare_digest(pin_hash(self._pin_key, row.serial, pin.strip()), row.pin_hash):
            return self._wrong(session, row, code, client, client_hash, now)
        if used_at is not None:
            return self._used_again(session, row, used_at, used_by == client_hash, now)
        session.execute(
            update(CodeState)
            .where(CodeState.code_id == row.code_id)
            .values(
                pin_used_at=now,
                pin_used_by=client_hash,
                pin_failures=0,
                pin_failed_at=None,
                pin_blocked_until=None,
            )
        )
        audit_log.append(
            session=session,
            tenant_id=row.tenant_id,
            kind="pin.verified",
            items=[row.serial, row.batch_id],
            data={"serial": row.serial, "batch_id": row.batch_id},
        )
        return {"result": "verified", "used_at": iso(now)}

    def _used_again(
        self, session: Session, row: CodeRow, used_at: datetime, by_same_client: bool, now: datetime
    ) -> dict[str, Any]:
        """The right PIN of a code whose PIN was used: its first user again, or a copy.

        A PIN that verifies twice from different clients is the mark of a copied label
        (the copier read the PIN off a genuine one): the code is flagged until reviewed.
        """
        outcome = {"result": "already_used", "used_at": iso(used_at), "by_you": by_same_client}
        if by_same_client:
            return outcome
        warning = {"code": "pin_reused", "used_at": iso(used_at)}
        flags.raise_flags(session.connection(), row.code_id, [warning], now)
        audit_log.append(
            session=session,
            tenant_id=row.tenant_id,
            kind="code.clone_warning",
            items=[row.serial, row.batch_id],
            data={"serial": row.serial, "batch_id": row.batch_id, "warnings": [warning]},
        )
        return outcome

    def _lock_code(
        self, session: Session, code_id: int
    ) -> tuple[Streak, datetime | None, bytes | None]:
        """Lock the code's state row (creating it if need be); its PIN streak and use."""
        insert_ = postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert
        statement = insert_(_STATE).values(code_id=code_id, scan_count=0, pin_failures=0)
        failures, failed_at, until, used_at, used_by = session.execute(
            statement.on_conflict_do_update(
                index_elements=["code_id"], set_={"pin_failures": _STATE.c.pin_failures}
            ).returning(
                _STATE.c.pin_failures,
                _STATE.c.pin_failed_at,
                _STATE.c.pin_blocked_until,
                _STATE.c.pin_used_at,
                _STATE.c.pin_used_by,
            )
        ).one()
        return Streak(failures, failed_at, until), used_at, used_by

    def _lock_client(self, session: Session, client_hash: bytes) -> Streak:
        """The client's streak, its row locked if it has one (a first failure inserts it)."""
        found = session.execute(
            select(PinClient.failures, PinClient.failed_at, PinClient.blocked_until)
            .where(PinClient.client_hash == client_hash)
            .with_for_update()
        ).first()
        return Streak() if found is None else Streak(*found)

    def _wrong(
        self,
        session: Session,
        row: CodeRow,
        code: Streak,
        client: Streak,
        client_hash: bytes,
        now: datetime,
    ) -> dict[str, Any]:
        code = code.failed(now, self.code_policy)
        client = client.failed(now, self.client_policy)
        session.execute(
            update(CodeState)
            .where(CodeState.code_id == row.code_id)
            .values(
                pin_failures=code.failures,
                pin_failed_at=code.failed_at,
                pin_blocked_until=code.blocked_until,
            )
        )
        self._store_client(session, client_hash, client, now)
        left = min(
            self.code_policy.limit - code.failures, self.client_policy.limit - client.failures
        )
        outcome: dict[str, Any] = {"result": "wrong", "attempts_left": max(0, left)}
        started = _refusal(code, client, now)
        if started is not None:
            outcome.update(
                retry_after=started["retry_after"],
                backoff=started["backoff"],
                until=started["until"],
            )
        if code.failures == self.code_policy.limit:  # a code under attack: tell its brand
            audit_log.append(
                session=session,
                tenant_id=row.tenant_id,
                kind="pin.backoff",
                items=[row.serial, row.batch_id],
                data={
                    "serial": row.serial,
                    "batch_id": row.batch_id,
                    "failures": code.failures,
                    "until": iso(code.blocked_until),
                },
            )
        return outcome

    def _store_client(
        self, session: Session, client_hash: bytes, client: Streak, now: datetime
    ) -> None:
        values = {
            "client_hash": client_hash,
            "failures": client.failures,
            "failed_at": client.failed_at,
            "blocked_until": client.blocked_until,
        }
        insert_ = postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert
        statement = insert_(_CLIENTS).values(values)
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["client_hash"],
                set_={k: statement.excluded[k] for k in values if k != "client_hash"},
            )
        )
        # Rows whose streak is surely forgotten: their last back-off ended over a day ago.
        stale = now - FORGET_AFTER - timedelta(seconds=self.client_policy.cap)
        session.execute(delete(PinClient).where(PinClient.failed_at < stale))


def _refusal(code: Streak, client: Streak, now: datetime) -> dict[str, Any] | None:
    """The `backing_off` outcome while the code or the client backs off, else None."""
    code_wait, client_wait = code.wait(now), client.wait(now)
    if not code_wait and not client_wait:
        return None
    scope = "code" if code_wait else "client"
    until = code.blocked_until if code_wait >= client_wait else client.blocked_until
    return {
        "result": "backing_off",
        "backoff": scope,
        "retry_after": _retry_after(max(code_wait, client_wait)),
        "until": iso(until),
    }


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name
