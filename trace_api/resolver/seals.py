"""Sealing scan records into the tenant's audit log, so a verifier can recount them.

Every round (the checkpoint interval), for each tenant with new scan records, one
`scans.sealed` entry is appended to its log:

    {"v":1,"hash":"sm3","from_id":a,"to_id":b,"count":n,"root":"<hex>"}

covering the tenant's `code_scans` records with ``a < id <= b``: ``n`` of them, and
``root`` the RFC 9162 Merkle root (SM3) over their canonical bytes (`record_bytes`) in id
order. Each seal starts where the tenant's previous one ended (``from_id`` = its
``to_id``; 0 for the first), so the seals tile the id line, and the checkpoints that sign
the log sign the seals. Deleting, changing or adding a sealed record changes a range's
count or root: `recount` says which.

A seal covers only ids that can no longer appear. On SQLite one writer at a time assigns
ids in commit order, so the largest committed id is that bound. On PostgreSQL an id can
be drawn before a smaller one commits. So the sealer reads the largest committed id ``W``,
then which transactions hold `code_scans` open for writing (its ``RowExclusiveLock`` in
``pg_locks``, which an INSERT takes before it draws an id and keeps until it ends), and
takes ``W`` as the bound once all of those have ended: any record that could still appear
below ``W`` is one of theirs. That is checked at once and again at the next rounds, so a
seal lags by at most a round under load. Nothing on the scan path waits for the sealer.

Several server processes may seal: each appends only if, with the tenant's log head
locked, the last seal is still the one it started from.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import rfc8785
from sqlalchemy import Connection, bindparam, func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from crypto.merkle import MerkleTree
from trace_api.audit import log as audit_log
from trace_api.db import transaction
from trace_api.models import AuditEntry, AuditHead, Code, CodeIssuance, CodeScan, Tenant

SEAL_KIND = "scans.sealed"
MAX_RECORDS_PER_SEAL = 100_000  # a larger backlog is sealed over several rounds

_log = logging.getLogger(__name__)

RECORDS = (
    select(
        CodeScan.id,
        Code.serial,
        CodeScan.seq,
        CodeScan.scanned_at,
        CodeScan.region,
        CodeScan.lat,
        CodeScan.lon,
        CodeScan.client_hash,
        CodeScan.warnings,
    )
    .join(Code, Code.id == CodeScan.code_id)
    .join(CodeIssuance, CodeIssuance.id == Code.issuance_id)
    .where(
        CodeIssuance.tenant_id == bindparam("tenant_id"),
        CodeScan.id > bindparam("after"),
        CodeScan.id <= bindparam("upto"),
    )
    .order_by(CodeScan.id)
)
"""A tenant's scan records with ``after < id <= upto``, in id order, as `record_bytes` reads."""


@dataclass(frozen=True, slots=True)
class Seal:
    """One `scans.sealed` entry: the tenant's records in ``(from_id, to_id]``."""

    seq: int  # of the audit entry
    from_id: int
    to_id: int
    count: int
    root: str

    def data(self) -> dict[str, Any]:
        return {
            "v": 1,
            "hash": "sm3",
            "from_id": self.from_id,
            "to_id": self.to_id,
            "count": self.count,
            "root": self.root,
        }


_WRITERS = text(
    "SELECT DISTINCT virtualtransaction FROM pg_locks WHERE relation = 'code_scans'::regclass "
    "AND mode = 'RowExclusiveLock' AND pid <> pg_backend_pid()"
)
_STILL_WRITING = text(
    "SELECT 1 FROM pg_locks WHERE relation = 'code_scans'::regclass "
    "AND mode = 'RowExclusiveLock' AND virtualtransaction = ANY(:held) LIMIT 1"
)


def _still_writing(connection: Connection, held: tuple[str, ...]) -> bool:
    """Whether any of these transactions still holds `code_scans` open for writing."""
    return connection.execute(_STILL_WRITING, {"held": list(held)}).first() is not None


def record_bytes(record: Any) -> bytes:
    """The canonical bytes of a scan record (a row of `RECORDS`): RFC 8785 JSON of

    ``{"v":1,"id","serial","seq","at" (UTC, microseconds, Z),"region","lat","lon",
    "client" (hex of the keyed IP hash),"warnings"}``.
    """
    rid, serial, seq, at, region, lat, lon, client, warnings = record
    moment = utc(at)
    return bytes(
        rfc8785.dumps(
            {
                "v": 1,
                "id": int(rid),
                "serial": serial,
                "seq": int(seq),
                "at": moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "region": region,
                "lat": lat,
                "lon": lon,
                "client": bytes(client).hex(),
                "warnings": warnings,
            }
        )
    )


def records_root(records: Iterator[Any]) -> tuple[int, int | None, str]:
    """Count, last id and Merkle root (hex) of records in id order."""
    tree = MerkleTree()
    last = None
    for record in records:
        tree.append(record_bytes(record))
        last = int(record[0])
    return tree.size, last, tree.root().hex()


