"""Invoice numbers are unique and gap-free per tenant and year: concurrent issuers never
share or skip one, and a failed issue gives its number back."""

from __future__ import annotations

import threading

import pytest
from fastapi import FastAPI
from invoice_support import invoice_body, invoicing_parties, written
from sqlalchemy import select

from fixtures.app import TenantKeys
from trace_api.components import Components
from trace_api.db import transaction
from trace_api.invoices import service
from trace_api.invoices.schemas import InvoiceIssue
from trace_api.models import Invoice

ISSUERS = 20


def test_twenty_issuers_at_once_take_twenty_numbers_without_a_gap(
    app: FastAPI, tenant: TenantKeys
) -> None:
    parties = invoicing_parties(app, tenant)
    request = InvoiceIssue.model_validate(invoice_body(parties))
    sessions = Components.of(app).sessions
    start = threading.Barrier(ISSUERS)
    failures: list[BaseException] = []

    def issue() -> None:
        try:
            start.wait(timeout=30)
            with transaction(sessions) as session:
                service.issue(
                    session=session, tenant_id=tenant.tenant_id, actor="test", request=request
                )
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=issue) for _ in range(ISSUERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    with transaction(sessions) as session:
        rows = session.execute(select(Invoice.sequence, Invoice.number)).all()
    assert sorted(sequence for sequence, _ in rows) == list(range(1, ISSUERS + 1))
    assert len({number for _, number in rows}) == ISSUERS


def test_a_failed_issue_leaves_no_gap(app: FastAPI, tenant: TenantKeys) -> None:
    parties = invoicing_parties(app, tenant)
    request = InvoiceIssue.model_validate(invoice_body(parties))
    sessions = Components.of(app).sessions
    before = written(app)

    class Crash(Exception):
        pass

    with pytest.raises(Crash), transaction(sessions) as session:
        service.issue(session=session, tenant_id=tenant.tenant_id, actor="test", request=request)
        raise Crash  # after the number was taken and the invoice written
    assert written(app) == before
    with transaction(sessions) as session:
        row = service.issue(
            session=session, tenant_id=tenant.tenant_id, actor="test", request=request
        )
        assert row.sequence == 1
