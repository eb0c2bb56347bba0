"""The resolver's hot request, answered before FastAPI's routing: a JSON scan of an item.

Scanning apps ask `GET /01/{gtin}/.../21/{serial}` with `Accept: application/json` far
more often than anything else. This ASGI middleware answers exactly that request with the
same code the route uses (`routes.resolve_json`), without walking the app's route table or
building FastAPI's request machinery. Anything else (HTML, linksets, redirects, PINs, a
link that does not parse) passes through to the app unchanged, so there is one behaviour
and the route stays its reference.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Receive, Scope, Send

from trace_api.components import Components
from trace_api.errors import ServiceError
from trace_api.problems import problem_response
from trace_api.resolver import routes
from trace_api.resolver.links import link_of

_log = logging.getLogger(__name__)


class ResolverFastLane:
    """ASGI middleware: serve JSON scans directly, pass every other request on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or not scope["path"].startswith("/01/")
            or not _wants_plain_json(scope["headers"])
        ):
            await self.app(scope, receive, send)
            return
        try:
            link = link_of(scope)
        except ServiceError:
            await self.app(scope, receive, send)  # the route answers the error as it does
            return
        if "linkType" in link.params:
            await self.app(scope, receive, send)
            return
        if "app" not in scope:
            await self.app(scope, receive, send)
            return
        try:
            response = await routes.resolve_json(Components.of(scope["app"]), scope, link)
        except ServiceError as exc:
            response = problem_response(
                exc.status, exc.slug, exc.title, exc.detail, scope["path"], **exc.extra
            )
            response.headers.update(getattr(exc, "headers", {}))
        except Exception:
            _log.exception("unhandled error on %s", scope["path"])
            response = problem_response(
                500,
                "internal-error",
                "Internal error",
                "an unexpected error occurred; nothing was changed",
                scope["path"],
            )
        await response(scope, receive, send)


def _wants_plain_json(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name == b"accept":
            types = [part.split(b";")[0].strip() for part in value.split(b",")]
            return b"application/json" in types and b"application/linkset+json" not in types
    return False
