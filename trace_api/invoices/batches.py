"""Issued invoices into Merkle batches, each anchored by one anchor job
(`trace_api.audit.leaf_batches` does the batching; this says what an invoice's leaf
is: ``SM3(0x00 || digest)``, the digest being SM3 of its XML without TraceProof).

Every issued invoice is ready at once; its batch is anchored as kind ``invoice``, subject
``invoice-batch-<id>``, and each invoice is logged ``invoice.batched`` and, once the batch
is confirmed, ``invoice.anchored``.
"""

from __future__ import annotations

from sqlalchemy import true
from sqlalchemy.orm import Session, sessionmaker

from trace_api.audit.leaf_batches import MAX_BATCH, LeafBatcher, LeafKind
from trace_api.models import Invoice, InvoiceBatch

ANCHOR_KIND = "invoice"


def batch_subject(batch_id: int) -> str:
    """The anchor subject of an invoice batch: its anchor id is derived from it."""
    return f"invoice-batch-{batch_id}"


INVOICES = LeafKind(
    leaves=Invoice,
    batches=InvoiceBatch,
    ready=lambda: true(),
    order=lambda: (Invoice.issued_at, Invoice.id),
    anchor_kind=ANCHOR_KIND,
    subject=batch_subject,
    id_name="invoice_id",
    batched="invoice.batched",
    anchored="invoice.anchored",
)


class InvoiceBatcher(LeafBatcher):
    """The batcher of issued invoices."""

    def __init__(self, *, sessions: sessionmaker[Session], max_batch: int = MAX_BATCH) -> None:
        super().__init__(INVOICES, sessions=sessions, max_batch=max_batch)
