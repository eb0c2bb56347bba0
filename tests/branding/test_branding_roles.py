"""Who may do what with branding and product photos: every operation, every role."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from fixtures.app import TenantKeys
from fixtures.codes import GTIN, make_product
from fixtures.images import png

ROLES = ("admin", "operator", "dealer", "compliance")
BRANDING = {"display_name": "Acme", "hotline": "95588", "website": "https://acme.example"}

# operation -> the roles allowed it; the others get 403, no key 401.
MATRIX = {
    ("GET", "/v1/branding"): ROLES,
    ("PUT", "/v1/branding"): ("admin",),
    ("PUT", "/v1/branding/logo"): ("admin",),
    ("DELETE", "/v1/branding/logo"): ("admin",),
    ("PUT", f"/v1/products/{GTIN}/image"): ("admin", "operator"),
    ("DELETE", f"/v1/products/{GTIN}/image"): ("admin", "operator"),
}


def _call(client: TestClient, method: str, path: str, headers: dict[str, str]):
    if path == "/v1/branding" and method == "PUT":
        return client.put(path, json=BRANDING, headers=headers)
    if method == "PUT":
        return client.put(path, content=png(), headers=headers)
    return client.request(method, path, headers=headers)


@pytest.mark.parametrize(("method", "path"), list(MATRIX))
def test_each_operation_lets_exactly_its_roles_through(
    client: TestClient, tenant: TenantKeys, method: str, path: str
) -> None:
    make_product(client, tenant)
    assert _call(client, method, path, {}).status_code == 401
    for role in ROLES:
        response = _call(client, method, path, tenant.auth(role))
        expected = 200 if role in MATRIX[(method, path)] else 403
        assert response.status_code == expected, (role, response.text)
        if expected == 403:
            assert response.headers["content-type"] == "application/problem+json"


def test_the_matrix_covers_every_branding_operation(client: TestClient) -> None:
    documented = {
        (method.upper(), path.replace("{product}", GTIN))
        for path, item in client.get("/openapi.json").json()["paths"].items()
        for method in item
        if path.startswith("/v1/branding") or path.endswith("/image")
    }
    assert documented == set(MATRIX)
