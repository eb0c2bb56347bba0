"""API keys: shown once, stored as hashes, bound to tenant, role and organisation."""

from __future__ import annotations

import hashlib

from fastapi.testclient import TestClient
from sqlalchemy import select

from fixtures.app import TenantKeys
from trace_api.components import Components
from trace_api.db import transaction
from trace_api.models import ApiKey


def test_request_without_key_is_401_problem(client: TestClient) -> None:
    response = client.get("/v1/whoami")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["type"] == "/problems/unauthenticated"


def test_malformed_and_unknown_keys_are_401(client: TestClient, tenant: TenantKeys) -> None:
    real = tenant.keys["admin"]
    for bad in ("nonsense", "trk_short_x", real[:-1] + ("A" if real[-1] != "A" else "B")):
        response = client.get("/v1/whoami", headers={"Authorization": f"Bearer {bad}"})
        assert response.status_code == 401, bad
    response = client.get("/v1/whoami", headers={"Authorization": f"Basic {real}"})
    assert response.status_code == 401


def test_whoami_names_tenant_role_and_organisation(client: TestClient, tenant: TenantKeys) -> None:
    response = client.get("/v1/whoami", headers=tenant.auth("dealer"))
    assert response.status_code == 200
    body = response.json()
    assert body["tenant_id"] == tenant.tenant_id
    assert body["role"] == "dealer"
    assert body["organisation_id"] == tenant.dealer_org_id


def test_key_secret_is_shown_once_and_stored_only_as_hash(
    client: TestClient, tenant: TenantKeys, app
) -> None:
    response = client.post(
        "/v1/api-keys", json={"role": "operator", "label": "line 3"}, headers=tenant.auth("admin")
    )
    assert response.status_code == 201
    issued = response.json()
    secret_text = issued["key"]
    assert (
        client.get("/v1/whoami", headers={"Authorization": f"Bearer {secret_text}"}).json()["role"]
        == "operator"
    )
    listed = client.get(f"/v1/api-keys/{issued['id']}", headers=tenant.auth("admin")).json()
    assert "key" not in listed
    secret = secret_text.split("_", 2)[2]
    with transaction(Components.of(app).sessions) as session:
        stored = session.scalars(select(ApiKey).where(ApiKey.id == issued["id"])).one()
        assert stored.secret_hash == hashlib.sha256(secret.encode()).digest()
        assert secret.encode() not in stored.secret_hash


def test_wrong_role_is_403(client: TestClient, tenant: TenantKeys) -> None:
    for role in ("operator", "dealer", "compliance"):
        response = client.post("/v1/api-keys", json={"role": "operator"}, headers=tenant.auth(role))
        assert response.status_code == 403, role
        assert response.json()["type"] == "/problems/forbidden"


def test_dealer_key_needs_an_organisation_of_the_same_tenant(
    client: TestClient, tenant: TenantKeys, other_tenant: TenantKeys
) -> None:
    admin = tenant.auth("admin")
    assert client.post("/v1/api-keys", json={"role": "dealer"}, headers=admin).status_code == 422
    foreign = {"role": "dealer", "organisation_id": other_tenant.dealer_org_id}
    assert client.post("/v1/api-keys", json=foreign, headers=admin).status_code == 404
    operator_with_org = {"role": "operator", "organisation_id": tenant.dealer_org_id}
    assert client.post("/v1/api-keys", json=operator_with_org, headers=admin).status_code == 422
    good = {"role": "dealer", "organisation_id": tenant.dealer_org_id}
    assert client.post("/v1/api-keys", json=good, headers=admin).status_code == 201


def test_another_tenants_objects_are_404_not_403(
    client: TestClient, tenant: TenantKeys, other_tenant: TenantKeys
) -> None:
    theirs = client.get("/v1/api-keys", headers=other_tenant.auth("admin")).json()[0]["id"]
    admin = tenant.auth("admin")
    for method, path in (
        ("GET", f"/v1/api-keys/{theirs}"),
        ("DELETE", f"/v1/api-keys/{theirs}"),
        ("GET", f"/v1/organisations/{other_tenant.dealer_org_id}"),
    ):
        response = client.request(method, path, headers=admin)
        assert response.status_code == 404, path
        assert response.json()["type"] == "/problems/not-found"
    # and nothing changed on their side
    still = client.get(f"/v1/api-keys/{theirs}", headers=other_tenant.auth("admin")).json()
    assert still["revoked_at"] is None


def test_listing_shows_only_own_tenant(
    client: TestClient, tenant: TenantKeys, other_tenant: TenantKeys
) -> None:
    ours = client.get("/v1/api-keys", headers=tenant.auth("admin")).json()
    theirs = client.get("/v1/api-keys", headers=other_tenant.auth("admin")).json()
    assert len(ours) == 4
    assert not {k["id"] for k in ours} & {k["id"] for k in theirs}
    orgs = client.get("/v1/organisations", headers=tenant.auth("operator")).json()
    assert [o["id"] for o in orgs] == [tenant.dealer_org_id]


def test_revoked_key_stops_working(client: TestClient, tenant: TenantKeys) -> None:
    admin = tenant.auth("admin")
    operator_id = next(
        k["id"] for k in client.get("/v1/api-keys", headers=admin).json() if k["role"] == "operator"
    )
    response = client.delete(f"/v1/api-keys/{operator_id}", headers=admin)
    assert response.status_code == 200
    assert response.json()["revoked_at"] is not None
    response = client.get("/v1/whoami", headers=tenant.auth("operator"))
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_last_admin_key_cannot_be_revoked(client: TestClient, tenant: TenantKeys) -> None:
    admin = tenant.auth("admin")
    admin_id = client.get("/v1/whoami", headers=admin).json()["key_id"]
    response = client.delete(f"/v1/api-keys/{admin_id}", headers=admin)
    assert response.status_code == 409
    assert client.get("/v1/whoami", headers=admin).status_code == 200
    second = client.post("/v1/api-keys", json={"role": "admin"}, headers=admin).json()
    assert client.delete(f"/v1/api-keys/{admin_id}", headers=admin).status_code == 200
    assert client.get("/v1/whoami", headers=admin).status_code == 401
    new_admin = {"Authorization": f"Bearer {second['key']}"}
    assert client.get("/v1/whoami", headers=new_admin).status_code == 200