def parse_seal(seq: int, body: bytes) -> Seal:
    """The seal an audit entry's body holds (KeyError/ValueError if it holds none)."""
    data = json.loads(body)["data"]
    return Seal(
        seq, int(data["from_id"]), int(data["to_id"]), int(data["count"]), str(data["root"])
    )


def seal_entries(session: Session, tenant_id: str, after_seq: int = -1) -> Iterator[Any]:
    """The tenant's `scans.sealed` entries (seq, body, leaf hash) after ``after_seq``."""
    return iter(
        session.execute(
            select(AuditEntry.seq, AuditEntry.body, AuditEntry.leaf_hash)
            .where(
                AuditEntry.tenant_id == tenant_id,
                AuditEntry.kind == SEAL_KIND,
                AuditEntry.seq > after_seq,
            )
            .order_by(AuditEntry.seq)
        )
    )


class ScanSealer:
    """Appends `scans.sealed` entries on a schedule (one per tenant with new records)."""

    def __init__(self, *, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        # PostgreSQL: (largest committed id W, the transactions writing records just after)
        self._noted: list[tuple[int, tuple[str, ...]]] = []
        self._last: dict[str, Seal] = {}  # each tenant's latest seal, as last read
        self._none: dict[str, int] = {}  # ids up to which a tenant has no records (idle ones)

    def run_once(self) -> list[Seal]:
        """Seal every tenant's records up to the safe bound; return the seals appended."""
        with transaction(self._sessions) as session:
            upto = self._safe_bound(session.connection())
            tenants = list(session.scalars(select(Tenant.id)))
        if upto is None:
            return []
        sealed = []
        for tenant_id in tenants:
            seal = self._seal_tenant(tenant_id, upto)
            if seal is not None:
                sealed.append(seal)
        return sealed

    def run_forever(self, stop: threading.Event, interval: float) -> None:
        while not stop.wait(interval):
            try:
                self.run_once()
            except Exception:  # the loop must outlive a bad round (e.g. the database away)
                _log.exception("scan sealing round failed")

    def _safe_bound(self, connection: Connection) -> int | None:
        """The largest record id below which no record can still appear (None: none yet)."""
        top = connection.execute(select(func.max(CodeScan.id))).scalar()
        if top is None or connection.dialect.name != "postgresql":
            return None if top is None else int(top)
        writers = connection.execute(_WRITERS).scalars().all()
        self._noted.append((int(top), tuple(writers)))
        ready = [w for w, held in self._noted if not held or not _still_writing(connection, held)]
        bound = max(ready, default=None)
        waiting = [(w, held) for w, held in self._noted if bound is None or w > bound]
        self._noted = waiting[:1] + waiting[-1:] if len(waiting) > 1 else waiting
        return bound

    def _seal_tenant(self, tenant_id: str, upto: int) -> Seal | None:
        with transaction(self._sessions) as session:  # a read: writers go on meanwhile
            last = self._latest_seal(session, tenant_id)
            after = last.to_id if last else 0
            if upto <= after:
                return None
            rows = session.connection().execute(
                RECORDS.limit(MAX_RECORDS_PER_SEAL).execution_options(yield_per=10_000),
                {
                    "tenant_id": tenant_id,
                    "after": max(after, self._none.get(tenant_id, 0)),
                    "upto": upto,
                },
            )
            count, last_id, root = records_root(iter(rows))
        if count == 0:  # the next seal's range still starts at `after`; its rows further on
            self._none[tenant_id] = upto
            return None
        to_id = upto if count < MAX_RECORDS_PER_SEAL else int(last_id or upto)
        with transaction(self._sessions) as session:
            session.execute(  # lock the log's head: sealers of other processes wait here
                update(AuditHead)
                .where(AuditHead.tenant_id == tenant_id)
                .values(size=AuditHead.size)
            )
            now_last = self._latest_seal(session, tenant_id)
            if now_last != last:
                return None  # another sealer got there first; the next round goes on from it
            seal = Seal(0, after, to_id, count, root)
            seq = audit_log.append(
                session=session, tenant_id=tenant_id, kind=SEAL_KIND, data=seal.data()
            )
            seal = Seal(seq, after, to_id, count, root)
        self._last[tenant_id] = seal
        return seal

    def _latest_seal(self, session: Session, tenant_id: str) -> Seal | None:
        """The tenant's latest seal: the one remembered, unless a later one was appended."""
        known = self._last.get(tenant_id)
        newer = session.execute(
            select(AuditEntry.seq, AuditEntry.body)
            .where(
                AuditEntry.tenant_id == tenant_id,
                AuditEntry.kind == SEAL_KIND,
                AuditEntry.seq > (known.seq if known else -1),
            )
            .order_by(AuditEntry.seq.desc())
            .limit(1)
        ).first()
        if newer is None:
            return known
        latest = parse_seal(int(newer[0]), bytes(newer[1]))
        self._last[tenant_id] = latest
        return latest


def utc(moment: datetime) -> datetime:
    """Aware UTC (SQLite hands some values back naive)."""
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
