"""Request bodies are typed as JSON typed them, and text shown to others hides nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from fixtures.app import TenantKeys
from fixtures.codes import make_batch, make_product


def _batch(client: TestClient, tenant: TenantKeys) -> dict[str, object]:
    return make_batch(client, tenant, make_product(client, tenant)["id"])


@pytest.mark.parametrize("count", [True, "5", 5.0, None, [1]])
def test_count_must_be_a_json_integer(
    client: TestClient, tenant: TenantKeys, count: object
) -> None:
    # `"count": true` issued one code and `"count": "5"` five.
    batch = _batch(client, tenant)
    path = f"/v1/batches/{batch['id']}/codes"
    response = client.post(path, json={"count": count}, headers=tenant.auth("operator"))
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["body", "count"]
    # A batch is issued once: had the refused request issued anything, this would be 409.
    again = client.post(path, json={"count": 1}, headers=tenant.auth("operator"))
    assert again.status_code in (200, 201), again.text


def test_pins_must_be_a_json_boolean(client: TestClient, tenant: TenantKeys) -> None:
    batch = _batch(client, tenant)
    response = client.post(
        f"/v1/batches/{batch['id']}/codes",
        json={"count": 1, "pins": "yes"},
        headers=tenant.auth("operator"),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "pins"]


def test_dates_still_arrive_as_json_strings(client: TestClient, tenant: TenantKeys) -> None:
    batch = _batch(client, tenant)  # production_date and expiry as "YYYY-MM-DD"
    assert batch["production_date"] == "2026-11-01"
    assert batch["expiry"] == "2028-10-31"


@pytest.mark.parametrize(
    "name",
    [
        "Acme\u202egnp.exe",  # right-to-left override
        "Ac\u200bme",  # zero-width space
        "Acme\u2066x\u2069",  # isolates
        "Ac\ufeffme",  # byte order mark
        "Acme\tLtd",  # a control character in a one-line name
        "Acme\x85",  # C1 next line
        "Ac\u00adme",  # soft hyphen (format)
        "Ac\u180eme",  # Mongolian vowel separator
        "Acme\u2028",  # line separator
        "Ac\ufff9me",  # interlinear annotation anchor
        "Acme\U000e0001",  # language tag
        "Ac\U0001d173me",  # musical symbol begin beam (format)
        "Ac\u034fme",  # combining grapheme joiner
        "\u115f\u3164",  # Hangul fillers: a name that shows as nothing
        "Ac\ue000me",  # private use
        "Ac\U000e0fffme",  # unassigned
    ],
)
def test_display_names_refuse_invisible_characters(
    client: TestClient, tenant: TenantKeys, name: str
) -> None:
    response = client.post(
        "/v1/organisations", json={"name": name, "kind": "dealer"}, headers=tenant.auth("admin")
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["body", "name"]
    assert "U+" in response.json()["detail"]
    names = [
        o["name"] for o in client.get("/v1/organisations", headers=tenant.auth("admin")).json()
    ]
    assert name not in names


def test_chinese_and_ordinary_punctuation_stay_allowed(
    client: TestClient, tenant: TenantKeys
) -> None:
    name = "浙江茶业（杭州）有限公司 · R&D · Café Müller · 한국 · ñ"
    response = client.post(
        "/v1/organisations", json={"name": name, "kind": "dealer"}, headers=tenant.auth("admin")
    )
    assert response.status_code == 201, response.text
    assert response.json()["name"] == name


def test_prose_keeps_line_breaks_but_not_overrides(client: TestClient, tenant: TenantKeys) -> None:
    gtin = "06901234567892"
    ok = {"gtin": gtin, "name": "Tea", "description": "Line one\nLine two\tend"}
    assert client.post("/v1/products", json=ok, headers=tenant.auth("operator")).status_code == 201
    bad = {"gtin": "06901234567885", "name": "Tea", "description": "safe\u202eevil"}
    response = client.post("/v1/products", json=bad, headers=tenant.auth("operator"))
    assert response.status_code == 422
