"""The brand's name, hotline, website and logo, and its products' photos, over the API."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fixtures.app import TenantKeys
from fixtures.audit import log_entries
from fixtures.codes import GTIN, make_product
from fixtures.images import png

GOOD = {"display_name": "西湖龙井茶业", "hotline": "400-820-8820", "website": "https://tea.example"}


def _put(client: TestClient, tenant: TenantKeys, body: dict[str, str], role: str = "admin"):
    return client.put("/v1/branding", json=body, headers=tenant.auth(role))


def test_branding_starts_empty_and_any_key_of_the_tenant_reads_it(
    client: TestClient, tenant: TenantKeys
) -> None:
    for role in ("admin", "operator", "dealer", "compliance"):
        response = client.get("/v1/branding", headers=tenant.auth(role))
        assert response.status_code == 200, role
        assert response.json() == {
            "display_name": "",
            "hotline": "",
            "website": "",
            "logo_url": None,
            "updated_at": None,
        }
    assert client.get("/v1/branding").status_code == 401


def test_an_admin_sets_the_branding_and_the_change_is_logged(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    response = _put(client, tenant, GOOD)
    assert response.status_code == 200, response.text
    assert {k: response.json()[k] for k in GOOD} == GOOD
    assert client.get("/v1/branding", headers=tenant.auth("dealer")).json()["hotline"] == (
        "400-820-8820"
    )
    second = _put(client, tenant, {**GOOD, "hotline": "+86 21 6888 8888"})
    assert second.json()["hotline"] == "+86 21 6888 8888"
    entries = [e for e in log_entries(app, tenant.tenant_id) if e["kind"] == "branding.updated"]
    assert [e["data"]["hotline"] for e in entries] == ["400-820-8820", "+86 21 6888 8888"]
    assert entries[1]["data"]["previous"]["hotline"] == "400-820-8820"
    assert entries[1]["actor"] != "system"


@pytest.mark.parametrize("hotline", ["400-820-8820", "+86 21 6888 8888", "95588", ""])
def test_hotlines_people_can_dial(client: TestClient, tenant: TenantKeys, hotline: str) -> None:
    assert _put(client, tenant, {**GOOD, "hotline": hotline}).status_code == 200


@pytest.mark.parametrize(
    "hotline",
    [
        "call us",
        "400--820",
        "12",
        "+",
        "1" * 16,
        "400 820 8820 ext 5",
        " 400-820-8820",
        "400-820-8820\n",
        "４００８２０８８２０",  # full-width digits do not dial
        "tel:4008208820",
        "1-2-3-4-5-6-7-8-9-0-1-2-3-4-5-6-7-8-9-0-1",  # over 40 characters
    ],
)
def test_hotlines_that_are_not_phone_numbers_are_422(
    client: TestClient, tenant: TenantKeys, hotline: str
) -> None:
    response = _put(client, tenant, {**GOOD, "hotline": hotline})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["body", "hotline"]


@pytest.mark.parametrize(
    "website",
    ["https://tea.example", "https://例子.中国/关于", "https://tea.example:8443/a?b=c#d", ""],
)
def test_https_websites_are_taken(client: TestClient, tenant: TenantKeys, website: str) -> None:
    response = _put(client, tenant, {**GOOD, "website": website})
    assert response.status_code == 200, response.text
    assert response.json()["website"] == website


@pytest.mark.parametrize(
    "website",
    [
        "http://tea.example",
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "https://user:secret@tea.example",
        "https://evil.example@tea.example",
        "https://",
        "https:///path",
        "//tea.example",
        "tea.example",
        "https://tea.example/a b",
        "https://tea.example/\u202egnp",
        "https://tea.example:99999",
        "https://tea.example/" + "a" * 500,
    ],
)
def test_websites_that_are_not_plain_https_are_422(
    client: TestClient, tenant: TenantKeys, website: str
) -> None:
    response = _put(client, tenant, {**GOOD, "website": website})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["body", "website"]


@pytest.mark.parametrize(
    "body",
    [
        {"display_name": "Ac\u202eme", "hotline": "", "website": ""},
        {"display_name": "x" * 201, "hotline": "", "website": ""},
        {"display_name": "Acme", "hotline": ""},  # each member is required
        {**GOOD, "logo_id": "0" * 64},  # unknown members are refused
        {**GOOD, "hotline": 4008208820},  # strict JSON types
    ],
)
def test_other_bad_bodies_are_422(
    client: TestClient, tenant: TenantKeys, body: dict[str, object]
) -> None:
    response = client.put("/v1/branding", json=body, headers=tenant.auth("admin"))
    assert response.status_code == 422, response.text


def test_the_logo_is_set_replaced_removed_and_each_change_logged(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    admin = tenant.auth("admin")
    _put(client, tenant, GOOD)
    first = client.put("/v1/branding/logo", content=png(colour=(1, 1, 1)), headers=admin).json()
    assert first["logo_url"].startswith("/media/") and first["display_name"] == GOOD["display_name"]
    second = client.put("/v1/branding/logo", content=png(colour=(2, 2, 2)), headers=admin).json()
    assert second["logo_url"] != first["logo_url"]
    assert client.get(first["logo_url"]).status_code == 404  # nothing refers to it any more
    removed = client.delete("/v1/branding/logo", headers=admin)
    assert removed.status_code == 200 and removed.json()["logo_url"] is None
    assert client.get(second["logo_url"]).status_code == 404
    assert client.delete("/v1/branding/logo", headers=admin).status_code == 200  # no-op
    kinds = [e["kind"] for e in log_entries(app, tenant.tenant_id) if e["kind"].startswith("br")]
    assert kinds == [
        "branding.updated",
        "branding.logo_set",
        "branding.logo_set",
        "branding.logo_removed",
    ]
    logged = [e for e in log_entries(app, tenant.tenant_id) if e["kind"] == "branding.logo_set"]
    assert logged[1]["data"]["media_id"] == second["logo_url"].removeprefix("/media/")
    assert logged[1]["data"]["previous"] == first["logo_url"].removeprefix("/media/")
    assert logged[1]["data"]["content_type"] == "image/png"


def test_another_tenant_cannot_overwrite_or_delete_your_logo(
    client: TestClient, tenant: TenantKeys, other_tenant: TenantKeys
) -> None:
    mine = client.put("/v1/branding/logo", content=png(), headers=tenant.auth("admin")).json()
    # The other tenant's writes land on its own branding only, even with the same picture.
    theirs = client.put(
        "/v1/branding/logo", content=png(), headers=other_tenant.auth("admin")
    ).json()
    assert theirs["logo_url"] == mine["logo_url"]  # one stored row, shared by content
    client.put("/v1/branding", json=GOOD, headers=other_tenant.auth("admin"))
    assert client.delete("/v1/branding/logo", headers=other_tenant.auth("admin")).status_code == 200
    # Ours is untouched, and the shared image is still served.
    ours = client.get("/v1/branding", headers=tenant.auth("admin")).json()
    assert ours["logo_url"] == mine["logo_url"] and ours["display_name"] == ""
    assert client.get(mine["logo_url"]).status_code == 200
    assert client.get("/v1/branding", headers=other_tenant.auth("admin")).json()["logo_url"] is None


def test_product_photos_by_gtin_or_id_for_admins_and_operators(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    product = make_product(client, tenant)
    by_gtin = client.put(
        f"/v1/products/{GTIN}/image", content=png(), headers=tenant.auth("operator")
    )
    assert by_gtin.status_code == 200, by_gtin.text
    assert by_gtin.json()["product_id"] == product["id"] and by_gtin.json()["gtin"] == GTIN
    url = by_gtin.json()["image_url"]
    assert client.get(url).headers["content-type"] == "image/png"
    short = GTIN.lstrip("0")  # a GTIN-13 names the same product
    again = client.put(f"/v1/products/{short}/image", content=png(), headers=tenant.auth("admin"))
    assert again.json()["image_url"] == url
    removed = client.delete(f"/v1/products/{product['id']}/image", headers=tenant.auth("admin"))
    assert removed.status_code == 200 and removed.json()["image_url"] is None
    assert client.get(url).status_code == 404
    entries = [e for e in log_entries(app, tenant.tenant_id) if e["kind"].startswith("product.")]
    assert [e["kind"] for e in entries] == [
        "product.created",
        "product.image_set",
        "product.image_set",
        "product.image_removed",
    ]
    assert entries[1]["items"] == [product["id"]] and entries[1]["data"]["gtin"] == GTIN


def test_a_logo_and_a_product_photo_may_share_an_image(
    client: TestClient, tenant: TenantKeys
) -> None:
    make_product(client, tenant)
    logo = client.put("/v1/branding/logo", content=png(), headers=tenant.auth("admin")).json()
    photo = client.put(f"/v1/products/{GTIN}/image", content=png(), headers=tenant.auth("admin"))
    assert photo.json()["image_url"] == logo["logo_url"]
    client.delete("/v1/branding/logo", headers=tenant.auth("admin"))
    assert client.get(logo["logo_url"]).status_code == 200  # the product still shows it


def test_another_tenants_product_is_not_found(
    client: TestClient, tenant: TenantKeys, other_tenant: TenantKeys
) -> None:
    product = make_product(client, tenant)
    client.put(f"/v1/products/{GTIN}/image", content=png(), headers=tenant.auth("admin"))
    for path in (f"/v1/products/{GTIN}/image", f"/v1/products/{product['id']}/image"):
        put = client.put(path, content=png(colour=(9, 9, 9)), headers=other_tenant.auth("admin"))
        assert put.status_code == 404, put.text
        assert client.delete(path, headers=other_tenant.auth("admin")).status_code == 404
    mine = client.delete(f"/v1/products/{GTIN}/image", headers=tenant.auth("admin")).json()
    assert mine["image_url"] is None  # it was still there to remove


def test_a_bad_gtin_is_422_and_an_unknown_product_404(
    client: TestClient, tenant: TenantKeys
) -> None:
    admin = tenant.auth("admin")
    assert (
        client.put("/v1/products/09506000134353/image", content=png(), headers=admin).status_code
        == 422
    )
    assert (
        client.put("/v1/products/09501101530003/image", content=png(), headers=admin).status_code
        == 404
    )
    assert client.delete("/v1/products/no-such-id/image", headers=admin).status_code == 404


def test_a_refused_upload_changes_nothing(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    before = len(log_entries(app, tenant.tenant_id))
    response = client.put("/v1/branding/logo", content=b"<svg/>", headers=tenant.auth("admin"))
    assert response.status_code == 415
    assert len(log_entries(app, tenant.tenant_id)) == before
    assert client.get("/v1/branding", headers=tenant.auth("admin")).json()["updated_at"] is None
