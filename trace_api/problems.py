"""The one place where errors become ``application/problem+json`` responses."""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

from trace_api.errors import ServiceError

PROBLEM_MEDIA_TYPE = "application/problem+json"
_log = logging.getLogger(__name__)

_HTTP_SLUGS = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "invalid-input",
    429: "rate-limited",
}


def problem_type(slug: str) -> str:
    """The stable ``type`` URI of a problem; documented at that path."""
    return f"/problems/{slug}"


def problem_response(
    status: int,
    slug: str,
    title: str,
    detail: str,
    instance: str,
    type_uri: str | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem+json response with the RFC 9457 members and any extension members."""
    body = {
        "type": type_uri or problem_type(slug),
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        **extra,
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        jsonable_encoder(body), status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )


_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_PATH_SAFE = "/:@!$&'()*+,;=%~"  # RFC 3986 pchar and "/"; "%" only where it starts an escape
_QUERY_SAFE = _PATH_SAFE + "?"


def absolute_uri(url: str) -> str:
    """``url`` as a valid absolute URI (what an EPCIS problem's ``instance`` must be).

    Each part is percent-encoded with what RFC 3986 allows in it, and a ``%`` that starts
    no escape (a path that held ``%25`` arrives decoded as ``%``) becomes ``%25``.
    """
    parts = urlsplit(_STRAY_PERCENT.sub("%25", url))
    return urlunsplit(
        (
            parts.scheme,
            parts.netloc,
            quote(parts.path, safe=_PATH_SAFE),
            quote(parts.query, safe=_QUERY_SAFE),
            quote(parts.fragment, safe=_QUERY_SAFE),
        )
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Map every error the app can raise to problem+json."""

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
        # An error with its own type URI (the EPCIS binding's `epcisException:...`) also
        # names the absolute request URL as instance, as that binding's schema asks.
        type_uri: str | None = getattr(exc, "type_uri", None)
        instance = absolute_uri(str(request.url)) if type_uri else request.url.path
        response = problem_response(
            exc.status, exc.slug, exc.title, exc.detail, instance, type_uri, **exc.extra
        )
        response.headers.update(getattr(exc, "headers", {}))  # e.g. Retry-After on a 429
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        if any(e["type"] == "json_invalid" for e in errors):
            return problem_response(
                400,
                "malformed-json",
                "Malformed JSON",
                "the body is not valid JSON",
                request.url.path,
                errors=errors,
            )
        first = errors[0] if errors else {"loc": [], "msg": "invalid"}
        where = ".".join(str(p) for p in first["loc"])
        return problem_response(
            422,
            "invalid-input",
            "Invalid input",
            f"{where}: {first['msg']}",
            request.url.path,
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug = _HTTP_SLUGS.get(exc.status_code, "http-error")
        title = slug.replace("-", " ").capitalize()
        return problem_response(exc.status_code, slug, title, str(exc.detail), request.url.path)

    @app.exception_handler(DataError)
    @app.exception_handler(OverflowError)
    async def _unstorable(request: Request, exc: DataError | OverflowError) -> JSONResponse:
        # The database refused a value the request carried (PostgreSQL: a NUL character in
        # text, an integer beyond bigint; SQLite's driver: an integer beyond 64 bits, as an
        # OverflowError); the transaction was rolled back.
        _log.info("refused value on %s: %s", request.url.path, getattr(exc, "orig", exc))
        return problem_response(
            422,
            "invalid-input",
            "Invalid input",
            "a value in the request cannot be stored or compared (a NUL character in text, "
            "or a number out of range)",
            request.url.path,
        )

    @app.exception_handler(ClientDisconnect)
    async def _went_away(request: Request, exc: ClientDisconnect) -> JSONResponse:
        # The client closed the connection while its body was being read: nobody reads
        # this answer, and it is not the service's fault (no traceback in the log).
        _log.info("client went away during its body on %s", request.url.path)
        return problem_response(
            400,
            "client-disconnected",
            "Client disconnected",
            "the connection closed before the body arrived",
            request.url.path,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        _log.exception("unhandled error on %s", request.url.path)
        return problem_response(
            500,
            "internal-error",
            "Internal error",
            "an unexpected error occurred; nothing was changed",
            request.url.path,
        )


class RefuseNul:
    """ASGI middleware: a NUL character in the path or query string is a 400 on every
    database (PostgreSQL cannot even compare text holding one)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and ("\x00" in scope["path"] or b"%00" in scope["query_string"]):
            detail = "the path or query string holds a NUL character"
            if scope["path"].startswith("/epcis"):  # in the binding's own terms
                response = problem_response(
                    400,
                    "epcis-validation",
                    "Invalid request",
                    detail,
                    absolute_uri(str(Request(scope).url)),
                    "epcisException:ValidationException",  # the one every 400 there allows
                )
            else:
                response = problem_response(
                    400, "bad-request", "Bad request", detail, scope["path"].replace("\x00", "%00")
                )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
