"""What to print for a batch: its issued codes as labels, read a page at a time.

The print file streams: each page of codes is read in a transaction of its own, so a
large batch holds no transaction open for the whole download.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from trace_api.codes import service
from trace_api.codes.labels import Label, label
from trace_api.db import transaction
from trace_api.errors import Conflict
from trace_api.models import Batch, Code, Product

PAGE = 5000


@dataclass(frozen=True)
class IssuedBatch:
    """A batch whose codes are issued, with its product and its issuance's id."""

    batch: Batch
    product: Product
    issuance_id: int


def issued_batch(*, session: Session, tenant_id: str, batch_id: str) -> IssuedBatch:
    """One of the tenant's batches, once its codes are issued (Conflict before)."""
    batch = service.get_batch(session=session, tenant_id=tenant_id, batch_id=batch_id)
    issuance = service.issuance_of_batch(session=session, batch_id=batch_id)
    if issuance is None or issuance.status != "done":
        raise Conflict(f"batch {batch_id} has no issued codes yet")
    product = session.get(Product, batch.product_id)
    assert product is not None
    return IssuedBatch(batch, product, issuance.id)


def batch_labels(
    *, sessions: sessionmaker[Session], base_url: str, issued: IssuedBatch
) -> Iterator[Label]:
    """The batch's labels in leaf order, ``PAGE`` codes per transaction."""
    batch, product = issued.batch, issued.product
    last = -1
    while True:
        with transaction(sessions) as session:
            page = list(
                session.execute(
                    select(Code.idx, Code.serial, Code.pin_hash.is_not(None))
                    .where(Code.issuance_id == issued.issuance_id, Code.idx > last)
                    .order_by(Code.idx)
                    .limit(PAGE)
                )
            )
        for idx, serial, has_pin in page:
            yield label(
                base_url,
                product.gtin,
                batch.lot,
                serial,
                batch.expiry,
                product=product.name,
                has_pin=bool(has_pin),
            )
            last = idx
        if len(page) < PAGE:
            return
