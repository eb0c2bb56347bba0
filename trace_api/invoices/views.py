"""Invoices as the API shows them: figures in yuan with two decimals, the remaining
balance a red-letter invoice may still take back, and the lines."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance.invoice import amount_in_words
from compliance.invoice.money import money_text
from trace_api.instants import iso
from trace_api.invoices.schemas import InvoiceLineOut, InvoiceOut
from trace_api.models import Invoice, InvoiceLine


def yuan(fen: int) -> Decimal:
    return Decimal(fen).scaleb(-2)


def yuan_text(fen: int) -> str:
    """An amount in fen as invoices print it: yuan with exactly two decimals."""
    return money_text(yuan(fen))


def lines_of(session: Session, rows: list[Invoice]) -> dict[str, list[InvoiceLine]]:
    """Each invoice's lines in order, in one query for all of them."""
    lines: dict[str, list[InvoiceLine]] = {row.id: [] for row in rows}
    if rows:
        query = (
            select(InvoiceLine)
            .where(InvoiceLine.invoice_id.in_(list(lines)))
            .order_by(InvoiceLine.invoice_id, InvoiceLine.position)
        )
        for line in session.scalars(query):
            lines[line.invoice_id].append(line)
    return lines


def original_numbers(session: Session, rows: list[Invoice]) -> dict[str, str]:
    """The number of each blue invoice the red ones among ``rows`` reverse, by its id."""
    originals = [row.original_id for row in rows if row.original_id is not None]
    if not originals:
        return {}
    found = session.execute(select(Invoice.id, Invoice.number).where(Invoice.id.in_(originals)))
    return {invoice_id: number for invoice_id, number in found}


def invoice_views(session: Session, rows: list[Invoice]) -> list[InvoiceOut]:
    """Each invoice with its lines."""
    lines = lines_of(session, rows)
    numbers = original_numbers(session, rows)
    return [
        InvoiceOut(
            id=row.id,
            number=row.number,
            kind=row.kind,
            colour=row.colour,
            status=row.status,
            original=numbers.get(row.original_id) if row.original_id else None,
            issued_at=iso(row.issued_at),
            seller_organisation_id=row.seller_org_id,
            buyer_organisation_id=row.buyer_org_id,
            buyer_name=row.buyer_name,
            buyer_credit_code=row.buyer_credit_code,
            amount=yuan_text(row.amount_fen),
            tax=yuan_text(row.tax_fen),
            total=yuan_text(row.total_fen),
            total_in_words=amount_in_words(yuan(row.total_fen)),
            reversed_total=yuan_text(row.reversed_fen),
            remaining_total=yuan_text(row.total_fen + row.reversed_fen),
            digest_sm3=bytes(row.digest).hex(),
            batch=row.batch_id,
            lines=[
                InvoiceLineOut(
                    position=line.position,
                    name=line.name,
                    tax_code=line.tax_code,
                    rate=line.rate,
                    discount=line.discount,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    price_includes_tax=line.price_includes_tax,
                    amount=yuan_text(line.amount_fen),
                    tax=yuan_text(line.tax_fen),
                    total=yuan_text(line.amount_fen + line.tax_fen),
                    reversed_quantity=line.reversed_quantity,
                    reversed_total=yuan_text(line.reversed_amount_fen + line.reversed_tax_fen),
                )
                for line in lines[row.id]
            ],
        )
        for row in rows
    ]
