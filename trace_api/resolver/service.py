"""Resolving a scanned code: the verdict, what the consumer sees, and the scan it records.

A code is *genuine* only if every check holds: the serial exists under the GTIN (and lot)
of the link; its leaf, recomputed from the stored row, is the leaf at its index in the
batch's tree; that tree's root is the batch's anchored root; and the payload decrypts
under the tenant's key, bound to this serial, and names this batch (`checks`). Any failure
makes it *suspicious* (never genuine); an unknown or malformed serial is *unknown* and
counts as a miss against the client; a recalled batch or code answers *recalled*.

Each resolve reads the code with one statement (`lookup`) and, when it counts a scan,
writes two more (`scans`), in a transaction of its own on a plain connection: an ORM
session is opened on that connection only when one is needed (audit entries, cache
misses), since setting one up costs more than the scan's own statements on SQLite.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from trace_api.anchoring.gateway import ChainGateway
from trace_api.branding.service import Branding
from trace_api.codes.errors import InvalidDigitalLink
from trace_api.codes.gs1 import ItemLink
from trace_api.codes.payload import code_leaf_hash, leaf_template
from trace_api.codes.service import pin_key
from trace_api.db import transaction
from trace_api.errors import RateLimited
from trace_api.instants import iso
from trace_api.media.service import media_url
from trace_api.models import utcnow
from trace_api.movements import consumer as consumer_scans
from trace_api.ratelimit import TokenBuckets
from trace_api.resolver import flags
from trace_api.resolver.checks import CodeChecks, KeyState, envelope_key_id
from trace_api.resolver.custody import custody_events
from trace_api.resolver.lookup import CodeRow, FactsCache, IssuanceFacts, data_key, find_code
from trace_api.resolver.pins import PinChecks
from trace_api.resolver.proofs import AnchorLookup, BatchTrees, proof_document
from trace_api.resolver.resolution import Resolution, ResolveDb, Scan
from trace_api.resolver.scans import record_miss, record_scan, stored_scans
from trace_api.resolver.tickets import PinTickets
from trace_api.settings import Settings

REPORTS_PER_HOUR = 5  # consumer reports one client may send (reports.py)


class TooManyRequests(RateLimited):
    """A client over its request or miss budget; says when to come back."""

    def __init__(self, detail: str, retry_after: float) -> None:
        seconds = max(1, int(retry_after + 0.999))
        super().__init__(detail, retry_after=seconds)
        self.headers = {"Retry-After": str(seconds)}


class Resolver:
    """The resolver's state: caches of trees, checks, keys and anchors; per-client budgets."""

    def __init__(self, *, settings: Settings, master_key: bytes, gateway: ChainGateway) -> None:
        self.settings = settings
        self.trees = BatchTrees(settings.proof_cache_leaves)
        self.anchors = AnchorLookup(gateway, settings.chain_head_cache_seconds)
        self.requests = TokenBuckets(settings.resolver_rate, settings.resolver_burst)
        self.misses = TokenBuckets(settings.resolver_miss_rate, settings.resolver_miss_burst)
        self.checks = CodeChecks(master_key)
        self.facts = FactsCache()
        self._ip_key = hmac.new(master_key, b"tracechain/client-ip/v1", hashlib.sha256).digest()
        self.pins = PinChecks(settings, pin_key(master_key))
        self.tickets = PinTickets(master_key)
        self.reports = TokenBuckets(REPORTS_PER_HOUR / 3600, REPORTS_PER_HOUR)
        self.clock: Callable[[], datetime] = utcnow  # PIN back-off time; tests set their own
        self._client_hashes: dict[str, bytes] = {}
        self._write_lock = threading.Lock()

    # -- clients ------------------------------------------------------------------------------

    def scan_of(self, client: str, **where: Any) -> Scan:
        """A scan by ``client`` (an IP address), which is kept only as a keyed hash."""
        digest = self._client_hashes.get(client)
        if digest is None:
            digest = hmac.new(self._ip_key, client.encode(), hashlib.sha256).digest()[:16]
            if len(self._client_hashes) >= 10_000:
                self._client_hashes.clear()
            self._client_hashes[client] = digest
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
    def _serialised(self, engine: Engine) -> Iterator[None]:
        """On SQLite, one scan transaction at a time per process.

        SQLite has one writer at a time; queueing here is cheaper than its busy handler's
        sleeps. PostgreSQL serialises only scans of the same code (the upsert's row lock).
        """
        if engine.dialect.name != "sqlite":
            yield
            return
        with self._write_lock:
            yield

    @contextmanager
    def scan_transaction(self, sessions: Any, engine: Engine) -> Iterator[Session]:
        """A session in a transaction for scans (committed at the end), serialised as above."""
        with self._serialised(engine), transaction(sessions) as session:
            yield session

    # -- resolving ----------------------------------------------------------------------------

    def resolve_alone(self, *, engine: Engine, link: ItemLink, scan: Scan | None) -> Resolution:
        """`resolve` in a transaction of its own, committed before this returns."""
        with self._serialised(engine), engine.begin() as connection:
            db = ResolveDb(connection)
            try:
                return self._resolve(db, link, scan)
            finally:
                db.close()

    def resolve(self, *, session: Session, link: ItemLink, scan: Scan | None) -> Resolution:
        """The verdict on ``link`` in the caller's transaction; records the scan if given."""
        return self._resolve(ResolveDb(session.connection(), session), link, scan)

    def _resolve(self, db: ResolveDb, link: ItemLink, scan: Scan | None) -> Resolution:
        if link.serial is None:
            raise InvalidDigitalLink(
                "this resolver answers serialised items: the link needs AI 21 (serial)"
            )
        connection = db.connection
        row = find_code(connection, link.serial)
        if row is None:
            if scan is not None:
                self.misses.take(scan.client)
                record_miss(connection, scan, "unknown_serial")
            return Resolution("unknown", link, reasons=["not_found"])
        facts = self.facts.get(connection, row.issuance_id)
        result = Resolution("genuine", link, serial=row.serial)
        _describe(result, row, facts)
        if row.pin_blocked_until is not None and result.pin is not None:
            wait = (row.pin_blocked_until - self.clock()).total_seconds()
            if wait > 0:  # the page says so instead of offering a form that is not checked
                until = iso(row.pin_blocked_until)
                result.pin.update(backoff_until=until, retry_after=int(wait + 0.999))
        self._check(connection, result, row, link)
        if row.review_outcome == "confirmed":
            result.reasons.append("copy_confirmed")
        if not result.reasons and (row.batch_status == "recalled" or row.code_recalled_at):
            result.verdict = "recalled"
        elif result.reasons:
            result.verdict = "suspicious"
        if result.proof is not None:
            anchor = self.anchors.reference(db.session, row.anchor_job_id)
            result.proof = {**result.proof, "anchor": anchor}
            result.anchored_at = iso(self.anchors.confirmed_at(row.anchor_job_id))
        if scan is not None:
            record_scan(db, self.settings, result, row, scan)
            if self.settings.route_checks and (scan.region is not None or scan.lat is not None):
                consumer_scans.check_scan(
                    connection=connection,
                    session=db.session,
                    tenant_id=row.tenant_id,
                    gtin=row.gtin,
                    serial=row.serial,
                    batch_id=row.batch_id,
                    region=scan.region,
                    lat=scan.lat,
                    lon=scan.lon,
                    at=utcnow(),
                )
        else:
            result.scans = stored_scans(row)
            result.warnings.extend(flags.active(row.flags, []))
        if result.verdict == "genuine":
            result.verdict = _verdict_of_genuine(result, row)
        custody = custody_events(db.connection, row.tenant_id, row.gtin, row.serial)
        result.timeline = _timeline(result, row, facts, custody)
        return result

    def _check(
        self, connection: Connection, result: Resolution, row: CodeRow, link: ItemLink
    ) -> None:
        """Every integrity check: failures go to ``reasons``, a sound proof to ``proof``."""
        if row.gtin != link.gtin:
            result.reasons.append("other_product")
        if link.lot is not None and link.lot != row.lot:
            result.reasons.append("other_lot")
        tree = self.trees.tree(connection, row.issuance_id, row.root)
        if tree is None:
            result.reasons.append("root_mismatch")
        key_id = envelope_key_id(row.sealed)
        key = self._key_state(connection, row, key_id)
        checked = self.checks.check(row, tree, key_id, key)
        result.reasons.extend(checked.reasons)
        result.leaf_input = checked.leaf_input
        result.payload = checked.payload
        result.proof = checked.proof
        if checked.shown is not None:
            assert result.product is not None and result.batch is not None
            shown = checked.shown
            result.product.update(name=shown["product"], brand=shown["brand"])
            result.batch.update(
                lot=shown["lot"],
                production_date=shown["production_date"],
                expiry=shown["expiry"],
                factory=shown["factory"],
            )

    def _key_state(self, connection: Connection, row: CodeRow, key_id: str | None) -> KeyState:
        """The stored state of the data key the envelope names (read with the row, usually)."""
        if key_id is None:
            return None
        if key_id == row.key_id:
            return None if row.key_status is None else (row.key_wrapped, row.key_status)
        return data_key(connection, row.tenant_id, key_id)

    # -- PINs and proofs ----------------------------------------------------------------------

    def verify_pin(
        self, *, session: Session, link: ItemLink, pin: str, scan: Scan
    ) -> dict[str, Any]:
        """Check a scratch-off PIN under the back-off of `pins`: it verifies once; later
        tries say when it was first used; while the code or client backs off, ``backing_off``.
        """
        row = find_code(session.connection(), link.serial or "")
        if row is None or row.gtin != link.gtin:
            self.misses.take(scan.client)
            record_miss(session.connection(), scan, "unknown_serial_pin")
            return {"result": "unknown_code"}
        if row.pin_hash is None:
            return {"result": "no_pin"}
        return self.pins.check(
            session=session, row=row, pin=pin, client_hash=scan.client_hash, now=self.clock()
        )

    def proof(self, *, session: Session, serial: str) -> dict[str, Any] | None:
        """The proof document of a code, or None if there is no sound one to give."""
        row = find_code(session.connection(), serial)
        if row is None:
            return None
        tree = self.trees.tree(session, row.issuance_id, row.root)
        if tree is None or row.idx >= tree.size:
            return None
        leaf = code_leaf_hash(leaf_template(row.gtin, row.lot), row.sealed, row.serial)
        if tree.leaf_hash_at(row.idx) != leaf:
            return None
        anchor = self.anchors.reference(lambda: session, row.anchor_job_id)
        return proof_document(tree, row.idx, anchor)


