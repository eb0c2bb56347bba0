"""Products, batches, issuances and per-code actions; every change lands in the audit log.

Services never commit: the caller owns the transaction (one per request or job).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import rfc8785
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crypto.errors import InvalidSerial
from crypto.serials import validate_serial
from trace_api.audit import log as audit_log
from trace_api.codes.errors import InvalidDigitalLink
from trace_api.codes.gs1 import check_ai_value, item_uri, normalise_gtin
from trace_api.errors import Conflict, InvalidInput, NotFound
from trace_api.models import Batch, Code, CodeIssuance, CodeState, Product, utcnow
from trace_api.owned import get_owned
from trace_api.tenancy import service as tenancy_service

# GS1 link types a brand may set on a product (https://gs1.org/voc/, "gs1:" prefix).
LINK_TYPES = frozenset(
    {
        "gs1:pip",
        "gs1:recallStatus",
        "gs1:certificationInfo",
        "gs1:instructions",
        "gs1:sustainabilityInfo",
        "gs1:nutritionalInfo",
        "gs1:allergenInfo",
        "gs1:safetyInfo",
        "gs1:promotion",
        "gs1:support",
        "gs1:registerProduct",
        "gs1:faqs",
        "gs1:review",
        "gs1:relatedVideo",
        "gs1:tutorial",
        "gs1:brandHomepageProduct",
        "gs1:hasRetailers",
        "gs1:verificationService",
        "gs1:masterData",
    }
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def pin_key(master_key: bytes) -> bytes:
    """The key of the PIN hashes, derived from the master key."""
    return hmac.new(master_key, b"tracechain/pin-hash/v1", hashlib.sha256).digest()


def _text(value: str, what: str) -> str:
    value = value.strip()
    if _CONTROL.search(value):
        raise InvalidInput(f"{what} may not contain control characters")
    return value


def check_links(links: dict[str, str]) -> dict[str, str]:
    """Brand-defined links: known GS1 link types to absolute http(s) URLs."""
    for link_type, url in links.items():
        if link_type not in LINK_TYPES:
            known = ", ".join(sorted(LINK_TYPES))
            raise InvalidInput(f"unknown link type {link_type!r}; use one of {known}")
        if not re.fullmatch(r"https?://[^\s<>\"]+", url):
            raise InvalidInput(f"link {link_type} must be an absolute http(s) URL")
    return dict(sorted(links.items()))


def create_product(
    *,
    session: Session,
    tenant_id: str,
    gtin: str,
    name: str,
    brand: str = "",
    description: str = "",
    links: dict[str, str] | None = None,
    product_group: str | None = None,
    actor: str = audit_log.SYSTEM,
) -> Product:
    """A product of the tenant; its GTIN is validated and stored as GTIN-14."""
    gtin14 = normalise_gtin(gtin)
    group = product_group_name(product_group) if product_group is not None else None
    record = Product(
        tenant_id=tenant_id,
        gtin=gtin14,
        name=_text(name, "name"),
        brand=_text(brand, "brand"),
        description=description.strip(),
        links=json.dumps(check_links(links or {}), ensure_ascii=False),
        product_group=group,
    )
    try:
        with session.begin_nested():
            session.add(record)
            session.flush()
    except IntegrityError as exc:
        raise Conflict(f"a product with GTIN {gtin14} exists already") from exc
    audit_log.append(
        session=session,
        tenant_id=tenant_id,
        kind="product.created",
        actor=actor,
        items=[record.id],
        data={"id": record.id, "gtin": gtin14, "name": record.name, "brand": record.brand}
        | ({"product_group": group} if group is not None else {}),
    )
    return record


def product_group_name(value: str) -> str:
    """A product group name: 1 to 64 characters without control characters, trimmed."""
    name = value.strip()
    if not name or len(name) > 64 or _CONTROL.search(name):
        raise InvalidInput(f"product group {value!r}: 1 to 64 characters, no control characters")
    return name


def set_product_group(
    *,
    session: Session,
    tenant_id: str,
    product_id: str,
    product_group: str | None,
    actor: str = audit_log.SYSTEM,
) -> Product:
    """Put a product in a group (channel product scopes name groups), or take it out."""
    record = get_product(session=session, tenant_id=tenant_id, product_id=product_id)
    group = product_group_name(product_group) if product_group is not None else None
    previous = record.product_group
    if group == previous:
        return record
    record.product_group = group
    session.flush()
    audit_log.append(
        session=session,
        tenant_id=tenant_id,
        kind="product.group_changed",
        actor=actor,
        items=[record.id],
        data={"id": record.id, "gtin": record.gtin, "product_group": group, "previous": previous},
    )
    return record


def get_product(*, session: Session, tenant_id: str, product_id: str) -> Product:
    """One of the tenant's products; another tenant's is NotFound."""
    return get_owned(session, Product, product_id, tenant_id=tenant_id, noun="product")


def list_products(*, session: Session, tenant_id: str) -> list[Product]:
    """The tenant's products by GTIN."""
    query = select(Product).where(Product.tenant_id == tenant_id).order_by(Product.gtin)
    return list(session.scalars(query))


