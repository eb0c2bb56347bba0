"""A seller and a dealer buyer with invoice profiles, and invoice bodies, for the tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from sqlalchemy import func, select

from fixtures.app import TenantKeys
from trace_api.components import Components
from trace_api.db import transaction
from trace_api.invoices import profiles
from trace_api.models import AuditEntry, Invoice, InvoiceLine, InvoiceSequence, Organisation
from trace_api.tenancy import service as tenancy_service

SELLER_USCC = "91350100M000100Y43"
BUYER_USCC = "91110000100000000R"
TEA = "1010115010000000000"


@dataclass(frozen=True)
class Parties:
    seller: str
    buyer: str  # the tenant's dealer organisation


def invoicing_parties(app: FastAPI, tenant: TenantKeys) -> Parties:
    """The brand as seller in Hangzhou (province 33) and the dealer as a buyer named in full."""
    with transaction(Components.of(app).sessions) as session:
        seller = tenancy_service.create_organisation(
            session=session,
            tenant_id=tenant.tenant_id,
            name="杭州西湖茶业有限公司",
            kind="brand",
            uscc=SELLER_USCC,
        )
        dealer = session.get(Organisation, tenant.dealer_org_id)
        assert dealer is not None
        dealer.uscc = BUYER_USCC
        profiles.set_profile(
            session=session,
            tenant_id=tenant.tenant_id,
            organisation_id=seller.id,
            actor="test",
            division_code="330106",
            address="杭州市西湖区龙井路 1 号",
            phone="0571-87654321",
            bank="中国工商银行杭州西湖支行",
            account="1202020209000012345",
        )
        profiles.set_profile(
            session=session,
            tenant_id=tenant.tenant_id,
            organisation_id=dealer.id,
            actor="test",
            division_code="310101",
            address="上海市黄浦区南京东路 100 号",
            phone="021-63210000",
            bank="中国建设银行上海黄浦支行",
            account="31050161370000000123",
        )
    return Parties(seller.id, tenant.dealer_org_id)


def line(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "*茶*西湖龙井",
        "tax_code": TEA,
        "rate": "9%",
        "quantity": "3",
        "unit_price": "128.5",
        "price_includes_tax": True,
        "specification": "250g",
        "unit": "盒",
    }
    body.update(changes)
    return body


def invoice_body(parties: Parties, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "special",
        "seller": parties.seller,
        "buyer": {"organisation_id": parties.buyer},
        "lines": [line()],
        "drawer": "王会计",
    }
    body.update(changes)
    return body


def written(app: FastAPI) -> tuple[int, ...]:
    """Counts of what issuing writes: invoices, lines, sequence total, audit entries."""
    with transaction(Components.of(app).sessions) as session:
        return tuple(
            int(session.scalar(query) or 0)
            for query in (
                select(func.count()).select_from(Invoice),
                select(func.count()).select_from(InvoiceLine),
                select(func.coalesce(func.sum(InvoiceSequence.last), 0)),
                select(func.count()).select_from(AuditEntry),
            )
        )
