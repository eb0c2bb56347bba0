"""Resolving a scanned code: the verdict, what the consumer sees, and the scan it records.

A code is *genuine* only if every check holds: the serial exists under the GTIN (and lot)
of the link; its leaf, recomputed from the stored row, is the leaf at its index in the
batch's tree; that tree's root is the batch's anchored root; and the payload decrypts
under the tenant's key, bound to this serial, and names this batch. Any failure makes
it *suspicious* (never genuine); an unknown or malformed serial is *unknown* and counts
as a miss against the client; a recalled batch or code answers *recalled*.

Scans are recorded with an atomic upsert (``scan_count = scan_count + 1 ... RETURNING``),
so concurrent scans of one code count exactly. Scans are high-volume: the audit log gets
the first scan of each code, clone warnings and suspicious verdicts, not every scan.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Engine, Table, bindparam, case, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from crypto.envelope import Keyring, key_id_of
from crypto.errors import DecryptionFailed, InvalidSerial, KeyShredded, UnknownKey
from crypto.merkle import MerkleTree
from crypto.serials import validate_serial
from trace_api.anchoring.gateway import ChainGateway
from trace_api.audit import log as audit_log
from trace_api.codes.errors import InvalidDigitalLink
from trace_api.codes.gs1 import ItemLink, item_uri
from trace_api.codes.payload import code_leaf_hash, leaf_input, leaf_template
from trace_api.codes.sealing import pin_hash
from trace_api.codes.service import pin_key
from trace_api.errors import RateLimited
from trace_api.models import (
    Batch,
    Code,
    CodeIssuance,
    CodeScan,
    CodeState,
    Product,
    ResolverMiss,
    TenantKey,
    utcnow,
)
from trace_api.resolver.proofs import AnchorLookup, BatchTrees, proof_document
from trace_api.resolver.ratelimit import TokenBuckets
from trace_api.resolver.regions import implausible_travel, place_of
from trace_api.settings import Settings

HTTP_STATUS = {"genuine": 200, "suspicious": 200, "recalled": 410, "unknown": 404}


class TooManyRequests(RateLimited):
    """A client over its request or miss budget; says when to come back."""

    def __init__(self, detail: str, retry_after: float) -> None:
        seconds = max(1, int(retry_after + 0.999))
        super().__init__(detail, retry_after=seconds)
        self.headers = {"Retry-After": str(seconds)}


@dataclass(frozen=True)
class Scan:
    """Who scanned (a keyed hash of the IP) and where, if the client said."""

    client: str
    client_hash: bytes
    lat: float | None = None
    lon: float | None = None
    region: str | None = None


@dataclass
class Resolution:
    """Everything the page and the JSON answer show about one scanned link."""

    verdict: str
    link: ItemLink
    serial: str | None = None
    reasons: list[str] = field(default_factory=list)
    product: dict[str, Any] | None = None
    batch: dict[str, Any] | None = None
    payload: str | None = None  # "decrypted", "erased" (key shredded) or "unreadable"
    timeline: list[dict[str, Any]] = field(default_factory=list)
    proof: dict[str, Any] | None = None
    leaf_input: str | None = None
    scans: dict[str, Any] | None = None
    warnings: list[dict[str, Any]] = field(default_factory=list)
    pin: dict[str, Any] | None = None
    recall: dict[str, Any] | None = None
    links: dict[str, str] = field(default_factory=dict)

    @property
    def status(self) -> int:
        return HTTP_STATUS[self.verdict]

    def document(self, base: str) -> dict[str, Any]:
        """The JSON answer."""
        uri = None
        if self.serial and self.batch and self.product:
            uri = item_uri(base, self.product["gtin"], self.batch["lot"], self.serial)
        return {
            "verdict": self.verdict,
            "reasons": self.reasons,
            "uri": uri,
            "gtin": self.link.gtin,
            "lot": self.link.lot,
            "serial": self.serial or self.link.serial,
            "product": self.product,
            "batch": self.batch,
            "payload": self.payload,
            "recall": self.recall,
            "scans": self.scans,
            "warnings": self.warnings,
            "pin": self.pin,
            "timeline": self.timeline,
            "proof": self.proof,
            "leaf_input": self.leaf_input,
            "links": self.links,
        }


@dataclass(frozen=True)
class _Row:
    code_id: int
    idx: int
    serial: str
    sealed: bytes
    has_pin: bool
    pin_hash: bytes | None
    issuance_id: int
    tenant_id: str
    root: str | None
    anchor_job_id: int | None
    issued_at: datetime | None
    batch_id: str
    lot: str
    production_date: date
    expiry: date | None
    factory: str
    batch_status: str
    batch_recalled_at: datetime | None
    batch_recall_reason: str | None
    gtin: str
    name: str
    brand: str
    description: str
    links: str
    scan_count: int | None
    first_scan_at: datetime | None
    first_scan_region: str | None
    located_at: datetime | None
    lat: float | None
    lon: float | None
    region: str | None
    pin_used_at: datetime | None
    pin_failures: int | None
    code_recalled_at: datetime | None
    code_recall_reason: str | None


_LOOKUP = (
    select(
        Code.id,
        Code.idx,
        Code.serial,
        Code.sealed,
        Code.pin_hash.is_not(None),
        Code.pin_hash,
        CodeIssuance.id,
        CodeIssuance.tenant_id,
        CodeIssuance.root,
        CodeIssuance.anchor_job_id,
        CodeIssuance.finished_at,
        Batch.id,
        Batch.lot,
        Batch.production_date,
        Batch.expiry,
        Batch.factory,
        Batch.status,
        Batch.recalled_at,
        Batch.recall_reason,
        Product.gtin,
        Product.name,
        Product.brand,
        Product.description,
        Product.links,
        CodeState.scan_count,
        CodeState.first_scan_at,
        CodeState.first_scan_region,
        CodeState.located_at,
        CodeState.lat,
        CodeState.lon,
        CodeState.region,
        CodeState.pin_used_at,
        CodeState.pin_failures,
        CodeState.recalled_at,
        CodeState.recall_reason,
    )
    .join(CodeIssuance, CodeIssuance.id == Code.issuance_id)
    .join(Batch, Batch.id == CodeIssuance.batch_id)
    .join(Product, Product.id == Batch.product_id)
    .outerjoin(CodeState, CodeState.code_id == Code.id)
)


_LOOKUP_BY_SERIAL = _LOOKUP.where(Code.serial == bindparam("serial"))
_KEY = select(TenantKey.wrapped, TenantKey.status).where(
    TenantKey.key_id == bindparam("key_id"), TenantKey.tenant_id == bindparam("tenant_id")
)
_STATE = cast(Table, CodeState.__table__)
_SCAN_ROW = insert(cast(Table, CodeScan.__table__))
_MISS_ROW = insert(cast(Table, ResolverMiss.__table__))


def _scan_upsert(insert_: Any, located: bool) -> Any:
    """``INSERT ... ON CONFLICT (code_id) DO UPDATE ... RETURNING``: one atomic count step."""
    table = _STATE
    statement = insert_(table)
    excluded = statement.excluded
    update = {
        "scan_count": table.c.scan_count + 1,
        "first_scan_at": func.coalesce(table.c.first_scan_at, excluded.first_scan_at),
        "first_scan_region": case(
            (table.c.first_scan_at.is_(None), excluded.first_scan_region),
            else_=table.c.first_scan_region,
        ),
        "last_scan_at": excluded.last_scan_at,
    }
    if located:
        update.update(
            located_at=excluded.located_at,
            lat=excluded.lat,
            lon=excluded.lon,
            region=excluded.region,
        )
    return statement.on_conflict_do_update(index_elements=["code_id"], set_=update).returning(
        table.c.scan_count, table.c.first_scan_at, table.c.first_scan_region
    )


_SCAN_UPSERTS = {
    (name, located): _scan_upsert(insert_, located)
    for name, insert_ in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
    for located in (False, True)
}


class Resolver:
    """The resolver's state: caches of trees, keys and anchors; per-client budgets."""

    def __init__(self, *, settings: Settings, master_key: bytes, gateway: ChainGateway) -> None:
        self.settings = settings
        self.trees = BatchTrees(settings.proof_cache_leaves)
        self.anchors = AnchorLookup(gateway, settings.chain_head_cache_seconds)
        self.requests = TokenBuckets(settings.resolver_rate, settings.resolver_burst)
        self.misses = TokenBuckets(settings.resolver_miss_rate, settings.resolver_miss_burst)
        self._master_key = master_key
        self._ip_key = hmac.new(master_key, b"tracechain/client-ip/v1", hashlib.sha256).digest()
        self._pin_key = pin_key(master_key)
        self._keyrings: dict[tuple[str, bytes], Keyring] = {}
        self._write_lock = threading.Lock()

    # -- clients ------------------------------------------------------------------------------

    def scan_of(self, client: str, **where: Any) -> Scan:
        """A scan by ``client`` (an IP address), which is kept only as a keyed hash."""
        digest = hmac.new(self._ip_key, client.encode(), hashlib.sha256).digest()[:16]
        return Scan(client, digest, **where)

    def admit(self, client: str) -> None:
        """Let a public request through, or raise TooManyRequests (429 with Retry-After)."""
        wait = self.misses.wait_needed(client)
        if wait:
            raise TooManyRequests(
                "too many lookups of unknown codes from this client; try again later", wait
            )
        wait = self.requests.take(client)
        if wait:
            raise TooManyRequests("too many requests from this client", wait)

    @contextmanager
    def scan_transaction(self, sessions: Any, engine: Engine) -> Iterator[Session]:
        """A transaction for one scan; on SQLite one at a time per process.

        SQLite has one writer at a time; queueing here is cheaper than its busy handler's
        sleeps. PostgreSQL serialises only scans of the same code (the upsert's row lock).
        """
        serialise = engine.dialect.name == "sqlite"
        if serialise:
            self._write_lock.acquire()
        session: Session = sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
            if serialise:
                self._write_lock.release()

    # -- resolving ----------------------------------------------------------------------------

    def resolve(self, *, session: Session, link: ItemLink, scan: Scan | None) -> Resolution:
        """The verdict on ``link``; records the scan when ``scan`` is given."""
        if link.serial is None:
            raise InvalidDigitalLink(
                "this resolver answers serialised items: the link needs AI 21 (serial)"
            )
        row = self._lookup(session, link.serial)
        if row is None:
            if scan is not None:
                self._miss(session, scan, "unknown_serial")
            return Resolution("unknown", link, reasons=["not_found"])
        result = Resolution("genuine", link, serial=row.serial)
        self._describe(result, row)
        tree = self._check(session, result, row, link)
        if not result.reasons and (row.batch_status == "recalled" or row.code_recalled_at):
            result.verdict = "recalled"
        elif result.reasons:
            result.verdict = "suspicious"
        if tree is not None:
            result.proof = proof_document(
                tree, row.idx, self.anchors.reference(session, row.anchor_job_id)
            )
        if scan is not None:
            self._record(session, result, row, scan)
        result.timeline = _timeline(result, row)
        return result

    def _lookup(self, session: Session, serial: str) -> _Row | None:
        try:
            normal = validate_serial(serial)
        except InvalidSerial:
            return None
        found = session.connection().execute(_LOOKUP_BY_SERIAL, {"serial": normal}).first()
        return None if found is None else _Row(*cast(tuple[Any, ...], found))

    def _miss(self, session: Session, scan: Scan, reason: str) -> None:
        self.misses.take(scan.client)
        session.connection().execute(
            _MISS_ROW, {"at": utcnow(), "client_hash": scan.client_hash, "reason": reason}
        )

    def _describe(self, result: Resolution, row: _Row) -> None:
        result.product = {
            "gtin": row.gtin,
            "name": row.name,
            "brand": row.brand,
            "description": row.description,
        }
        result.batch = {
            "id": row.batch_id,
            "lot": row.lot,
            "production_date": row.production_date.isoformat(),
            "expiry": row.expiry.isoformat() if row.expiry else None,
            "factory": row.factory,
        }
        result.links = json.loads(row.links)
        result.pin = {"present": row.has_pin, "used_at": _iso(row.pin_used_at)}
        if row.batch_status == "recalled":
            result.recall = {
                "scope": "batch",
                "at": _iso(row.batch_recalled_at),
                "reason": row.batch_recall_reason,
            }
        elif row.code_recalled_at is not None:
            result.recall = {
                "scope": "item",
                "at": _iso(row.code_recalled_at),
                "reason": row.code_recall_reason,
            }

    def _check(
        self, session: Session, result: Resolution, row: _Row, link: ItemLink
    ) -> MerkleTree | None:
        """Every integrity check; failures go to ``result.reasons``. Returns the tree if sound."""
        if row.gtin != link.gtin:
            result.reasons.append("other_product")
        if link.lot is not None and link.lot != row.lot:
            result.reasons.append("other_lot")
        parts = leaf_template(row.gtin, row.lot)
        result.leaf_input = leaf_input(parts, row.sealed, row.serial).decode()
        tree = self.trees.tree(session, row.issuance_id, row.root)
        if tree is None:
            result.reasons.append("root_mismatch")
        elif row.idx >= tree.size or tree.leaf_hash_at(row.idx) != code_leaf_hash(
            parts, row.sealed, row.serial
        ):
            result.reasons.append("leaf_mismatch")
            tree = None
        self._open_payload(session, result, row)
        return tree

    def _open_payload(self, session: Session, result: Resolution, row: _Row) -> None:
        """Decrypt the payload; what the page shows of product and batch comes from it."""
        try:
            key_id = key_id_of(row.sealed)
            keyring = self._keyring(session, row.tenant_id, key_id)
            payload = json.loads(keyring.open(row.sealed, row.serial.encode()))
        except KeyShredded:
            result.payload = "erased"
            return
        except (DecryptionFailed, UnknownKey, ValueError):
            result.payload = "unreadable"
            result.reasons.append("payload_unreadable")
            return
        if (
            not isinstance(payload, dict)
            or payload.get("serial") != row.serial
            or payload.get("batch") != row.batch_id
            or payload.get("gtin") != row.gtin
            or payload.get("item") != row.idx
        ):
            result.payload = "unreadable"
            result.reasons.append("payload_mismatch")
            return
        result.payload = "decrypted"
        assert result.product is not None and result.batch is not None
        result.product.update(name=payload["product"], brand=payload["brand"])
        result.batch.update(
            lot=payload["lot"],
            production_date=payload["production_date"],
            expiry=payload["expiry"],
            factory=payload["factory"],
        )

    def _keyring(self, session: Session, tenant_id: str, key_id: str) -> Keyring:
        record = (
            session.connection().execute(_KEY, {"key_id": key_id, "tenant_id": tenant_id}).first()
        )
        if record is None:
            raise UnknownKey(f"no data key {key_id!r}")
        wrapped, status = record
        if wrapped is None or status == "shredded":
            raise KeyShredded(f"data key {key_id!r} was shredded")
        cached = self._keyrings.get((key_id, wrapped))
        if cached is None:
            cached = Keyring.from_wrapped(self._master_key, {key_id: wrapped}, active=None)
            if len(self._keyrings) > 1000:
                self._keyrings.clear()
            self._keyrings[(key_id, wrapped)] = cached
        return cached

    # -- recording scans ----------------------------------------------------------------------

    def _record(self, session: Session, result: Resolution, row: _Row, scan: Scan) -> None:
        now = utcnow()
        located = scan.region is not None or (scan.lat is not None and scan.lon is not None)
        values = {
            "code_id": row.code_id,
            "scan_count": 1,
            "first_scan_at": now,
            "first_scan_region": scan.region,
            "last_scan_at": now,
            "located_at": now if located else None,
            "lat": scan.lat,
            "lon": scan.lon,
            "region": scan.region,
            "pin_failures": 0,
        }
        connection = session.connection()
        upsert = _SCAN_UPSERTS[(connection.dialect.name, located)]
        count, first_at, first_region = connection.execute(upsert, values).one()
        result.scans = {
            "count": count,
            "first_at": _iso(first_at),
            "first_region": first_region,
            "this_scan_at": _iso(now),
        }
        new_warnings = self._warnings(result, row, scan, count, now)
        connection.execute(
            _SCAN_ROW,
            {
                "code_id": row.code_id,
                "scanned_at": now,
                "region": scan.region,
                "lat": scan.lat,
                "lon": scan.lon,
                "client_hash": scan.client_hash,
                "warnings": ",".join(w["code"] for w in result.warnings)[:200],
            },
        )
        self._log_scan(session, result, row, scan, count, new_warnings)

    def _warnings(
        self, result: Resolution, row: _Row, scan: Scan, count: int, now: datetime
    ) -> list[dict[str, Any]]:
        """Clone warnings; returns those that are news (the audit log records them)."""
        news: list[dict[str, Any]] = []
        limit = self.settings.scan_warn_count
        if count > limit:
            warning = {"code": "many_scans", "count": count, "limit": limit}
            result.warnings.append(warning)
            if count == limit + 1:
                news.append(warning)
        before = place_of(row.lat, row.lon, row.region)
        here = place_of(scan.lat, scan.lon, scan.region)
        if before is not None and here is not None and row.located_at is not None:
            km = implausible_travel(
                before, row.located_at, here, now, self.settings.scan_max_speed_kmh
            )
            if km is not None:
                minutes = max(0, int((now - row.located_at).total_seconds() // 60))
                warning = {
                    "code": "far_apart",
                    "km": round(km),
                    "minutes": minutes,
                    "previous_region": row.region,
                    "region": scan.region,
                }
                result.warnings.append(warning)
                news.append(warning)
        return news

    def _log_scan(
        self,
        session: Session,
        result: Resolution,
        row: _Row,
        scan: Scan,
        count: int,
        warnings: list[dict[str, Any]],
    ) -> None:
        items = [row.serial, row.batch_id]
        base = {"serial": row.serial, "batch_id": row.batch_id, "scan_count": count}
        if count == 1:
            audit_log.append(
                session=session,
                tenant_id=row.tenant_id,
                kind="code.first_scan",
                items=items,
                data={**base, "region": scan.region, "verdict": result.verdict},
            )
        if warnings:
            audit_log.append(
                session=session,
                tenant_id=row.tenant_id,
                kind="code.clone_warning",
                items=items,
                data={**base, "warnings": warnings},
            )
        if result.verdict == "suspicious":
            audit_log.append(
                session=session,
                tenant_id=row.tenant_id,
                kind="code.suspicious_scan",
                items=items,
                data={**base, "reasons": result.reasons},
            )

    # -- PINs and proofs ----------------------------------------------------------------------

    def verify_pin(
        self, *, session: Session, link: ItemLink, pin: str, scan: Scan
    ) -> dict[str, Any]:
        """Check a scratch-off PIN: it verifies once; later tries say when it was first used."""
        row = self._lookup(session, link.serial or "")
        if row is None or row.gtin != link.gtin:
            self._miss(session, scan, "unknown_serial_pin")
            return {"result": "unknown_code"}
        if row.pin_hash is None:
            return {"result": "no_pin"}
        limit = self.settings.pin_max_failures
        if (row.pin_failures or 0) >= limit:
            return {"result": "locked", "used_at": _iso(row.pin_used_at)}
        given = pin.strip()
        insert_ = _insert(session)(CodeState)
        table = CodeState.__table__
        if not hmac.compare_digest(pin_hash(self._pin_key, row.serial, given), row.pin_hash):
            statement = insert_.values(code_id=row.code_id, scan_count=0, pin_failures=1)
            failures = session.execute(
                statement.on_conflict_do_update(
                    index_elements=["code_id"], set_={"pin_failures": table.c.pin_failures + 1}
                ).returning(table.c.pin_failures)
            ).scalar_one()
            return {"result": "wrong", "attempts_left": max(0, limit - failures)}
        now = utcnow()
        statement = insert_.values(
            code_id=row.code_id, scan_count=0, pin_failures=0, pin_used_at=now
        )
        used_at = session.execute(
            statement.on_conflict_do_update(
                index_elements=["code_id"],
                set_={
                    "pin_used_at": func.coalesce(
                        table.c.pin_used_at, statement.excluded.pin_used_at
                    )
                },
            ).returning(table.c.pin_used_at)
        ).scalar_one()
        if used_at != now:
            return {"result": "already_used", "used_at": _iso(used_at)}
        audit_log.append(
            session=session,
            tenant_id=row.tenant_id,
            kind="pin.verified",
            items=[row.serial, row.batch_id],
            data={"serial": row.serial, "batch_id": row.batch_id},
        )
        return {"result": "verified", "used_at": _iso(now)}

    def proof(self, *, session: Session, serial: str) -> dict[str, Any] | None:
        """The proof document of a code, or None if there is no sound one to give."""
        row = self._lookup(session, serial)
        if row is None:
            return None
        tree = self.trees.tree(session, row.issuance_id, row.root)
        if tree is None or row.idx >= tree.size:
            return None
        leaf = code_leaf_hash(leaf_template(row.gtin, row.lot), row.sealed, row.serial)
        if tree.leaf_hash_at(row.idx) != leaf:
            return None
        return proof_document(tree, row.idx, self.anchors.reference(session, row.anchor_job_id))


def _insert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _timeline(result: Resolution, row: _Row) -> list[dict[str, Any]]:
    """Where the item has been, oldest first (custody events will join this list)."""
    events: list[dict[str, Any]] = [
        {
            "at": row.production_date.isoformat(),
            "kind": "produced",
            "where": row.factory,
        }
    ]
    if row.issued_at is not None:
        events.append({"at": _iso(row.issued_at), "kind": "code_issued"})
    anchor = (result.proof or {}).get("anchor", {})
    if anchor.get("status") == "confirmed":
        events.append(
            {"at": None, "kind": "anchored", "block": anchor.get("block"), "tx": anchor.get("tx")}
        )
    if result.scans and result.scans.get("first_at"):
        events.append(
            {
                "at": result.scans["first_at"],
                "kind": "first_scan",
                "region": result.scans.get("first_region"),
            }
        )
    elif row.first_scan_at is not None:
        events.append(
            {"at": _iso(row.first_scan_at), "kind": "first_scan", "region": row.first_scan_region}
        )
    if result.recall:
        events.append({"at": result.recall["at"], "kind": "recalled"})
    return events