def create_batch(
    *,
    session: Session,
    tenant_id: str,
    product_id: str,
    lot: str,
    production_date: date,
    factory: str,
    expiry: date | None = None,
    actor: str = audit_log.SYSTEM,
) -> Batch:
    """A batch (lot) of one of the tenant's products."""
    product = get_product(session=session, tenant_id=tenant_id, product_id=product_id)
    try:
        lot = check_ai_value("10", lot)
    except InvalidDigitalLink as exc:
        raise InvalidInput(f"lot: {exc.detail}") from None
    if expiry is not None and expiry < production_date:
        raise InvalidInput("expiry cannot be before the production date")
    record = Batch(
        tenant_id=tenant_id,
        product_id=product.id,
        lot=lot,
        production_date=production_date,
        factory=_text(factory, "factory"),
        expiry=expiry,
        status="active",
    )
    try:
        with session.begin_nested():
            session.add(record)
            session.flush()
    except IntegrityError as exc:
        raise Conflict(f"product {product.gtin} has a lot {lot!r} already") from exc
    audit_log.append(
        session=session,
        tenant_id=tenant_id,
        kind="batch.created",
        actor=actor,
        items=[record.id],
        data={
            "id": record.id,
            "product_id": product.id,
            "gtin": product.gtin,
            "lot": lot,
            "production_date": production_date.isoformat(),
            "expiry": expiry.isoformat() if expiry else None,
            "factory": record.factory,
        },
    )
    return record


def get_batch(*, session: Session, tenant_id: str, batch_id: str) -> Batch:
    """One of the tenant's batches; another tenant's is NotFound."""
    return get_owned(session, Batch, batch_id, tenant_id=tenant_id, noun="batch")


def list_batches(*, session: Session, tenant_id: str, product_id: str | None = None) -> list[Batch]:
    """The tenant's batches, newest first, optionally of one product."""
    query = select(Batch).where(Batch.tenant_id == tenant_id)
    if product_id is not None:
        query = query.where(Batch.product_id == product_id)
    return list(session.scalars(query.order_by(Batch.created_at.desc(), Batch.id)))


def recall_batch(
    *, session: Session, tenant_id: str, batch_id: str, reason: str, actor: str
) -> Batch:
    """Recall a whole batch: every code of it answers "recalled" (410) from now on."""
    record = get_batch(session=session, tenant_id=tenant_id, batch_id=batch_id)
    if record.status == "recalled":
        return record
    record.status = "recalled"
    record.recalled_at = utcnow()
    record.recall_reason = _text(reason, "reason")
    session.flush()
    audit_log.append(
        session=session,
        tenant_id=tenant_id,
        kind="batch.recalled",
        actor=actor,
        items=[batch_id],
        data={"batch_id": batch_id, "reason": record.recall_reason},
    )
    return record


def start_issuance(
    *,
    session: Session,
    tenant_id: str,
    batch_id: str,
    count: int,
    with_pins: bool,
    allocation: dict[str, Any] | None,
    max_count: int,
    actor: str,
) -> CodeIssuance:
    """The job row of a batch's one issuance (a batch's codes form one anchored tree)."""
    batch = get_batch(session=session, tenant_id=tenant_id, batch_id=batch_id)
    if batch.status == "recalled":
        raise Conflict(f"batch {batch_id} is recalled: no new codes")
    if not 1 <= count <= max_count:
        raise InvalidInput(f"count must be between 1 and {max_count}")
    if allocation and allocation.get("organisation_id"):
        tenancy_service.get_organisation(
            session=session, tenant_id=tenant_id, organisation_id=allocation["organisation_id"]
        )
    existing = session.scalar(select(CodeIssuance.id).where(CodeIssuance.batch_id == batch_id))
    if existing is not None:
        raise Conflict(
            f"batch {batch_id} has its codes already (issuance {existing}): a batch's codes "
            "are one anchored tree, issued once; create another batch for more"
        )
    record = CodeIssuance(
        tenant_id=tenant_id,
        batch_id=batch_id,
        count=count,
        with_pins=with_pins,
        allocation=rfc8785.dumps(allocation).decode() if allocation else "null",
        status="pending",
        requested_by=actor,
    )
    try:
        with session.begin_nested():
            session.add(record)
            session.flush()
    except IntegrityError as exc:
        raise Conflict(f"batch {batch_id} is being issued already") from exc
    return record


