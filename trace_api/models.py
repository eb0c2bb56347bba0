"""The ORM models: the whole schema in one place. Alembic migrations create it."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, on SQLite (no zone support) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store timezone-aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


class Base(DeclarativeBase):
    pass


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Media(Base):
    """An image a tenant uploaded (logo, product photo), re-encoded, named by its SHA-256."""

    __tablename__ = "media"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # hex SHA-256 of `data`
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    content_type: Mapped[str] = mapped_column(String(40))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TenantBranding(Base):
    """What the scan page shows of the brand: the name, hotline, website and logo."""

    __tablename__ = "tenant_branding"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    hotline: Mapped[str] = mapped_column(String(40), default="")
    website: Mapped[str] = mapped_column(String(500), default="")
    logo_id: Mapped[str | None] = mapped_column(ForeignKey("media.id"), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TenantKey(Base):
    """A tenant data key, stored only wrapped by the master key."""

    __tablename__ = "tenant_keys"

    key_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    wrapped: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    status: Mapped[str] = mapped_column(String(16))  # active | retired | shredded
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    shredded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Organisation(Base):
    """A party in a tenant's channel: the brand, a distributor, a dealer or a retailer."""

    __tablename__ = "organisations"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"), nullable=True)
    uscc: Mapped[str | None] = mapped_column(String(18), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ApiKey(Base):
    """A bearer key; only the SHA-256 of its secret is kept."""

    __tablename__ = "api_keys"
    __table_args__ = (Index("ix_api_keys_tenant_role", "tenant_id", "role"),)

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    role: Mapped[str] = mapped_column(String(16))
    organisation_id: Mapped[str | None] = mapped_column(
        ForeignKey("organisations.id"), nullable=True
    )
    label: Mapped[str] = mapped_column(String(200), default="")
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(24), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ChainDeployment(Base):
    """A TraceAnchor contract the service anchors to; one is active at a time."""

    __tablename__ = "chain_deployments"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    chain_id: Mapped[int] = mapped_column(BigInteger)
    contract_address: Mapped[str] = mapped_column(String(42))
    is_embedded: Mapped[bool] = mapped_column(default=False)
    network_label: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AnchorJob(Base):
    """Outbox row: a Merkle root to anchor, written in the transaction of the data it covers."""

    __tablename__ = "anchor_jobs"
    __table_args__ = (
        UniqueConstraint("tenant_id", "kind", "subject"),
        Index("ix_anchor_jobs_status_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(200))
    anchor_id: Mapped[str] = mapped_column(String(66), unique=True)
    root: Mapped[str] = mapped_column(String(66))
    size: Mapped[int] = mapped_column(BigInteger)
    meta: Mapped[str] = mapped_column(String(66))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    deployment_id: Mapped[int | None] = mapped_column(
        ForeignKey("chain_deployments.id"), nullable=True
    )
    tx_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    block_number: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    block_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    times_anchored: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class AuditHead(Base):
    """The size of a tenant's audit log; its row lock serialises appends per tenant."""

    __tablename__ = "audit_heads"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, default=0)


class AuditEntry(Base):
    """One leaf of a tenant's append-only log: the exact canonical JSON that was hashed."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        UniqueConstraint("tenant_id", "seq"),
        Index("ix_audit_entries_tenant_kind", "tenant_id", "kind"),
        Index("ix_audit_entries_tenant_time", "tenant_id", "recorded_at"),
        Index("ix_audit_entries_tenant_org", "tenant_id", "organisation_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    seq: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(64))
    organisation_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AuditItemRef(Base):
    """Which log entries concern an item (or case, or batch): the export's item filter."""

    __tablename__ = "audit_item_refs"

    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    item: Mapped[str] = mapped_column(String(200), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)


class AuditCheckpoint(Base):
    """A signed (tree size, root) of a tenant's log, anchored on chain through a job."""

    __tablename__ = "audit_checkpoints"
    __table_args__ = (UniqueConstraint("tenant_id", "size"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    size: Mapped[int] = mapped_column(BigInteger)
    root: Mapped[str] = mapped_column(String(66))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    body: Mapped[bytes] = mapped_column(LargeBinary)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    anchor_job_id: Mapped[int | None] = mapped_column(ForeignKey("anchor_jobs.id"), nullable=True)


class AuditWitness(Base):
    """An independent witness whose BLS key co-signs a tenant's checkpoints."""

    __tablename__ = "audit_witnesses"
    __table_args__ = (UniqueConstraint("tenant_id", "public_key"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    public_key: Mapped[bytes] = mapped_column(LargeBinary(48))
    proof_of_possession: Mapped[bytes] = mapped_column(LargeBinary(96))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AuditCosignature(Base):
    """A witness's BLS signature over one checkpoint body."""

    __tablename__ = "audit_cosignatures"

    checkpoint_id: Mapped[int] = mapped_column(ForeignKey("audit_checkpoints.id"), primary_key=True)
    witness_id: Mapped[str] = mapped_column(ForeignKey("audit_witnesses.id"), primary_key=True)
    signature: Mapped[bytes] = mapped_column(LargeBinary(96))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AuditExport(Base):
    """An audit bundle export job and, once done, its file."""

    __tablename__ = "audit_exports"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    requested_by: Mapped[str] = mapped_column(String(64))
    filters: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="running")
    entries: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


# -- codes: products, batches, per-item codes, scans ------------------------------------------
#
# `codes` is the bulk table (millions of rows per batch): an integer key, the leaf index,
# the serial and the sealed payload, nothing else. What changes after issuance (scans, PIN
# use, per-code recall) lives in `code_states`, one row per code created on first use, so
# issuing stays a pure append.

_CodeKey = BigInteger().with_variant(Integer(), "sqlite")  # SQLite: an alias of the rowid


class Product(Base):
    """A trade item: a GTIN-14 of the tenant, with its name and brand-defined links."""

    __tablename__ = "products"
    __table_args__ = (UniqueConstraint("tenant_id", "gtin"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    gtin: Mapped[str] = mapped_column(String(14))
    name: Mapped[str] = mapped_column(String(200))
    brand: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    links: Mapped[str] = mapped_column(Text, default="{}")  # JSON: GS1 link type -> URL
    product_group: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The product photo the scan page shows (uploaded by the brand, served from `media`).
    image_id: Mapped[str | None] = mapped_column(String(64), nullable=True)  # a `media` id
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Batch(Base):
    """A production lot of one product; its codes form one Merkle tree, anchored once."""

    __tablename__ = "batches"
    __table_args__ = (UniqueConstraint("tenant_id", "product_id", "lot"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    lot: Mapped[str] = mapped_column(String(20))
    production_date: Mapped[date] = mapped_column(Date)
    factory: Mapped[str] = mapped_column(String(200))
    expiry: Mapped[date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | recalled
    recalled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    recall_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CodeIssuance(Base):
    """The one issuance of a batch's codes: a job row, then the batch's Merkle root."""

    __tablename__ = "code_issuances"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"), unique=True)
    count: Mapped[int] = mapped_column(BigInteger)
    with_pins: Mapped[bool] = mapped_column(default=False)
    allocation: Mapped[str] = mapped_column(Text, default="null")  # canonical JSON or null
    # pending | running | done | failed
    status: Mapped[str] = mapped_column(String(16), default="pending")
    root: Mapped[str | None] = mapped_column(String(66), nullable=True)
    key_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    anchor_job_id: Mapped[int | None] = mapped_column(ForeignKey("anchor_jobs.id"), nullable=True)
    requested_by: Mapped[str] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class CodeTree(Base):
    """The leaf hashes of an issuance's Merkle tree, concatenated (32 bytes each, in order)."""

    __tablename__ = "code_trees"

    issuance_id: Mapped[int] = mapped_column(ForeignKey("code_issuances.id"), primary_key=True)
    leaf_hashes: Mapped[bytes] = mapped_column(LargeBinary)


class Code(Base):
    """One item's code: its serial and SM4-GCM sealed payload, leaf ``idx`` of its batch tree."""

    __tablename__ = "codes"
    __table_args__ = (Index("ix_codes_issuance_idx", "issuance_id", "idx", unique=True),)

    id: Mapped[int] = mapped_column(_CodeKey, primary_key=True, autoincrement=True)
    issuance_id: Mapped[int] = mapped_column(ForeignKey("code_issuances.id"))
    idx: Mapped[int] = mapped_column(BigInteger)
    serial: Mapped[str] = mapped_column(String(20), unique=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    pin_hash: Mapped[bytes | None] = mapped_column(LargeBinary(16), nullable=True)


class CodeState(Base):
    """What happened to a code since issuance; created on its first scan, PIN use or recall."""

    __tablename__ = "code_states"

    code_id: Mapped[int] = mapped_column(_CodeKey, ForeignKey("codes.id"), primary_key=True)
    scan_count: Mapped[int] = mapped_column(BigInteger, default=0)
    first_scan_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    first_scan_region: Mapped[str | None] = mapped_column(String(6), nullable=True)
    last_scan_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    located_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    region: Mapped[str | None] = mapped_column(String(6), nullable=True)
    pin_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The keyed hash of the client that used the PIN: the same client entering it again is
    # not a reused label.
    pin_used_by: Mapped[bytes | None] = mapped_column(LargeBinary(16), nullable=True)
    # Wrong PINs in the current streak (forgotten after a quiet day), the last one's time,
    # and until when PINs for this code are not checked (trace_api/resolver/pins.py).
    pin_failures: Mapped[int] = mapped_column(default=0)
    pin_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    pin_blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    recalled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    recall_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Clone flags raised by scans and PIN reuse (JSON: code -> the latest warning of it):
    # every later scan shows them until the brand reviews the code (trace_api/resolver/flags.py).
    flags: Mapped[str | None] = mapped_column(Text, nullable=True)
    flagged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    review_outcome: Mapped[str | None] = mapped_column(String(20), nullable=True)
    reviewed_scan_count: Mapped[int] = mapped_column(BigInteger, server_default="0")


class CodeScan(Base):
    """One consumer scan: when, where (if the client said), and a keyed hash of its IP.

    Append-only (triggers refuse UPDATE and DELETE): ``seq`` is the scan's number for its
    code, 1, 2, 3, ..., unique per code, so the records are what a scan count is checked
    against, and ``scans.sealed`` audit entries cover them (trace_api/resolver/seals.py).
    """

    __tablename__ = "code_scans"
    __table_args__ = (Index("ix_code_scans_code_seq", "code_id", "seq", unique=True),)

    id: Mapped[int] = mapped_column(_CodeKey, primary_key=True, autoincrement=True)
    code_id: Mapped[int] = mapped_column(_CodeKey, ForeignKey("codes.id"))
    seq: Mapped[int] = mapped_column(BigInteger)
    scanned_at: Mapped[datetime] = mapped_column(UTCDateTime())
    region: Mapped[str | None] = mapped_column(String(6), nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    client_hash: Mapped[bytes] = mapped_column(LargeBinary(16))
    warnings: Mapped[str] = mapped_column(String(200), default="")


class PinClient(Base):
    """Wrong PINs from one client (keyed hash of its IP) across all codes, and its back-off."""

    __tablename__ = "pin_clients"

    client_hash: Mapped[bytes] = mapped_column(LargeBinary(16), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True, index=True)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ConsumerReport(Base):
    """A shopper's report about a scanned item ("report this item" on the scan page)."""

    __tablename__ = "consumer_reports"
    __table_args__ = (Index("ix_consumer_reports_tenant_at", "tenant_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id"), nullable=True)
    code_id: Mapped[int | None] = mapped_column(_CodeKey, ForeignKey("codes.id"), nullable=True)
    gtin: Mapped[str] = mapped_column(String(14))
    lot: Mapped[str | None] = mapped_column(String(20), nullable=True)
    serial: Mapped[str] = mapped_column(String(20))
    verdict: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(30))
    message: Mapped[str] = mapped_column(Text, default="")
    where_bought: Mapped[str] = mapped_column(String(200), default="")
    contact: Mapped[str] = mapped_column(String(100), default="")
    client_hash: Mapped[bytes] = mapped_column(LargeBinary(16))
    status: Mapped[str] = mapped_column(String(20), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ResolverMiss(Base):
    """A lookup of a serial that does not exist: counted per client (keyed hash of its IP)."""

    __tablename__ = "resolver_misses"
    __table_args__ = (Index("ix_resolver_misses_client", "client_hash", "at"),)

    id: Mapped[int] = mapped_column(_CodeKey, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    client_hash: Mapped[bytes] = mapped_column(LargeBinary(16))
    reason: Mapped[str] = mapped_column(String(32))


# -- EPCIS ------------------------------------------------------------------------------------
#
# `epcis_events` keeps each captured event exactly as it came (`body`), beside the columns
# queries filter on; `epcis_event_epcs` indexes every identifier an event names, under its
# canonical key (trace_api/epcis/identifiers.py), so a query matches a URN or a Digital
# Link alike. Custody (who may read what) is materialised in `epcis_custody`.

_EventKey = BigInteger().with_variant(Integer(), "sqlite")  # SQLite: an alias of the rowid


class EpcisCaptureJob(Base):
    """One POST /epcis/capture: its state, outcome and per-event errors (JSON list)."""

    __tablename__ = "epcis_capture_jobs"
    __table_args__ = (Index("ix_epcis_capture_jobs_tenant_created", "tenant_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    requested_by: Mapped[str] = mapped_column(String(64))
    organisation_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    error_behaviour: Mapped[str] = mapped_column(String(16))  # rollback | proceed
    running: Mapped[bool] = mapped_column(default=True)
    success: Mapped[bool] = mapped_column(default=True)
    event_count: Mapped[int] = mapped_column(BigInteger, default=0)
    stored_count: Mapped[int] = mapped_column(BigInteger, default=0)
    errors: Mapped[str] = mapped_column(Text, default="[]")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class EpcisEvent(Base):
    """A captured event: the JSON as received, its ids and hashes, and its query columns."""

    __tablename__ = "epcis_events"
    __table_args__ = (
        Index("ix_epcis_events_tenant_event_id", "tenant_id", "event_id"),
        Index("ix_epcis_events_tenant_content_key", "tenant_id", "content_key"),
        Index("ix_epcis_events_tenant_event_time", "tenant_id", "event_time"),
        Index("ix_epcis_events_tenant_record_time", "tenant_id", "record_time"),
        Index("ix_epcis_events_tenant_biz_step", "tenant_id", "biz_step"),
        Index("ix_epcis_events_tenant_disposition", "tenant_id", "disposition"),
        Index("ix_epcis_events_tenant_read_point", "tenant_id", "read_point"),
        Index("ix_epcis_events_tenant_biz_location", "tenant_id", "biz_location"),
        Index("ix_epcis_events_tenant_declared_at", "tenant_id", "declared_at"),
        Index("ix_epcis_events_corrects", "corrects_id"),
        Index("ix_epcis_events_tenant_group", "tenant_id", "group_id", "id"),
    )

    id: Mapped[int] = mapped_column(_EventKey, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    event_id: Mapped[str] = mapped_column(String(1000))
    event_id_generated: Mapped[bool] = mapped_column(default=False)
    event_type: Mapped[str] = mapped_column(String(300))
    action: Mapped[str | None] = mapped_column(String(8), nullable=True)
    event_time: Mapped[datetime] = mapped_column(UTCDateTime())
    record_time: Mapped[datetime] = mapped_column(UTCDateTime())
    biz_step: Mapped[str | None] = mapped_column(String(500), nullable=True)
    disposition: Mapped[str | None] = mapped_column(String(500), nullable=True)
    read_point: Mapped[str | None] = mapped_column(String(500), nullable=True)
    biz_location: Mapped[str | None] = mapped_column(String(500), nullable=True)
    declared_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    corrects_id: Mapped[int | None] = mapped_column(_EventKey, nullable=True)
    # The order key: the event's own id, or for an error declaration the id of the event it
    # corrects, so that a query lists each declaration right after its event.
    group_id: Mapped[int] = mapped_column(_EventKey)
    capture_id: Mapped[str] = mapped_column(String(36))
    organisation_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    digest: Mapped[bytes] = mapped_column(LargeBinary(32))
    content_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    context: Mapped[str | None] = mapped_column(Text, nullable=True)
    body: Mapped[str] = mapped_column(Text)
    # The audit log entry that recorded the capture of this event (its proof).
    audit_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class EpcisEventEpc(Base):
    """An identifier an event names, by canonical key and role (epc, parent, input, ...)."""

    __tablename__ = "epcis_event_epcs"
    __table_args__ = (Index("ix_epcis_event_epcs_event", "event_pk"),)

    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    epc: Mapped[str] = mapped_column(String(500), primary_key=True)
    role: Mapped[str] = mapped_column(String(2), primary_key=True)
    event_pk: Mapped[int] = mapped_column(_EventKey, primary_key=True)


class EpcisEventParty(Base):
    """A party or place an event names (source, destination, bizLocation, readPoint)."""

    __tablename__ = "epcis_event_parties"
    __table_args__ = (Index("ix_epcis_event_parties_event", "event_pk"),)

    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    party: Mapped[str] = mapped_column(String(500), primary_key=True)
    event_pk: Mapped[int] = mapped_column(_EventKey, primary_key=True)


class EpcisPartyIdentifier(Base):
    """A GLN (party or location) that stands for one of the tenant's organisations."""

    __tablename__ = "epcis_party_identifiers"

    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    identifier: Mapped[str] = mapped_column(String(500), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class EpcisContainment(Base):
    """A parent (case, pallet) and a child it held, from aggregation events."""

    __tablename__ = "epcis_containment"

    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    parent: Mapped[str] = mapped_column(String(500), primary_key=True)
    child: Mapped[str] = mapped_column(String(500), primary_key=True)


class EpcisCustody(Base):
    """An item (canonical key) that is or was in an organisation's custody."""

    __tablename__ = "epcis_custody"

    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    epc: Mapped[str] = mapped_column(String(500), primary_key=True)


class EpcisQuery(Base):
    """A named query: its name and its EPCIS query parameters (JSON)."""

    __tablename__ = "epcis_queries"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    name: Mapped[str] = mapped_column(String(200))
    query: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class EpcisSubscription(Base):
    """A webhook subscription to a named query, with its delivery state."""

    __tablename__ = "epcis_subscriptions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    query_id: Mapped[int] = mapped_column(ForeignKey("epcis_queries.id"), index=True)
    dest: Mapped[str] = mapped_column(Text)
    signature_token: Mapped[str | None] = mapped_column(Text, nullable=True)
    stream: Mapped[bool] = mapped_column(default=True)
    schedule: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON or null
    report_if_empty: Mapped[bool] = mapped_column(default=False)
    initial_record_time: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(64))
    organisation_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | retrying
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    delivered_events: Mapped[int] = mapped_column(BigInteger, default=0)


class EpcisSubscriptionBacklog(Base):
    """A capture a subscription has still to deliver from (outbox), and how far it got."""

    __tablename__ = "epcis_subscription_backlog"

    subscription_id: Mapped[str] = mapped_column(
        ForeignKey("epcis_subscriptions.id"), primary_key=True
    )
    capture_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    after_pk: Mapped[int] = mapped_column(_EventKey, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# -- channels, allocations and diversion alerts ------------------------------------------------
#
# The channel tree is `organisations.parent_id`. What an organisation is authorised for
# (territories, product scopes, sanctioned cross-edges) is data in the tables below; so is
# which party goods were allocated to. docs/channels.md states the rules.


class ChannelTerritory(Base):
    """A GB/T 2260 division an organisation may sell in (a province or city covers all below)."""

    __tablename__ = "channel_territories"

    tenant_id: Mapped[str] = mapped_column(String(36), index=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    division_code: Mapped[str] = mapped_column(String(6), primary_key=True)


class ChannelGeofence(Base):
    """A GeoJSON Polygon or MultiPolygon an organisation may sell in, besides its divisions."""

    __tablename__ = "channel_geofences"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(String(36), index=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    geojson: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ChannelProductScope(Base):
    """A product an organisation may handle: a GTIN-14, or ``group:{name}`` for a product
    group. An organisation without any scope row may handle every product."""

    __tablename__ = "channel_product_scopes"

    tenant_id: Mapped[str] = mapped_column(String(36), index=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    scope: Mapped[str] = mapped_column(String(80), primary_key=True)


class ChannelCrossEdge(Base):
    """A sanctioned movement outside the tree (for example between two sibling dealers)."""

    __tablename__ = "channel_cross_edges"
    __table_args__ = (Index("ix_channel_cross_edges_pair", "tenant_id", "from_org", "to_org"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(String(36))
    from_org: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    to_org: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ChannelLocation(Base):
    """Where a party or location identifier (a GLN, canonical key) is: its GB/T 2260 division."""

    __tablename__ = "channel_locations"

    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    identifier: Mapped[str] = mapped_column(String(500), primary_key=True)
    division_code: Mapped[str] = mapped_column(String(6))


class Allocation(Base):
    """Goods allocated to a party for a territory. ``target_kind`` is ``item`` or
    ``container`` (``target`` a canonical identifier key) or ``batch`` (a batch id).
    A change is a new row; the old one gets ``replaced_at``."""

    __tablename__ = "allocations"
    __table_args__ = (Index("ix_allocations_target", "tenant_id", "target", "replaced_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(String(36))
    target_kind: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(500))
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    division_code: Mapped[str | None] = mapped_column(String(6), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    replaced_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ItemState(Base):
    """Where an item, case or pallet (canonical key) is now: holder, place, status, parent."""

    __tablename__ = "item_states"
    __table_args__ = (
        Index("ix_item_states_parent", "tenant_id", "parent"),
        Index("ix_item_states_holder", "tenant_id", "holder_org"),
    )

    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    item: Mapped[str] = mapped_column(String(500), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # item | container
    gtin: Mapped[str | None] = mapped_column(String(14), nullable=True)
    batch_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    # commissioned | packed | in_transit | received | sold | returned | destroyed
    status: Mapped[str] = mapped_column(String(16))
    holder_org: Mapped[str | None] = mapped_column(String(36), nullable=True)
    shipped_to_org: Mapped[str | None] = mapped_column(String(36), nullable=True)
    location: Mapped[str | None] = mapped_column(String(500), nullable=True)
    division_code: Mapped[str | None] = mapped_column(String(6), nullable=True)
    parent: Mapped[str | None] = mapped_column(String(500), nullable=True)
    last_event_pk: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ItemMovement(Base):
    """One step of an item's path: the event that moved it (directly or in a container)."""

    __tablename__ = "item_movements"

    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    item: Mapped[str] = mapped_column(String(500), primary_key=True)
    event_pk: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    step: Mapped[str] = mapped_column(String(16))  # ship | receive | sell | pack | unpack | ...
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    from_org: Mapped[str | None] = mapped_column(String(36), nullable=True)
    to_org: Mapped[str | None] = mapped_column(String(36), nullable=True)
    division_code: Mapped[str | None] = mapped_column(String(6), nullable=True)
    via: Mapped[str | None] = mapped_column(String(500), nullable=True)  # the container moved
    verdict: Mapped[str] = mapped_column(String(16))  # ok | alert | unchecked


class DiversionAlert(Base):
    """A route breach: the item or case, what was expected and observed, who is to blame."""

    __tablename__ = "diversion_alerts"
    __table_args__ = (
        Index("ix_diversion_alerts_status", "tenant_id", "status", "created_at"),
        Index("ix_diversion_alerts_subject", "tenant_id", "subject"),
        Index("ix_diversion_alerts_blamed", "tenant_id", "blamed_org"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(String(36))
    subject: Mapped[str] = mapped_column(String(500))
    subject_kind: Mapped[str] = mapped_column(String(16))  # item | container
    item_count: Mapped[int] = mapped_column(BigInteger, default=1)
    # unauthorised_edge | receipt_mismatch | outside_allocation | outside_territory
    # | product_scope | consumer_scan_outside_territory
    rule: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(16))  # low | medium | high | critical
    status: Mapped[str] = mapped_column(String(16), default="open")
    status_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    expected_org: Mapped[str | None] = mapped_column(String(36), nullable=True)
    expected_division: Mapped[str | None] = mapped_column(String(6), nullable=True)
    observed_org: Mapped[str | None] = mapped_column(String(36), nullable=True)
    observed_division: Mapped[str | None] = mapped_column(String(6), nullable=True)
    blamed_org: Mapped[str | None] = mapped_column(String(36), nullable=True)
    event_pk: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    evidence: Mapped[str] = mapped_column(Text, default="[]")  # JSON: the evidence events
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DiversionAlertChange(Base):
    """One status change of an alert: from, to, why, by whom."""

    __tablename__ = "diversion_alert_changes"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("diversion_alerts.id"), index=True)
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class EvidenceParty(Base):
    """A party that signs contract proofs: an organisation of the tenant, or an outsider
    named by name and unified social credit code."""

    __tablename__ = "evidence_parties"
    __table_args__ = (
        UniqueConstraint("tenant_id", "organisation_id"),
        UniqueConstraint("tenant_id", "uscc"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    uscc: Mapped[str | None] = mapped_column(String(18), nullable=True)
    organisation_id: Mapped[str | None] = mapped_column(
        ForeignKey("organisations.id"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class EvidencePartyKey(Base):
    """An SM2 public key of a party; signatures that arrive after its revocation fail."""

    __tablename__ = "evidence_party_keys"
    __table_args__ = (UniqueConstraint("tenant_id", "fingerprint"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    party_id: Mapped[str] = mapped_column(ForeignKey("evidence_parties.id"), index=True)
    public_key: Mapped[str] = mapped_column(String(130))  # hex of 04 || x || y
    fingerprint: Mapped[str] = mapped_column(String(64))  # hex SM3 of the key's bytes
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class LeafBatchColumns:
    """A Merkle batch of one kind of leaf (trace_api/audit/leaf_batches.py): its leaves'
    hashes in order and their root, anchored by one anchor job."""

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    size: Mapped[int] = mapped_column(Integer)
    root: Mapped[str] = mapped_column(String(64))  # hex, no 0x
    leaf_hashes: Mapped[bytes] = mapped_column(LargeBinary)  # 32 bytes each, in leaf order
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    anchored_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class EvidenceBatch(LeafBatchColumns, Base):
    """Complete proofs gathered under one Merkle root, anchored by one anchor job."""

    __tablename__ = "evidence_batches"


class Evidence(Base):
    """A contract proof: the statement its parties sign, and where its leaf is anchored.

    ``statement`` holds the exact canonical bytes signed; the columns beside it are copies
    for lists and search."""

    __tablename__ = "evidence"
    __table_args__ = (
        Index("ix_evidence_tenant_created", "tenant_id", "created_at"),
        Index("ix_evidence_tenant_status", "tenant_id", "status"),
        Index("ix_evidence_sm3", "sm3"),  # the public verification looks across tenants
        Index("ix_evidence_sha256", "sha256"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    title: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(20))
    sm3: Mapped[str | None] = mapped_column(String(64), nullable=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    statement: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(20))  # pending_signatures | complete
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    leaf_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), nullable=True)
    batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("evidence_batches.id"), nullable=True, index=True
    )
    leaf_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    document_key_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    document_chunks: Mapped[int] = mapped_column(Integer, default=0)


class EvidenceSigner(Base):
    """A party of a proof, in the statement's order; a required one must sign."""

    __tablename__ = "evidence_signers"

    evidence_id: Mapped[str] = mapped_column(ForeignKey("evidence.id"), primary_key=True)
    party_id: Mapped[str] = mapped_column(
        ForeignKey("evidence_parties.id"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    required: Mapped[bool] = mapped_column(default=True)


class EvidenceSignature(Base):
    """A party's verified SM2 signature over a proof's statement."""

    __tablename__ = "evidence_signatures"
    __table_args__ = (UniqueConstraint("evidence_id", "party_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    evidence_id: Mapped[str] = mapped_column(ForeignKey("evidence.id"), index=True)
    party_id: Mapped[str] = mapped_column(ForeignKey("evidence_parties.id"))
    key_id: Mapped[str] = mapped_column(ForeignKey("evidence_party_keys.id"))
    signature: Mapped[str] = mapped_column(String(160))  # hex DER, at most 72 bytes
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class EvidenceLink(Base):
    """An object of the tenant a proof is about (an organisation, product, batch, ...)."""

    __tablename__ = "evidence_links"
    __table_args__ = (Index("ix_evidence_links_object", "link_type", "object_id"),)

    evidence_id: Mapped[str] = mapped_column(ForeignKey("evidence.id"), primary_key=True)
    link_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    object_id: Mapped[str] = mapped_column(String(200), primary_key=True)


class EvidenceDocumentChunk(Base):
    """One SM4-GCM sealed chunk of a proof's stored document (see trace_api/evidence)."""

    __tablename__ = "evidence_document_chunks"

    evidence_id: Mapped[str] = mapped_column(ForeignKey("evidence.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)


class InvoiceProfile(Base):
    """What an invoice says of an organisation beyond its name and credit code: where it
    is (its GB/T 2260 division gives an issuer's province code), phone, bank and account,
    and, for an issuer, the channel digit of its numbers."""

    __tablename__ = "invoice_profiles"

    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    division_code: Mapped[str] = mapped_column(String(6))
    address: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(200), default="")
    bank: Mapped[str] = mapped_column(String(200), default="")
    account: Mapped[str] = mapped_column(String(200), default="")
    channel: Mapped[int] = mapped_column(Integer, default=2)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class InvoiceSequence(Base):
    """The last invoice sequence number a tenant used in a year; taken and raised in the
    issuing transaction, so numbers are never shared and a failed issue leaves no gap."""

    __tablename__ = "invoice_sequences"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(BigInteger, default=0)


class InvoiceBatch(LeafBatchColumns, Base):
    """Issued invoices gathered under one Merkle root, anchored by one anchor job."""

    __tablename__ = "invoice_batches"


class Invoice(Base):
    """An issued invoice (blue, or red reversing a blue one): its XML exactly as issued, its
    digest and leaf, and copies of its figures (in fen) for lists, checks and filing."""

    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        UniqueConstraint("tenant_id", "year", "sequence"),
        Index("ix_invoices_tenant_issued", "tenant_id", "issued_at"),
        Index("ix_invoices_number", "number"),  # the public check looks across tenants
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    number: Mapped[str] = mapped_column(String(20))
    year: Mapped[int] = mapped_column(Integer)
    sequence: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(8))  # special | normal
    colour: Mapped[str] = mapped_column(String(4))  # blue | red
    # A blue invoice: normal | partly_reversed | reversed (正常, 部分红冲, 全额红冲).
    status: Mapped[str] = mapped_column(String(16))
    original_id: Mapped[str | None] = mapped_column(ForeignKey("invoices.id"), nullable=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    issued_by: Mapped[str] = mapped_column(String(64))
    seller_org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    buyer_org_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"), nullable=True)
    buyer_name: Mapped[str] = mapped_column(String(200))
    buyer_credit_code: Mapped[str | None] = mapped_column(String(18), nullable=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    tax_fen: Mapped[int] = mapped_column(BigInteger)
    total_fen: Mapped[int] = mapped_column(BigInteger)
    reversed_fen: Mapped[int] = mapped_column(BigInteger, default=0)  # a blue one's red sum
    red_reason: Mapped[str | None] = mapped_column(String(2), nullable=True)
    # When the buyer confirmed a 专票's use (用途确认): from then on a red invoice needs a
    # red-letter confirmation the buyer confirms.
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    xml: Mapped[bytes] = mapped_column(LargeBinary)
    digest: Mapped[bytes] = mapped_column(LargeBinary(32))
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("invoice_batches.id"), nullable=True, index=True
    )
    leaf_index: Mapped[int | None] = mapped_column(Integer, nullable=True)


class InvoiceLine(Base):
    """One line of an issued invoice; a blue line also counts what red invoices took back
    of it (quantity as a decimal string, amount and tax in fen), so none takes back more."""

    __tablename__ = "invoice_lines"

    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    original_position: Mapped[int | None] = mapped_column(Integer, nullable=True)
    product_id: Mapped[str | None] = mapped_column(ForeignKey("products.id"), nullable=True)
    name: Mapped[str] = mapped_column(String(100))
    tax_code: Mapped[str] = mapped_column(String(19))
    rate: Mapped[str] = mapped_column(String(8))
    discount: Mapped[bool] = mapped_column(default=False)
    quantity: Mapped[str | None] = mapped_column(String(20), nullable=True)
    unit_price: Mapped[str | None] = mapped_column(String(20), nullable=True)
    price_includes_tax: Mapped[bool] = mapped_column(default=False)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    tax_fen: Mapped[int] = mapped_column(BigInteger)
    reversed_quantity: Mapped[str] = mapped_column(String(20), default="0")
    reversed_amount_fen: Mapped[int] = mapped_column(BigInteger, default=0)  # <= 0
    reversed_tax_fen: Mapped[int] = mapped_column(BigInteger, default=0)  # <= 0


class RedConfirmation(Base):
    """A red-letter confirmation (红字确认单): what a red invoice is to take back of a 专票
    its buyer accepted, entered by the seller and confirmed (or refused) by the buyer."""

    __tablename__ = "red_confirmations"
    __table_args__ = (UniqueConstraint("tenant_id", "number"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    number: Mapped[str] = mapped_column(String(24))
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    reason: Mapped[str] = mapped_column(String(2))
    lines: Mapped[str] = mapped_column(Text)  # JSON: [{"position", "quantity"}] or null: all
    # awaiting_buyer | confirmed | refused | withdrawn
    status: Mapped[str] = mapped_column(String(16))
    entered_by: Mapped[str] = mapped_column(String(64))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    red_invoice_id: Mapped[str | None] = mapped_column(ForeignKey("invoices.id"), nullable=True)


class InvoiceItem(Base):
    """How a product is invoiced: its 「*简称*名称」, tax classification code, rate, unit."""

    __tablename__ = "invoice_items"

    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    tax_code: Mapped[str] = mapped_column(String(19))
    rate: Mapped[str] = mapped_column(String(8))
    unit: Mapped[str] = mapped_column(String(20), default="")
    specification: Mapped[str] = mapped_column(String(100), default="")


class InvoicePrice(Base):
    """A product's unit price for a channel (the buyer organisation's kind)."""

    __tablename__ = "invoice_prices"

    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    unit_price: Mapped[str] = mapped_column(String(20))
    price_includes_tax: Mapped[bool] = mapped_column(default=True)


class InvoiceShipment(Base):
    """A shipment (an EPCIS event) an invoice was drafted from: each is invoiced once."""

    __tablename__ = "invoice_shipments"
    __table_args__ = (UniqueConstraint("tenant_id", "event_pk"),)

    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), primary_key=True)
    event_pk: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
