"""The scan page shows the brand's logo, name and product photo, and its hotline on bad answers."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from fixtures.app import TenantKeys
from fixtures.codes import GTIN, JSON, issue_batch
from fixtures.images import png

BRANDING = {"display_name": "西湖茶业", "hotline": "400-820-8820", "website": "https://tea.example"}


def _brand(client: TestClient, tenant: TenantKeys) -> tuple[str, str]:
    admin = tenant.auth("admin")
    assert client.put("/v1/branding", json=BRANDING, headers=admin).status_code == 200
    logo = client.put("/v1/branding/logo", content=png(colour=(200, 0, 0)), headers=admin)
    photo = client.put(f"/v1/products/{GTIN}/image", content=png(colour=(0, 90, 0)), headers=admin)
    assert logo.status_code == 200 and photo.status_code == 200, (logo.text, photo.text)
    return logo.json()["logo_url"], photo.json()["image_url"]


def test_a_genuine_page_carries_logo_name_photo_and_contact(
    client: TestClient, tenant: TenantKeys
) -> None:
    issued = issue_batch(client, tenant, count=1)
    logo_url, photo_url = _brand(client, tenant)
    page = client.get(issued.path(0)).text
    assert re.search(rf'<div class="brandbar" id="brand">\s*<img src="{logo_url}"', page)
    assert "<strong>西湖茶业</strong>" in page
    assert f'id="product-photo" src="{photo_url}"' in page
    assert 'id="brand-contact"' in page and 'href="tel:4008208820"' in page
    assert 'id="next-steps"' not in page  # nothing to do on a genuine answer
    answer = client.get(issued.path(0), headers=JSON).json()
    assert answer["brand"]["hotline_uri"] == "tel:4008208820"
    assert answer["product"]["image_url"] == photo_url
    for url in (logo_url, photo_url):
        assert client.get(url).headers["content-type"] == "image/png"


def test_a_suspicious_page_offers_the_hotline_website_and_report_first(
    client: TestClient, tenant: TenantKeys, engine: Engine
) -> None:
    issued = issue_batch(client, tenant, count=1)
    _brand(client, tenant)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE codes SET sealed = :b WHERE serial = :s"),
            {"b": b"\x01\x03abc" + bytes(40), "s": issued.codes[0]["serial"]},
        )
    page = client.get(issued.path(0)).text
    steps = page.index('id="next-steps"')
    assert page.index('id="call" href="tel:4008208820"') > steps
    assert 'id="website" href="https://tea.example"' in page
    assert f'id="report" href="/report{issued.path(0)}?lang=zh"' in page
    assert 'id="product"' not in page and 'id="timeline"' not in page


def test_branding_changes_show_on_the_next_scan(client: TestClient, tenant: TenantKeys) -> None:
    issued = issue_batch(client, tenant, count=1)
    assert 'id="brand"' not in client.get(issued.path(0)).text  # none set yet
    _brand(client, tenant)
    client.put("/v1/branding", json={**BRANDING, "hotline": "95588"}, headers=tenant.auth("admin"))
    assert 'href="tel:95588"' in client.get(issued.path(0)).text
