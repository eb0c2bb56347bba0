"""`/docs` (Swagger UI) and `/redoc` served with their scripts, styles and icon from here.

FastAPI's own doc pages load Swagger UI and ReDoc from a CDN (jsdelivr), their icon from
fastapi.tiangolo.com and ReDoc's fonts from Google: where those are blocked (mainland China,
a closed network) the pages stay blank. The files come from the ``fastapi-offline`` package
(Swagger UI and ReDoc's standalone bundle, as published on npm, and FastAPI's favicon),
mounted at ``/static/docs/`` and cached for a year: each URL carries the package's version,
so an upgrade is fetched anew.

The two pages also carry a Content-Security-Policy that lets them load nothing from another
host: ReDoc's bundle still names one (the Redocly logo in its sidebar footer, which it hides
when the image fails to load), and the browser now refuses it instead of asking abroad.
"""

from __future__ import annotations

from importlib.metadata import version

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse, Response
from starlette.types import Scope

STATIC_PATH = "/static/docs"
DOCS_PATH = "/docs"
REDOC_PATH = "/redoc"
_PACKAGE = "fastapi_offline"  # its static/ folder holds the bundles
_FOREVER = "public, max-age=31536000, immutable"
# Swagger UI starts from an inline script; both UIs inline styles, draw icons from data:
# URIs, and ReDoc runs its search in a worker made from a blob.
PAGE_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


class _LongCachedFiles(StaticFiles):
    """Static files whose URLs are versioned, so a browser may keep them for a year."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            response.headers["Cache-Control"] = _FOREVER
        return response


def install_api_docs(app: FastAPI) -> None:
    """Mount the doc pages on an app made with ``docs_url=None, redoc_url=None``."""
    if app.docs_url is not None or app.redoc_url is not None:
        raise ValueError("make the app with docs_url=None and redoc_url=None")
    openapi_url = app.openapi_url
    if openapi_url is None:
        return
    oauth2_redirect_url = app.swagger_ui_oauth2_redirect_url or f"{DOCS_PATH}/oauth2-redirect"
    stamp = f"?v={version('fastapi-offline')}"
    app.mount(
        STATIC_PATH,
        _LongCachedFiles(packages=[(_PACKAGE, "static")]),
        name="api-docs-static",
    )

    def asset(request: Request, name: str) -> str:
        return f"{request.scope.get('root_path', '')}{STATIC_PATH}/{name}{stamp}"

    @app.get(DOCS_PATH, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=asset(request, "swagger-ui-bundle.js"),
            swagger_css_url=asset(request, "swagger-ui.css"),
            swagger_favicon_url=asset(request, "favicon.png"),
            oauth2_redirect_url=f"{root}{oauth2_redirect_url}",
            init_oauth=app.swagger_ui_init_oauth,
            swagger_ui_parameters=app.swagger_ui_parameters,
        )
        return _confined(page)

    @app.get(oauth2_redirect_url, include_in_schema=False)
    async def swagger_ui_oauth2_redirect() -> HTMLResponse:
        return _confined(get_swagger_ui_oauth2_redirect_html())

    @app.get(REDOC_PATH, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_redoc_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=asset(request, "redoc.standalone.js"),
            redoc_favicon_url=asset(request, "favicon.png"),
            with_google_fonts=False,
        )
        return _confined(page)


def _confined(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = PAGE_POLICY
    return page
