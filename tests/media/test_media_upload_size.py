"""Image uploads may carry TRACE_MEDIA_MAX_BYTES; past it a 413 before the body is read."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import Message

from fixtures.app import TenantKeys
from fixtures.asgi import run_to_end
from fixtures.images import noise_png
from trace_api.settings import Settings


def test_a_logo_of_one_and_a_half_mib_is_accepted(
    client: TestClient, tenant: TenantKeys, settings: Settings
) -> None:
    body = noise_png(740)  # about 1.6 MB of barely compressible pixels
    assert settings.max_body_bytes < len(body) <= settings.media_max_bytes
    response = client.put("/v1/branding/logo", content=body, headers=tenant.auth("admin"))
    assert response.status_code == 200, response.text
    assert client.get(response.json()["logo_url"]).status_code == 200


def test_a_product_photo_over_the_json_limit_is_accepted_too(
    client: TestClient, tenant: TenantKeys, settings: Settings
) -> None:
    from fixtures.codes import GTIN, make_product

    make_product(client, tenant)
    body = noise_png(740)
    assert len(body) > settings.max_body_bytes
    response = client.put(
        f"/v1/products/{GTIN}/image", content=body, headers=tenant.auth("operator")
    )
    assert response.status_code == 200, response.text


def test_a_declared_length_over_media_max_bytes_is_413(
    client: TestClient, tenant: TenantKeys, settings: Settings
) -> None:
    body = b"\0" * (settings.media_max_bytes + 1)
    response = client.put("/v1/branding/logo", content=body, headers=tenant.auth("admin"))
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["limit"] == settings.media_max_bytes


def test_a_streamed_body_over_media_max_bytes_is_413_without_being_read_in_full(
    app: FastAPI, settings: Settings, tenant: TenantKeys
) -> None:
    # Straight through ASGI: the test client would read a streamed body in full first.
    chunk = 64 * 1024
    total_chunks = 4 * settings.media_max_bytes // chunk  # 8 MiB offered, no Content-Length
    received = 0
    sent: list[Message] = []

    async def receive() -> Message:
        nonlocal received
        received += 1
        return {"type": "http.request", "body": b"\0" * chunk, "more_body": True}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "PUT",
        "scheme": "http",
        "path": "/v1/branding/logo",
        "raw_path": b"/v1/branding/logo",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"transfer-encoding", b"chunked"),
            (b"content-type", b"image/png"),
            (b"authorization", tenant.auth("admin")["Authorization"].encode()),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    run_to_end(app(scope, receive, send))
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 413
    # The guard stopped one chunk past the limit and never asked for the rest.
    assert received == settings.media_max_bytes // chunk + 1 < total_chunks


def test_other_routes_keep_the_json_limit(
    client: TestClient, tenant: TenantKeys, settings: Settings
) -> None:
    body = b"\0" * (settings.max_body_bytes + 1)
    for method, path in (
        ("POST", "/v1/organisations"),
        ("PUT", "/v1/branding"),
        ("POST", "/v1/branding/logo"),  # the larger limit is for PUT only
        ("PUT", "/v1/branding/logo/extra"),
    ):
        response = client.request(method, path, content=body, headers=tenant.auth("admin"))
        assert response.status_code == 413, (method, path)
        assert response.json()["limit"] == settings.max_body_bytes
