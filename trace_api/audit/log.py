"""Appending to a tenant's log, in the caller's transaction.

Every state change of the service calls :func:`append` (or :func:`append_many`) inside the
transaction that makes the change, so the change and its log entry commit or vanish
together. The per-tenant head row is locked for the rest of that transaction, which keeps
sequence numbers gapless and committed entries a prefix of the log.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from compliance.entry import entry_body, entry_leaf_hash
from trace_api.models import AuditEntry, AuditHead, AuditItemRef, utcnow

SYSTEM = "system"
_APPENDED = "trace.audit.appended"  # session.info: (root transaction, {tenant: log size})


def log_id(tenant_id: str) -> str:
    """The id of a tenant's log, written into every entry and checkpoint."""
    return f"tracechain/audit/{tenant_id}"


@dataclass(frozen=True)
class Change:
    """One state change to log: what kind, who did it, about which party and items."""

    kind: str
    data: dict[str, Any]
    actor: str = SYSTEM
    organisation_id: str | None = None
    items: Sequence[str] = field(default_factory=tuple)


def start_log(*, session: Session, tenant_id: str) -> None:
    """Create the tenant's (empty) log; called once when the tenant is created."""
    session.add(AuditHead(tenant_id=tenant_id, size=0))
    session.flush()


def append(
    *,
    session: Session,
    tenant_id: str,
    kind: str,
    data: dict[str, Any],
    actor: str = SYSTEM,
    organisation_id: str | None = None,
    items: Sequence[str] = (),
) -> int:
    """Append one entry; return its sequence number."""
    change = Change(kind, data, actor, organisation_id, tuple(items))
    return append_many(session=session, tenant_id=tenant_id, changes=[change])[0]


def append_many(
    *, session: Session, tenant_id: str, changes: Iterable[Change], at: datetime | None = None
) -> range:
    """Append entries in bulk (one executemany); return their sequence numbers."""
    pending = list(changes)
    if not pending:
        return range(0)
    # Reserve the sequence numbers with one atomic write: it takes the row lock on
    # PostgreSQL and the write lock on SQLite before the current size is read.
    reserved = session.execute(
        update(AuditHead)
        .where(AuditHead.tenant_id == tenant_id)
        .values(size=AuditHead.size + len(pending))
        .returning(AuditHead.size)
    ).scalar()
    if reserved is None:
        raise LookupError(f"tenant {tenant_id} has no audit log")
    first = int(reserved) - len(pending)
    when = at or utcnow()
    the_log = log_id(tenant_id)
    rows: list[dict[str, Any]] = []
    refs: list[dict[str, Any]] = []
    for seq, change in enumerate(pending, start=first):
        body = entry_body(
            log_id=the_log,
            tenant_id=tenant_id,
            seq=seq,
            kind=change.kind,
            at=when,
            actor=change.actor,
            org=change.organisation_id,
            items=list(change.items),
            data=change.data,
        )
        rows.append(
            {
                "tenant_id": tenant_id,
                "seq": seq,
                "kind": change.kind,
                "recorded_at": when,
                "actor": change.actor,
                "organisation_id": change.organisation_id,
                "body": body,
                "leaf_hash": entry_leaf_hash(body),
            }
        )
        refs.extend({"tenant_id": tenant_id, "item": i, "seq": seq} for i in set(change.items))
    session.execute(insert(AuditEntry), rows)
    if refs:
        session.execute(insert(AuditItemRef), refs)
    _note_appended(session, tenant_id, first + len(rows))
    return range(first, first + len(rows))


def _note_appended(session: Session, tenant_id: str, size: int) -> None:
    """Remember, for the transaction's commit, the size this append brought the log to."""
    root = session.get_transaction()
    noted = session.info.get(_APPENDED)
    if noted is None or noted[0] is not root:
        noted = (root, {})
        session.info[_APPENDED] = noted
    sizes: dict[str, int] = noted[1]
    sizes[tenant_id] = max(size, sizes.get(tenant_id, 0))


def take_appended(session: Session) -> dict[str, int]:
    """The log sizes the committing transaction appended up to (and forget them)."""
    noted = session.info.pop(_APPENDED, None)
    if noted is None or noted[0] is not session.get_transaction():
        return {}  # noted by a transaction that ended without committing
    sizes: dict[str, int] = noted[1]
    return sizes


def forget_appended(session: Session) -> None:
    """Drop what the session noted (its transaction, or a savepoint of it, rolled back)."""
    session.info.pop(_APPENDED, None)


def log_size(*, session: Session, tenant_id: str) -> int:
    """How many entries the tenant's log holds (committed and this transaction's)."""
    size = session.scalar(select(AuditHead.size).where(AuditHead.tenant_id == tenant_id))
    return int(size or 0)
