"""The demo tenant that `make run` sets up and whose keys it prints."""

from __future__ import annotations

import json
import os
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from trace_api.db import transaction
from trace_api.models import Tenant
from trace_api.tenancy import service as tenancy_service

DEMO_TENANT = "demo"


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
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(keys_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
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
