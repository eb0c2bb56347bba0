"""Uploaded images: what the bytes are decides; what is stored is re-encoded and scrubbed."""

from __future__ import annotations

import hashlib
import io

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from fixtures.app import TenantKeys
from fixtures.images import (
    GPS_IFD,
    SVG,
    animated,
    declared_png,
    encoded,
    html_polyglot,
    phone_photo,
    png,
)
from trace_api.components import Components
from trace_api.db import transaction
from trace_api.media.images import DISPLAY_SIDE
from trace_api.models import Media


def _put_logo(
    client: TestClient, tenant: TenantKeys, body: bytes, content_type: str = "image/png"
) -> httpx.Response:
    return client.put(
        "/v1/branding/logo",
        content=body,
        headers={**tenant.auth("admin"), "Content-Type": content_type},
    )


def _stored(client: TestClient, tenant: TenantKeys, body: bytes) -> tuple[bytes, str]:
    response = _put_logo(client, tenant, body)
    assert response.status_code == 200, response.text
    url = response.json()["logo_url"]
    served = client.get(url)
    assert served.status_code == 200
    return served.content, served.headers["content-type"]


def _media_count(app: FastAPI) -> int:
    with transaction(Components.of(app).sessions) as session:
        return int(session.scalar(select(func.count()).select_from(Media)) or 0)


def test_a_phone_photo_loses_its_gps_position_and_stands_upright(
    client: TestClient, tenant: TenantKeys
) -> None:
    upload = phone_photo(size=(300, 200), orientation=6)  # "rotate 90° clockwise to view"
    assert Image.open(io.BytesIO(upload)).getexif().get_ifd(GPS_IFD)  # it does carry GPS
    data, content_type = _stored(client, tenant, upload)
    assert content_type == "image/jpeg"
    stored = Image.open(io.BytesIO(data))
    exif = stored.getexif()
    assert len(exif) == 0 and not exif.get_ifd(GPS_IFD)
    assert "exif" not in stored.info and "xmp" not in stored.info
    assert b"PhoneMaker" not in data and b"GPS" not in data
    # Turned upright: 200 wide, 300 high, the red half (left) now on top.
    assert stored.size == (200, 300)
    red, _, blue = stored.convert("RGB").getpixel((100, 20))  # type: ignore[misc]
    assert red > 150 and blue < 100
    red, _, blue = stored.convert("RGB").getpixel((100, 280))  # type: ignore[misc]
    assert blue > 150 and red < 100


def test_html_after_a_png_is_dropped_and_served_as_a_png_never_sniffed(
    client: TestClient, tenant: TenantKeys
) -> None:
    data, content_type = _stored(client, tenant, html_polyglot())
    assert content_type == "image/png"
    assert b"<script" not in data and b"<html" not in data
    logo = client.get("/v1/branding", headers=tenant.auth("admin")).json()["logo_url"]
    served = client.get(logo)
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-security-policy"] == "default-src 'none'"
    Image.open(io.BytesIO(served.content)).verify()


@pytest.mark.parametrize(
    ("body", "declared"),
    [
        (SVG, "image/svg+xml"),
        (animated("GIF"), "image/gif"),
        (b"", "image/png"),
        (b"<html><script>alert(1)</script></html>", "image/png"),  # lies about its type
        (encoded(Image.new("RGB", (8, 8)), "BMP"), "image/bmp"),
        (encoded(Image.new("RGB", (8, 8)), "TIFF"), "image/tiff"),
    ],
    ids=["svg", "gif", "empty", "html-as-png", "bmp", "tiff"],
)
def test_what_is_not_png_jpeg_or_webp_is_415(
    client: TestClient, tenant: TenantKeys, body: bytes, declared: str
) -> None:
    response = _put_logo(client, tenant, body, declared)
    assert response.status_code == 415, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/unsupported-image"
    assert client.get("/v1/branding", headers=tenant.auth("admin")).json()["logo_url"] is None


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_animated_images_are_415(client: TestClient, tenant: TenantKeys, fmt: str) -> None:
    response = _put_logo(client, tenant, animated(fmt))
    assert response.status_code == 415
    assert "animated" in response.json()["detail"]


def test_a_decompression_bomb_is_413_and_the_service_lives_on(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    bomb = declared_png(30000, 30000)  # 69 bytes declaring 900 million pixels
    assert len(bomb) < 100
    response = _put_logo(client, tenant, bomb)
    assert response.status_code == 413, response.text
    assert response.json()["type"] == "/problems/image-too-large"
    assert client.get("/healthz").status_code == 200
    assert _media_count(app) == 0


def test_a_side_over_media_max_pixels_is_413_before_decoding(
    client: TestClient, tenant: TenantKeys
) -> None:
    response = _put_logo(client, tenant, declared_png(4097, 16))
    assert response.status_code == 413
    assert "4097x16" in response.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [phone_photo()[: len(phone_photo()) // 2], png()[:8] + b"not really a PNG"],
    ids=["truncated-jpeg", "png-signature-only"],
)
def test_a_png_or_jpeg_that_does_not_decode_is_422(
    client: TestClient, tenant: TenantKeys, body: bytes
) -> None:
    response = _put_logo(client, tenant, body, "image/jpeg")
    assert response.status_code == 422
    assert response.json()["type"] == "/problems/invalid-image"


def test_png_stays_png_and_is_shrunk_for_display(client: TestClient, tenant: TenantKeys) -> None:
    data, content_type = _stored(client, tenant, png(size=(3000, 1500)))
    assert content_type == "image/png"
    assert Image.open(io.BytesIO(data)).size == (DISPLAY_SIDE, DISPLAY_SIDE // 2)


def test_an_opaque_webp_becomes_jpeg_and_a_transparent_one_png(
    client: TestClient, tenant: TenantKeys
) -> None:
    opaque = encoded(Image.new("RGB", (40, 40), (5, 6, 7)), "WEBP")
    assert _stored(client, tenant, opaque)[1] == "image/jpeg"
    clear = encoded(Image.new("RGBA", (40, 40), (5, 6, 7, 0)), "WEBP")
    data, content_type = _stored(client, tenant, clear)
    assert content_type == "image/png"
    assert Image.open(io.BytesIO(data)).mode == "RGBA"


def test_the_same_upload_twice_is_one_row_named_by_its_sha256(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    first = _put_logo(client, tenant, png()).json()
    second = _put_logo(client, tenant, png()).json()
    assert first["logo_url"] == second["logo_url"]
    assert _media_count(app) == 1
    served = client.get(first["logo_url"])
    assert first["logo_url"] == "/media/" + hashlib.sha256(served.content).hexdigest()
