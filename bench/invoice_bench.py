"""Invoices issued per second (10 lines each), beside inserting the same rows bare.

Run: .venv/bin/python bench/invoice_bench.py [--invoices 2000] [--no-postgres]

Each invoice goes through `trace_api.invoices.service.issue` in a transaction of its own,
as one request would: lines computed to the fen, the number taken from the tenant's
sequence, the XML rendered and validated against the XSD, the invoice and its lines
stored with its digest and leaf, the audit entry appended; then one batcher pass gathers
them under Merkle roots with their anchor jobs queued. On SQLite in a temporary directory
and on PostgreSQL (TRACE_TEST_POSTGRES_URL, default the local one) in a scratch schema
dropped afterwards.

Baseline, in the same run and database: the same rows (an invoice row with a stored XML of
the same size and its 10 line rows) inserted bare, one transaction per invoice, with no
computing, numbering, rendering, validating or logging. Targets: 1,000 invoices/s on
SQLite and 40% of the bare rate.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scratch_postgres import scratch_schema
from sqlalchemy import insert

from trace_api.db import create_db_engine, migrate, session_factory, transaction
from trace_api.invoices import profiles, service
from trace_api.invoices.batches import InvoiceBatcher
from trace_api.invoices.schemas import InvoiceIssue
from trace_api.models import Invoice, InvoiceLine, utcnow
from trace_api.tenancy import service as tenancy_service

MASTER_KEY = bytes(range(16))
LINES = 10


def _setup(url: str) -> tuple[object, object, str, InvoiceIssue]:
    engine = create_db_engine(url)
    migrate(engine)
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        tenant, _ = tenancy_service.create_tenant(
            session=session, master_key=MASTER_KEY, name="bench"
        )
        seller = tenancy_service.create_organisation(
            session=session, tenant_id=tenant.id, name="杭州西湖茶业有限公司", kind="brand",
            uscc="91350100M000100Y43",
        )  # fmt: skip
        buyer = tenancy_service.create_organisation(
            session=session, tenant_id=tenant.id, name="上海某贸易有限公司", kind="dealer",
            uscc="91110000100000000R",
        )  # fmt: skip
        for org, division in ((seller, "330106"), (buyer, "310101")):
            profiles.set_profile(
                session=session, tenant_id=tenant.id, organisation_id=org.id, actor="bench",
                division_code=division, address="某市某区某路 1 号", phone="0571-87654321",
                bank="中国工商银行某支行", account="1202020209000012345",
            )  # fmt: skip
    request = InvoiceIssue.model_validate(
        {
            "kind": "special",
            "seller": seller.id,
            "buyer": {"organisation_id": buyer.id},
            "lines": [
                {
                    "name": f"*茶*西湖龙井 {n}",
                    "tax_code": "1010115010000000000",
                    "rate": ("13%", "9%", "6%", "免税")[n % 4],
                    "quantity": str(n + 1),
                    "unit_price": f"{128 + n}.5",
                    "price_includes_tax": n % 2 == 0,
                    "specification": "250g",
                    "unit": "盒",
                }
                for n in range(LINES)
            ],
            "drawer": "王会计",
        }
    )
    return engine, sessions, tenant.id, request


def _issue(sessions: object, tenant_id: str, request: InvoiceIssue, count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        with transaction(sessions) as session:  # type: ignore[arg-type]
            service.issue(session=session, tenant_id=tenant_id, actor="bench", request=request)
    return time.perf_counter() - start


def _bare(sessions: object, tenant_id: str, count: int) -> float:
    """The same rows, inserted as they are: one invoice with its XML, ten lines."""
    with transaction(sessions) as session:  # type: ignore[arg-type]
        sample = session.query(Invoice).first()
        assert sample is not None
        xml, seller, buyer = bytes(sample.xml), sample.seller_org_id, sample.buyer_org_id
    start = time.perf_counter()
    for n in range(count):
        invoice_id = str(uuid.uuid4())
        with transaction(sessions) as session:  # type: ignore[arg-type]
            session.execute(
                insert(Invoice),
                [{"id": invoice_id, "tenant_id": tenant_id, "number": f"{n:020d}", "year": 1999,
                  "sequence": n + 1, "kind": "special", "colour": "blue", "status": "normal",
                  "issued_at": utcnow(), "issued_by": "bench", "seller_org_id": seller,
                  "buyer_org_id": buyer, "buyer_name": "上海某贸易有限公司",
                  "buyer_credit_code": "91110000100000000R", "amount_fen": 1, "tax_fen": 1,
                  "total_fen": 2, "reversed_fen": 0, "xml": xml, "digest": b"d" * 32,
                  "leaf_hash": b"l" * 32}],
            )  # fmt: skip
            session.execute(
                insert(InvoiceLine),
                [{"invoice_id": invoice_id, "position": k, "name": "*茶*西湖龙井",
                  "tax_code": "1010115010000000000", "rate": "9%", "discount": False,
                  "quantity": "1", "unit_price": "1", "price_includes_tax": False,
                  "amount_fen": 1, "tax_fen": 1, "reversed_quantity": "0",
                  "reversed_amount_fen": 0, "reversed_tax_fen": 0} for k in range(LINES)],
            )  # fmt: skip
    return time.perf_counter() - start


def run(label: str, url: str, count: int) -> tuple[float, float, float]:
    engine, sessions, tenant_id, request = _setup(url)
    _issue(sessions, tenant_id, request, 20)  # warm: statements compiled, caches filled
    issued = _issue(sessions, tenant_id, request, count)
    start = time.perf_counter()
    report = InvoiceBatcher(sessions=sessions).run_once()  # type: ignore[arg-type]
    batched = time.perf_counter() - start
    assert report.proofs == count + 20
    bare = _bare(sessions, tenant_id, count)
    engine.dispose()  # type: ignore[attr-defined]
    rate, bare_rate = count / (issued + batched), count / bare
    print(f"{label:<11} issued {count / issued:8.0f}/s   with batching {rate:8.0f}/s   "
          f"bare rows {bare_rate:8.0f}/s   {rate / bare_rate:5.0%} of bare "
          f"(targets: 1,000/s on SQLite, 40% of bare)")  # fmt: skip
    return rate, bare_rate, batched


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=2000)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    print(f"{args.invoices} invoices of {LINES} lines per database, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        run("SQLite", f"sqlite:///{tmp}/bench.db", args.invoices)
    if not args.no_postgres:
        with scratch_schema() as url:
            run("PostgreSQL", url, args.invoices)


if __name__ == "__main__":
    main()
