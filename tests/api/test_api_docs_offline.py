"""/docs and /redoc load everything from the service itself: they render with no CDN.

The HTML names only same-origin URLs, each of which answers with a non-trivial script,
stylesheet or image that browsers may cache; and headless Chromium, with every request to
another host aborted, renders both UIs (screenshots in tests/artifacts/).
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

pytest_plugins = ["fixtures.browser"]

BASE = "http://testserver"
PAGES = ("/docs", "/redoc")
KINDS = {  # what a page loads -> the content types that may answer it
    "script": ("text/javascript", "application/javascript"),
    "stylesheet": ("text/css",),
    "icon": ("image/png",),
}


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """The doc pages do not depend on the database: one SQLite run is enough."""
    return f"sqlite:///{(tmp_path / 'test.db').as_posix()}"


class _References(HTMLParser):
    """Every src and href of a page, with what kind of file it loads."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        for attribute in ("src", "href"):
            if attribute not in values:
                continue
            rel = values.get("rel", "")
            kind = "script" if tag == "script" else "stylesheet" if "stylesheet" in rel else ""
            kind = kind or ("icon" if "icon" in rel else tag)
            self.found.append((kind, values[attribute]))


def _references(html: str) -> list[tuple[str, str]]:
    parser = _References()
    parser.feed(html)
    return parser.found


@pytest.mark.parametrize("path", PAGES)
def test_doc_pages_name_only_their_own_files(client: TestClient, path: str) -> None:
    page = client.get(path)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "fonts.googleapis.com" not in page.text
    found = _references(page.text)
    kinds = {kind for kind, _ in found}
    assert "script" in kinds and "icon" in kinds
    if path == "/docs":
        assert "stylesheet" in kinds
    for kind, url in found:
        absolute = urljoin(BASE + path, url)
        assert urlsplit(absolute).netloc == "testserver", (path, url)
        asset = client.get(absolute)
        assert asset.status_code == 200, (path, url)
        content_type = asset.headers["content-type"].split(";")[0].strip()
        assert content_type in KINDS[kind], (path, url, content_type)
        assert len(asset.content) > (1000 if kind == "icon" else 50_000), (path, url)
        assert "max-age=31536000" in asset.headers["cache-control"], (path, url)


@pytest.mark.parametrize("path", PAGES)
def test_doc_pages_forbid_other_hosts(client: TestClient, path: str) -> None:
    policy = client.get(path).headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'self'"
    for directive in ("script-src", "style-src", "img-src", "font-src", "connect-src"):
        sources = directives[directive].split()
        assert all(s in ("'self'", "'unsafe-inline'", "data:") for s in sources), directive


def test_doc_routes_stay_out_of_the_schema(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith(("/docs", "/redoc", "/static"))]
    redirect = client.get("/docs/oauth2-redirect")
    assert redirect.status_code == 200 and "oauth2" in redirect.text


def test_static_docs_answer_404_for_a_missing_file(client: TestClient) -> None:
    assert client.get("/static/docs/nope.js").status_code == 404
    assert client.get("/static/docs/").status_code == 404  # no listing


def _offline_page(browser: Any, url: str, width: int) -> tuple[Any, Any, list[str], list[str]]:
    """A page whose requests to anything but the live server are aborted (and recorded)."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    origin = urlsplit(url).netloc
    foreign: list[str] = []
    errors: list[str] = []

    def route(request_route: Any) -> None:
        if urlsplit(request_route.request.url).netloc == origin:
            request_route.continue_()
        else:
            foreign.append(request_route.request.url)
            request_route.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: errors.append(message.text) if message.type == "error" else None,
    )
    return context, page, foreign, errors


@pytest.mark.browser
def test_swagger_ui_renders_with_every_other_host_cut_off(
    browser: Any, live_server: str, app: FastAPI, artifacts: Path
) -> None:
    context, page, foreign, errors = _offline_page(browser, live_server, 1280)
    try:
        response = page.goto(f"{live_server}/docs")
        assert response is not None and response.status == 200
        title = page.locator(".swagger-ui .info .title")
        title.wait_for(timeout=15_000)
        assert app.title in title.inner_text()
        page.locator(".swagger-ui .opblock").first.wait_for(timeout=15_000)
        assert page.locator(".swagger-ui .opblock").count() > 10
        page.screenshot(path=str(artifacts / "api-docs-swagger-offline.png"))
        assert foreign == []
        assert errors == []
    finally:
        context.close()


@pytest.mark.browser
def test_redoc_renders_with_every_other_host_cut_off(
    browser: Any, live_server: str, client: TestClient, artifacts: Path
) -> None:
    summary = client.get("/openapi.json").json()["paths"]["/healthz"]["get"]["summary"]
    context, page, foreign, errors = _offline_page(browser, live_server, 1280)
    try:
        response = page.goto(f"{live_server}/redoc")
        assert response is not None and response.status == 200
        heading = page.locator("h2", has_text=summary).first
        heading.wait_for(timeout=30_000)
        assert heading.is_visible()
        assert page.locator("[data-section-id^='operation/']").count() > 10
        page.screenshot(path=str(artifacts / "api-docs-redoc-offline.png"))
        assert foreign == []
        # the one foreign name in ReDoc's bundle (its logo) is refused by the page's policy
        assert all("cdn.redoc.ly" in e and "Content Security Policy" in e for e in errors)
    finally:
        context.close()
