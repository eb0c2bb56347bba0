"""Reading a scanned code: one query for what can change, a cache for what cannot.

Per request, one statement reads the code row, its issuance (root, anchor job, data key),
its batch's lot and recall state, its product's GTIN and photo, its state (scans, PIN,
recall, flags), the data key's wrapped material and status, and the brand's branding:
everything a verdict and its page depend on, so altering any of it in the database shows
at the next scan. What a batch shows and never changes
after issuance (names, dates, factory, links, the issue time) is read once per issuance.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Connection, and_, bindparam, select

from crypto.errors import InvalidSerial
from crypto.serials import validate_serial
from trace_api.models import (
    Batch,
    Code,
    CodeIssuance,
    CodeState,
    Product,
    TenantBranding,
    TenantKey,
)
from trace_api.resolver.statements import first_row


@dataclass(frozen=True, slots=True)
class CodeRow:
    """One code as stored now, with everything its verdict depends on."""

    code_id: int
    idx: int
    serial: str
    sealed: bytes
    pin_hash: bytes | None
    issuance_id: int
    tenant_id: str
    root: str | None
    anchor_job_id: int | None
    key_id: str | None  # the issuance's data key
    batch_id: str
    lot: str
    batch_status: str
    batch_recalled_at: datetime | None
    batch_recall_reason: str | None
    gtin: str
    scan_count: int | None
    first_scan_at: datetime | None
    first_scan_region: str | None
    located_at: datetime | None
    lat: float | None
    lon: float | None
    region: str | None
    pin_used_at: datetime | None
    pin_failures: int | None
    pin_blocked_until: datetime | None
    code_recalled_at: datetime | None
    code_recall_reason: str | None
    pin_used_by: bytes | None
    flags: str | None  # JSON, see flags.py
    review_outcome: str | None
    reviewed_scan_count: int | None
    key_wrapped: bytes | None  # of the issuance's data key; None once shredded
    key_status: str | None
    product_image_id: str | None
    brand_name: str | None  # the tenant's branding; None if it never set any
    brand_hotline: str | None
    brand_website: str | None
    brand_logo_id: str | None


@dataclass(frozen=True, slots=True)
class IssuanceFacts:
    """What a batch shows that cannot change once its codes are issued."""

    name: str
    brand: str
    description: str
    links: dict[str, str]
    production_date: date
    expiry: date | None
    factory: str
    issued_at: datetime | None


_LOOKUP = (
    select(
        Code.id,
        Code.idx,
        Code.serial,
        Code.sealed,
        Code.pin_hash,
        CodeIssuance.id,
        CodeIssuance.tenant_id,
        CodeIssuance.root,
        CodeIssuance.anchor_job_id,
        CodeIssuance.key_id,
        Batch.id,
        Batch.lot,
        Batch.status,
        Batch.recalled_at,
        Batch.recall_reason,
        Product.gtin,
        CodeState.scan_count,
        CodeState.first_scan_at,
        CodeState.first_scan_region,
        CodeState.located_at,
        CodeState.lat,
        CodeState.lon,
        CodeState.region,
        CodeState.pin_used_at,
        CodeState.pin_failures,
        CodeState.pin_blocked_until,
        CodeState.recalled_at,
        CodeState.recall_reason,
        CodeState.pin_used_by,
        CodeState.flags,
        CodeState.review_outcome,
        CodeState.reviewed_scan_count,
        TenantKey.wrapped,
        TenantKey.status,
        Product.image_id,
        TenantBranding.display_name,
        TenantBranding.hotline,
        TenantBranding.website,
        TenantBranding.logo_id,
    )
    .join(CodeIssuance, CodeIssuance.id == Code.issuance_id)
    .join(Batch, Batch.id == CodeIssuance.batch_id)
    .join(Product, Product.id == Batch.product_id)
    .outerjoin(CodeState, CodeState.code_id == Code.id)
    .outerjoin(
        TenantKey,
        and_(
            TenantKey.key_id == CodeIssuance.key_id, TenantKey.tenant_id == CodeIssuance.tenant_id
        ),
    )
    .outerjoin(TenantBranding, TenantBranding.tenant_id == CodeIssuance.tenant_id)
    .where(Code.serial == bindparam("serial"))
)
_SERIAL = ("serial",)
_FACTS = (
    select(
        Product.name,
        Product.brand,
        Product.description,
        Product.links,
        Batch.production_date,
        Batch.expiry,
        Batch.factory,
        CodeIssuance.finished_at,
    )
    .join(Batch, Batch.id == CodeIssuance.batch_id)
    .join(Product, Product.id == Batch.product_id)
    .where(CodeIssuance.id == bindparam("issuance_id"))
)
_KEY = select(TenantKey.wrapped, TenantKey.status).where(
    TenantKey.key_id == bindparam("key_id"), TenantKey.tenant_id == bindparam("tenant_id")
)


def find_code(connection: Connection, serial: str) -> CodeRow | None:
    """The code with this serial (as typed: Crockford's reading rules apply), or None."""
    try:
        normal = validate_serial(serial)
    except InvalidSerial:
        return None
    found = first_row(connection, _LOOKUP, _SERIAL, {"serial": normal})
    return None if found is None else CodeRow(*cast(tuple[Any, ...], found))


def data_key(
    connection: Connection, tenant_id: str, key_id: str
) -> tuple[bytes | None, str] | None:
    """A data key's wrapped material and status, or None if the tenant never had it."""
    found = connection.execute(_KEY, {"key_id": key_id, "tenant_id": tenant_id}).first()
    return None if found is None else (found[0], found[1])


class FactsCache:
    """`IssuanceFacts` by issuance id, read from the database once each."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self._facts: dict[int, IssuanceFacts] = {}
        self._max_entries = max_entries
        self._lock = threading.Lock()

    def get(self, connection: Connection, issuance_id: int) -> IssuanceFacts:
        """The facts of an issuance, read on first use."""
        facts = self._facts.get(issuance_id)
        if facts is not None:
            return facts
        row = connection.execute(_FACTS, {"issuance_id": issuance_id}).one()
        name, brand, description, links, production_date, expiry, factory, issued_at = row
        facts = IssuanceFacts(
            name, brand, description, json.loads(links), production_date, expiry, factory,
            issued_at,
        )  # fmt: skip
        with self._lock:
            if len(self._facts) >= self._max_entries:
                self._facts.clear()
            self._facts[issuance_id] = facts
        return facts