@dataclass(frozen=True)
class IssuedItem:
    """A code as its issuance hands it out: serial, Digital Link URI and PIN (if any)."""

    serial: str
    uri: str
    pin: str | None


def issued_items(
    *, session: Session, issuance: CodeIssuance, base_url: str, pins: dict[str, str]
) -> list[IssuedItem]:
    """The codes of a finished issuance in leaf order, each with its URI and PIN."""
    batch = session.get(Batch, issuance.batch_id)
    product = session.get(Product, batch.product_id) if batch else None
    assert batch is not None and product is not None
    serials = session.scalars(
        select(Code.serial).where(Code.issuance_id == issuance.id).order_by(Code.idx)
    )
    return [
        IssuedItem(s, item_uri(base_url, product.gtin, batch.lot, s), pins.get(s)) for s in serials
    ]


def get_issuance(*, session: Session, tenant_id: str, issuance_id: int) -> CodeIssuance:
    """One of the tenant's issuances; another tenant's is NotFound."""
    return get_owned(session, CodeIssuance, issuance_id, tenant_id=tenant_id, noun="code issuance")


def issuance_of_batch(*, session: Session, batch_id: str) -> CodeIssuance | None:
    """The issuance of a batch, if its codes were asked for."""
    return session.scalar(select(CodeIssuance).where(CodeIssuance.batch_id == batch_id))


def get_code(*, session: Session, tenant_id: str, serial: str) -> tuple[Code, CodeIssuance]:
    """One of the tenant's codes by serial (Crockford reading rules apply)."""
    try:
        normal = validate_serial(serial)
    except InvalidSerial:
        raise NotFound(f"no code {serial}") from None
    row = session.execute(
        select(Code, CodeIssuance)
        .join(CodeIssuance, CodeIssuance.id == Code.issuance_id)
        .where(Code.serial == normal)
    ).first()
    if row is None or row[1].tenant_id != tenant_id:
        raise NotFound(f"no code {serial}")
    return row[0], row[1]


def code_state(*, session: Session, code_id: int) -> CodeState | None:
    """What happened to a code since issuance (None: nothing yet)."""
    return session.get(CodeState, code_id)


@dataclass(frozen=True)
class CodeView:
    """One code as its tenant sees it: where it belongs and what has happened to it."""

    code: Code
    issuance: CodeIssuance
    batch: Batch
    product: Product
    state: CodeState | None  # None: nothing has happened to it yet
    uri: str  # its GS1 Digital Link


def code_view(*, session: Session, tenant_id: str, serial: str, base_url: str) -> CodeView:
    """One of the tenant's codes by serial, with its batch, product and state."""
    code, issuance = get_code(session=session, tenant_id=tenant_id, serial=serial)
    batch = session.get(Batch, issuance.batch_id)
    assert batch is not None
    product = session.get(Product, batch.product_id)
    assert product is not None
    uri = item_uri(base_url, product.gtin, batch.lot, code.serial)
    state = code_state(session=session, code_id=code.id)
    return CodeView(code, issuance, batch, product, state, uri)


def recall_code(
    *, session: Session, tenant_id: str, serial: str, reason: str, actor: str
) -> CodeState:
    """Recall one item: its code answers "recalled" (410) from now on."""
    code, issuance = get_code(session=session, tenant_id=tenant_id, serial=serial)
    now = utcnow()
    reason = _text(reason, "reason")
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(CodeState).values(
        code_id=code.id, scan_count=0, pin_failures=0, recalled_at=now, recall_reason=reason
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["code_id"],
            set_={"recalled_at": now, "recall_reason": reason},
        )
    )
    audit_log.append(
        session=session,
        tenant_id=tenant_id,
        kind="code.recalled",
        actor=actor,
        items=[code.serial, issuance.batch_id],
        data={"serial": code.serial, "batch_id": issuance.batch_id, "reason": reason},
    )
    state = session.get(CodeState, code.id, populate_existing=True)
    assert state is not None
    return state
