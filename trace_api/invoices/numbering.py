"""Invoice numbers: a per-tenant, per-year sequence raised in the issuing transaction.

The sequence row is raised with one ``UPDATE ... RETURNING``: on PostgreSQL that takes the
row's lock until the transaction ends, on SQLite the database's write lock, so concurrent
issuers are served one after the other, never share a number, and a transaction that
fails gives its number back with everything else it wrote (no gap).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import bindparam, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from trace_api.models import InvoiceSequence

CHINA = timezone(timedelta(hours=8), "CST")  # no daylight saving: a fixed offset is exact


def invoice_year(moment: datetime) -> int:
    """The year an invoice issued at ``moment`` is numbered in: Beijing time's."""
    return moment.astimezone(CHINA).year


_RAISE_LAST = (  # built once: an issue is a few milliseconds, and building it is not free
    update(InvoiceSequence)
    .where(InvoiceSequence.tenant_id == bindparam("tenant"), InvoiceSequence.year == bindparam("y"))
    .values(last=InvoiceSequence.last + 1)
    .returning(InvoiceSequence.last)
)


def next_sequence(session: Session, tenant_id: str, year: int) -> int:
    """The next sequence number of the tenant's year, held by this transaction."""
    key = {"tenant": tenant_id, "y": year}
    taken = session.execute(_RAISE_LAST, key).scalar()
    if taken is None:  # the year's first invoice: make its row (once, however many race)
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        session.execute(
            insert(InvoiceSequence)
            .values(tenant_id=tenant_id, year=year, last=0)
            .on_conflict_do_nothing()
        )
        taken = session.execute(_RAISE_LAST, key).scalar()
    assert taken is not None
    return int(taken)
