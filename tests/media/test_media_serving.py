"""GET /media/{id}: public, cacheable for good, never sniffed, 304 on a matching ETag."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fixtures.app import TenantKeys
from fixtures.images import png
from trace_api.components import get_media_requests
from trace_api.ratelimit import TokenBuckets


@pytest.fixture
def logo_url(client: TestClient, tenant: TenantKeys) -> str:
    response = client.put("/v1/branding/logo", content=png(), headers=tenant.auth("admin"))
    assert response.status_code == 200, response.text
    return str(response.json()["logo_url"])


def test_an_image_is_served_without_a_key_with_headers_that_keep_it_an_image(
    client: TestClient, logo_url: str
) -> None:
    response = client.get(logo_url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"] == "default-src 'none'"
    assert response.headers["etag"] == f'"{logo_url.removeprefix("/media/")}"'
    assert response.content.startswith(b"\x89PNG")


@pytest.mark.parametrize("form", ["{etag}", "W/{etag}", '"other", {etag}', "*"])
def test_a_matching_if_none_match_is_304_without_a_body(
    client: TestClient, logo_url: str, form: str
) -> None:
    etag = client.get(logo_url).headers["etag"]
    response = client.get(logo_url, headers={"If-None-Match": form.format(etag=etag)})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag
    assert response.headers["cache-control"].endswith("immutable")


def test_another_etag_gets_the_image(client: TestClient, logo_url: str) -> None:
    response = client.get(logo_url, headers={"If-None-Match": '"' + "0" * 64 + '"'})
    assert response.status_code == 200 and response.content


@pytest.mark.parametrize(
    "media_id",
    ["0" * 64, "A" * 64, "0" * 63, "0" * 65, "../../etc/passwd", "g" * 64, "%00"],
)
def test_an_unknown_or_malformed_id_is_a_404_problem(client: TestClient, media_id: str) -> None:
    response = client.get(f"/media/{media_id}")
    assert response.status_code in (404, 400), response.text  # a NUL is refused before routing
    assert response.headers["content-type"] == "application/problem+json"


def test_star_does_not_make_a_missing_image_304(client: TestClient) -> None:
    response = client.get("/media/" + "0" * 64, headers={"If-None-Match": "*"})
    assert response.status_code == 404


def test_images_are_rate_limited_per_client(
    app: FastAPI, client: TestClient, logo_url: str
) -> None:
    budgets = TokenBuckets(rate=0.001, burst=2)
    app.dependency_overrides[get_media_requests] = lambda: budgets
    assert [client.get(logo_url).status_code for _ in range(2)] == [200, 200]
    throttled = client.get(logo_url)
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) >= 1
    assert throttled.headers["content-type"] == "application/problem+json"
