"""An invoice's proof: its XML with TraceProof once it is batched, and the public check by
number, date and amount.

`InvoiceProofs` is the component the routes share: the batch trees it keeps and the
per-client budget of public checks. The public answer says what the buyer or a tax officer
who holds the invoice needs to know (status, what red invoices took back, the digest, the
proof and its anchor) and nothing about the buyer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance._wire import canonical_json
from compliance.invoice.xml import with_proof
from trace_api.audit import leaf_proofs
from trace_api.audit.leaf_proofs import BatchTrees
from trace_api.invoices.batches import INVOICES
from trace_api.invoices.numbering import CHINA
from trace_api.invoices.views import yuan_text
from trace_api.models import Invoice, Organisation
from trace_api.ratelimit import TokenBuckets

MAX_MATCHES = 5


@dataclass
class InvoiceProofs:
    """What the invoice proof routes share for the app's lifetime."""

    trees: BatchTrees
    public_requests: TokenBuckets

    def proof(self, session: Session, row: Invoice) -> dict[str, Any] | None:
        job = leaf_proofs.batch_job(session, INVOICES, row.tenant_id, row.batch_id)
        return leaf_proofs.leaf_proof(session, self.trees, row, job)

    def xml(self, session: Session, row: Invoice) -> bytes:
        """The invoice as issued, with its proof once it is batched."""
        proof = self.proof(session, row)
        if proof is None:
            return bytes(row.xml)
        return with_proof(bytes(row.xml), canonical_json(proof).decode())


def new_invoice_proofs(rate: float, burst: float) -> InvoiceProofs:
    return InvoiceProofs(trees=BatchTrees(INVOICES), public_requests=TokenBuckets(rate, burst))


def matching(session: Session, number: str, on: date, total: Decimal) -> list[Invoice]:
    """The invoices of this number (in any tenant) issued on ``on`` (Beijing time) for this
    total with tax: all three must match, in the query itself (numbers repeat across
    tenants, whose sequences each start at 1)."""
    start = datetime.combine(on, time(), CHINA)
    fen = int(total * 100)
    return list(
        session.scalars(
            select(Invoice)
            .where(
                Invoice.number == number,
                Invoice.total_fen == fen,
                Invoice.issued_at >= start,
                Invoice.issued_at < start + timedelta(days=1),
            )
            .order_by(Invoice.id)
            .limit(MAX_MATCHES)
        )
    )


def public_answer(session: Session, proofs: InvoiceProofs, row: Invoice) -> dict[str, Any]:
    reds = list(
        session.execute(
            select(Invoice.number, Invoice.total_fen)
            .where(Invoice.original_id == row.id)
            .order_by(Invoice.issued_at, Invoice.id)
        )
    )
    original = session.get(Invoice, row.original_id) if row.original_id else None
    proof = proofs.proof(session, row)
    anchored = proof is not None and proof["anchor"].get("status") == "confirmed"
    seller = session.get(Organisation, row.seller_org_id)
    return {
        "number": row.number,
        # As the seller declared itself to the service: a tenant's credit codes are its
        # own statement, not proof of who it is (docs/invoices.md).
        "seller": {"name": seller.name, "credit_code": seller.uscc} if seller else None,
        "kind": row.kind,
        "colour": row.colour,
        "status": row.status,
        "issued_at": row.issued_at.astimezone(CHINA).isoformat(),
        "total": yuan_text(row.total_fen),
        "tax": yuan_text(row.tax_fen),
        "reversed_total": yuan_text(row.reversed_fen),
        "remaining_total": yuan_text(row.total_fen + row.reversed_fen),
        "red_invoices": [{"number": n, "total": yuan_text(t)} for n, t in reds],
        "original": original.number if original else None,
        "digest_sm3": bytes(row.digest).hex(),
        "anchored": anchored,
        "proof": proof,
    }
