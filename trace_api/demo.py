"""The demo tenant that `make run` sets up and whose keys it prints."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from trace_api.branding import service as branding_service
from trace_api.codes import service as codes_service
from trace_api.codes.gs1 import item_uri
from trace_api.codes.jobs import IssueRunner
from trace_api.db import transaction
from trace_api.models import Batch, Code, CodeIssuance, Product, Tenant
from trace_api.private_files import open_private, private_dir
from trace_api.tenancy import service as tenancy_service

DEMO_TENANT = "demo"
DEMO_GTIN = "06901234567892"
DEMO_LOT = "L2026-001"


def ensure_demo_tenant(
    sessions: sessionmaker[Session], master_key: bytes, data_dir: Path
) -> dict[str, str]:
    """The demo tenant's keys by role, created on first run and kept in a 0600 file.

    Keys are stored only as hashes in the database, so the local file is the one place
    the demo can show them again on the next start.
    """
    keys_file = data_dir / "demo-keys.json"
    with transaction(sessions) as session:
        exists = session.scalar(select(Tenant.id).where(Tenant.name == DEMO_TENANT))
        if exists is not None and keys_file.exists():
            keys: dict[str, str] = json.loads(keys_file.read_text())
            return keys
        if exists is not None:  # the file was removed: issue fresh keys
            tenant_id = exists
            admin = tenancy_service.issue_api_key(
                session=session, tenant_id=tenant_id, role="admin", label="demo admin"
            )
        else:
            tenant, admin = tenancy_service.create_tenant(
                session=session, master_key=master_key, name=DEMO_TENANT
            )
            tenant_id = tenant.id
        keys = {"admin": admin.text}
        dealer_org = _demo_dealer(session, tenant_id)
        for role in ("operator", "compliance", "dealer"):
            org = dealer_org if role == "dealer" else None
            issued = tenancy_service.issue_api_key(
                session=session,
                tenant_id=tenant_id,
                role=role,
                organisation_id=org,
                label=f"demo {role}",
            )
            keys[role] = issued.text
    private_dir(data_dir)
    fd = open_private(keys_file)
    with os.fdopen(fd, "w") as handle:
        json.dump(keys, handle, indent=2)
    return keys


def _demo_dealer(session: Session, tenant_id: str) -> str:
    for org in tenancy_service.list_organisations(session=session, tenant_id=tenant_id):
        if org.kind == "dealer":
            return org.id
    brand = tenancy_service.create_organisation(
        session=session, tenant_id=tenant_id, name="Demo Brand 示例品牌", kind="brand"
    )
    dealer = tenancy_service.create_organisation(
        session=session,
        tenant_id=tenant_id,
        name="Hangzhou Dealer 杭州经销商",
        kind="dealer",
        parent_id=brand.id,
    )
    return dealer.id


def ensure_demo_codes(
    sessions: sessionmaker[Session], issuer: IssueRunner, base_url: str
) -> list[str]:
    """A demo product, batch and three issued codes; returns their scan page URLs."""
    with transaction(sessions) as session:
        tenant_id = session.scalar(select(Tenant.id).where(Tenant.name == DEMO_TENANT))
        assert tenant_id is not None
        product = session.scalar(
            select(Product).where(Product.tenant_id == tenant_id, Product.gtin == DEMO_GTIN)
        )
        if product is None:
            product = codes_service.create_product(
                session=session,
                tenant_id=tenant_id,
                gtin=DEMO_GTIN,
                name="西湖龙井 Longjing green tea 250 g",
                brand="Demo Brand 示例品牌",
            )
            batch = codes_service.create_batch(
                session=session,
                tenant_id=tenant_id,
                product_id=product.id,
                lot=DEMO_LOT,
                production_date=date(2026, 4, 1),
                factory="Hangzhou factory 杭州工厂",
                expiry=date(2028, 3, 31),
            )
            issuance = codes_service.start_issuance(
                session=session,
                tenant_id=tenant_id,
                batch_id=batch.id,
                count=3,
                with_pins=False,
                allocation=None,
                max_count=3,
                actor="demo",
            )
            issuer.issue_now(session=session, issuance=issuance)
        if branding_service.get_branding(session=session, tenant_id=tenant_id) is None:
            branding_service.set_branding(
                session=session,
                tenant_id=tenant_id,
                display_name="示例品牌 Demo Brand",
                hotline="400-000-0000",
                website="https://brand.example",
                actor="demo",
            )
        serials = session.scalars(
            select(Code.serial)
            .join(CodeIssuance, CodeIssuance.id == Code.issuance_id)
            .join(Batch, Batch.id == CodeIssuance.batch_id)
            .where(Batch.product_id == product.id)
            .order_by(Code.idx)
        ).all()
    return [item_uri(base_url, DEMO_GTIN, DEMO_LOT, serial) for serial in serials]
