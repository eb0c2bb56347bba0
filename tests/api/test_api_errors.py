"""Bad input gets a clear 4xx problem+json body and changes nothing."""

from __future__ import annotations

from fastapi.testclient import TestClient

from fixtures.app import TenantKeys


def _org_count(client: TestClient, tenant: TenantKeys) -> int:
    return len(client.get("/v1/organisations", headers=tenant.auth("admin")).json())


def test_malformed_json_is_400_and_writes_nothing(client: TestClient, tenant: TenantKeys) -> None:
    before = _org_count(client, tenant)
    response = client.post(
        "/v1/organisations",
        content=b'{"name": "x", "kind": ',
        headers={**tenant.auth("admin"), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/malformed-json"
    assert _org_count(client, tenant) == before


def test_invalid_field_is_422_naming_the_field(client: TestClient, tenant: TenantKeys) -> None:
    response = client.post(
        "/v1/organisations",
        json={"name": "Ningbo", "kind": "wholesaler"},
        headers=tenant.auth("admin"),
    )
    assert response.status_code == 422
    body = response.json()
    assert body["type"] == "/problems/invalid-input"
    assert body["detail"].startswith("body.kind")
    assert body["errors"][0]["loc"] == ["body", "kind"]


def test_unknown_fields_are_refused(client: TestClient, tenant: TenantKeys) -> None:
    response = client.post(
        "/v1/organisations",
        json={"name": "Ningbo", "kind": "dealer", "admin": True},
        headers=tenant.auth("admin"),
    )
    assert response.status_code == 422


def test_invalid_uscc_is_refused_and_valid_one_normalised(
    client: TestClient, tenant: TenantKeys
) -> None:
    admin = tenant.auth("admin")
    bad = {"name": "Bad Co", "kind": "distributor", "uscc": "91330100MA2B0FAKE1"}
    response = client.post("/v1/organisations", json=bad, headers=admin)
    assert response.status_code == 422
    assert "uscc" in response.json()["detail"]
    # a published test code with a correct check character (from python-stdnum's docs)
    good = {"name": "Good Co", "kind": "distributor", "uscc": "91110000600037341L"}
    response = client.post("/v1/organisations", json=good, headers=admin)
    assert response.status_code == 201, response.text
    assert response.json()["uscc"] == "91110000600037341L"


def test_duplicate_organisation_is_409_and_first_survives(
    client: TestClient, tenant: TenantKeys
) -> None:
    admin = tenant.auth("admin")
    first = client.post("/v1/organisations", json={"name": "Wuxi", "kind": "dealer"}, headers=admin)
    assert first.status_code == 201
    again = client.post(
        "/v1/organisations", json={"name": "Wuxi", "kind": "retailer"}, headers=admin
    )
    assert again.status_code == 409
    names = [o["name"] for o in client.get("/v1/organisations", headers=admin).json()]
    assert names.count("Wuxi") == 1


def test_parent_from_another_tenant_is_404(
    client: TestClient, tenant: TenantKeys, other_tenant: TenantKeys
) -> None:
    body = {"name": "Sub", "kind": "dealer", "parent_id": other_tenant.dealer_org_id}
    response = client.post("/v1/organisations", json=body, headers=tenant.auth("admin"))
    assert response.status_code == 404


def test_unknown_route_is_problem_json(client: TestClient) -> None:
    response = client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_ids_beyond_64_bits_are_422_on_both_databases(
    client: TestClient, tenant: TenantKeys
) -> None:
    # SQLite's driver raises OverflowError, PostgreSQL a DataError: both are bad input.
    for path in (
        "/v1/anchor-jobs/9223372036854775808",
        "/v1/audit/checkpoints/25492821724205982735788577011376586752",
        "/v1/code-issuances/9223372036854775808",
    ):
        response = client.get(path, headers=tenant.auth("admin"))
        assert response.status_code == 422, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"] == "/problems/invalid-input"
