"""Finding a tenant's invoices: one by number, and pages of them newest first. A dealer
(``viewer_org``) sees only the invoices its organisation is the buyer of."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from trace_api.cursors import decode_cursor, encode_cursor
from trace_api.errors import NotFound
from trace_api.models import Invoice


def get_invoice(
    *, session: Session, tenant_id: str, number: str, viewer_org: str | None = None
) -> Invoice:
    row = session.scalar(
        select(Invoice).where(Invoice.tenant_id == tenant_id, Invoice.number == number)
    )
    if row is None or (viewer_org is not None and row.buyer_org_id != viewer_org):
        raise NotFound(f"no invoice {number}")
    return row


def list_invoices(
    *,
    session: Session,
    tenant_id: str,
    viewer_org: str | None = None,
    colour: str | None = None,
    buyer: str | None = None,
    issued_from: datetime | None = None,
    issued_to: datetime | None = None,
    limit: int = 100,
    cursor: str | None = None,
) -> tuple[list[Invoice], str | None]:
    query = select(Invoice).where(Invoice.tenant_id == tenant_id)
    if viewer_org is not None:
        query = query.where(Invoice.buyer_org_id == viewer_org)
    if colour is not None:
        query = query.where(Invoice.colour == colour)
    if buyer is not None:
        query = query.where(Invoice.buyer_org_id == buyer)
    if issued_from is not None:
        query = query.where(Invoice.issued_at >= issued_from)
    if issued_to is not None:
        query = query.where(Invoice.issued_at < issued_to)
    if cursor is not None:
        at, last = decode_cursor(cursor)
        query = query.where(
            or_(Invoice.issued_at < at, and_(Invoice.issued_at == at, Invoice.id < last))
        )
    rows = list(
        session.scalars(
            query.order_by(Invoice.issued_at.desc(), Invoice.id.desc()).limit(limit + 1)
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].issued_at, rows[-1].id) if more and rows else None
