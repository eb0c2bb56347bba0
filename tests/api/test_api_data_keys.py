"""Tenant data keys: rotation keeps old data readable; shredding makes it unreadable."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from crypto.errors import KeyShredded
from fixtures.app import TenantKeys
from trace_api.components import Components
from trace_api.db import transaction
from trace_api.models import TenantKey
from trace_api.tenancy import service as tenancy_service


def _keyring(app: FastAPI, tenant: TenantKeys):
    with transaction(Components.of(app).sessions) as session:
        return tenancy_service.tenant_keyring(
            session=session, master_key=Components.of(app).master_key, tenant_id=tenant.tenant_id
        )


def test_rotation_seals_new_data_under_the_new_key_and_old_stays_readable(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    old_blob = _keyring(app, tenant).seal(b"batch L2026-01", b"serial-1")
    response = client.post("/v1/data-keys", headers=tenant.auth("admin"))
    assert response.status_code == 201
    new_id = response.json()["key_id"]
    keyring = _keyring(app, tenant)
    assert keyring.active_key_id == new_id
    assert keyring.open(old_blob, b"serial-1") == b"batch L2026-01"
    statuses = [
        k["status"] for k in client.get("/v1/data-keys", headers=tenant.auth("admin")).json()
    ]
    assert statuses == ["active", "retired"]


def test_shredded_key_makes_its_data_unreadable_for_good(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    keyring = _keyring(app, tenant)
    victim = keyring.active_key_id
    blob = keyring.seal(b"personal data", b"")
    client.post("/v1/data-keys", headers=tenant.auth("admin"))
    refused = client.post(
        f"/v1/data-keys/{victim}/shred",
        json={"confirm_key_id": "wrong"},
        headers=tenant.auth("admin"),
    )
    assert refused.status_code == 422
    assert _keyring(app, tenant).open(blob, b"") == b"personal data"  # nothing changed
    response = client.post(
        f"/v1/data-keys/{victim}/shred",
        json={"confirm_key_id": victim},
        headers=tenant.auth("admin"),
    )
    assert response.status_code == 200
    assert response.json()["status"] == "shredded"
    with transaction(Components.of(app).sessions) as session:
        assert session.get(TenantKey, victim).wrapped is None
    with pytest.raises(KeyShredded):
        _keyring(app, tenant).open(blob, b"")


def test_data_keys_are_admin_only_and_per_tenant(
    client: TestClient, tenant: TenantKeys, other_tenant: TenantKeys
) -> None:
    assert client.get("/v1/data-keys", headers=tenant.auth("operator")).status_code == 403
    theirs = client.get("/v1/data-keys", headers=other_tenant.auth("admin")).json()[0]["key_id"]
    response = client.post(
        f"/v1/data-keys/{theirs}/shred",
        json={"confirm_key_id": theirs},
        headers=tenant.auth("admin"),
    )
    assert response.status_code == 404
    assert (
        client.get("/v1/data-keys", headers=other_tenant.auth("admin")).json()[0]["status"]
        == "active"
    )