def _describe(result: Resolution, row: CodeRow, facts: IssuanceFacts) -> None:
    result.product = {
        "gtin": row.gtin,
        "name": facts.name,
        "brand": facts.brand,
        "description": facts.description,
    }
    result.batch = {
        "id": row.batch_id,
        "lot": row.lot,
        "production_date": facts.production_date.isoformat(),
        "expiry": facts.expiry.isoformat() if facts.expiry else None,
        "factory": facts.factory,
    }
    result.product["image_url"] = media_url(row.product_image_id)
    if row.brand_name is not None:
        brand = Branding(
            row.brand_name, row.brand_hotline or "", row.brand_website or "",
            media_url(row.brand_logo_id),
        )  # fmt: skip
        result.brand = {
            "display_name": brand.display_name,
            "hotline": brand.hotline,
            "hotline_uri": brand.hotline_uri,
            "website": brand.website,
            "logo_url": brand.logo_url,
        }
    result.links = dict(facts.links)
    result.pin = {"present": row.pin_hash is not None, "used_at": iso(row.pin_used_at)}
    if row.batch_status == "recalled":
        result.recall = {
            "scope": "batch",
            "at": iso(row.batch_recalled_at),
            "reason": row.batch_recall_reason,
        }
    elif row.code_recalled_at is not None:
        result.recall = {
            "scope": "item",
            "at": iso(row.code_recalled_at),
            "reason": row.code_recall_reason,
        }


def _verdict_of_genuine(result: Resolution, row: CodeRow) -> str:
    """A sound, unrecalled code: flagged as copied, waiting for its PIN, or genuine."""
    if result.warnings:
        return "possibly_copied"
    if row.pin_hash is not None and row.pin_used_at is None:
        return "pin_required"
    return "genuine"


def _timeline(
    result: Resolution, row: CodeRow, facts: IssuanceFacts, custody: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Where the item has been, oldest first."""
    events: list[dict[str, Any]] = [
        {
            "at": facts.production_date.isoformat(),
            "kind": "produced",
            "where": facts.factory,
        }
    ]
    if facts.issued_at is not None:
        events.append({"at": iso(facts.issued_at), "kind": "code_issued"})
    anchor = (result.proof or {}).get("anchor", {})
    if anchor.get("status") == "confirmed":
        events.append(
            {"at": None, "kind": "anchored", "block": anchor.get("block"), "tx": anchor.get("tx")}
        )
    events.extend(custody)
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
            {"at": iso(row.first_scan_at), "kind": "first_scan", "region": row.first_scan_region}
        )
    if result.recall:
        events.append({"at": result.recall["at"], "kind": "recalled"})
    return events
