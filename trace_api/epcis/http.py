"""What the EPCIS routes share: the caller, its view, query parameters, answers, paging."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from trace_api.epcis import documents, negotiation, service
from trace_api.epcis.errors import (
    EpcisForbidden,
    EpcisUnauthenticated,
    EpcisValidationError,
    QueryParameterError,
)
from trace_api.epcis.query import Viewer
from trace_api.errors import Forbidden, Unauthenticated
from trace_api.json_input import JsonRefused, loads_strict
from trace_api.principal import Principal
from trace_api.roles import custody_view
from trace_api.settings import Settings

_Row = TypeVar("_Row")


class EpcisRoute(APIRoute):
    """A route of the binding: a missing or wrong key and a role the route's role set
    (trace_api/roles.py) does not admit answer in the binding's problem type
    (``epcisException:SecurityException``) instead of the API's own."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer_as_the_binding(request: Request) -> Response:
            try:
                return await handler(request)
            except (EpcisUnauthenticated, EpcisForbidden):
                raise
            except Unauthenticated as exc:
                raise EpcisUnauthenticated(exc.detail) from None
            except Forbidden as exc:
                raise EpcisForbidden(exc.detail) from None

        return answer_as_the_binding


def epcis_router(prefix: str) -> APIRouter:
    """A router of the binding: each request's versions and media are negotiated (406)
    before its key is looked at, and refusals are the binding's (``EpcisRoute``)."""
    return APIRouter(
        prefix=prefix,
        tags=["epcis"],
        route_class=EpcisRoute,
        dependencies=[Depends(negotiation.negotiate)],
    )


def viewer(principal: Principal) -> Viewer:
    """What the caller may see: the tenant, narrowed to custody for a dealer."""
    return Viewer(principal.tenant_id, custody_view(principal))


async def raw_body(request: Request) -> bytes:
    """The request body as sent (read before the sync route runs)."""
    return await request.body()


Body = Annotated[bytes, Depends(raw_body)]


def json_body(request: Request, body: bytes, settings: Settings) -> Any:
    """The body as JSON; 415 unless declared JSON or JSON-LD, 400 when it does not parse."""
    negotiation.require_json_body(request)
    try:
        return loads_strict(body, max_depth=settings.max_json_depth)
    except JsonRefused as exc:
        raise EpcisValidationError(exc.reason) from None


def query_params(request: Request, *, skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The URL's query parameters, pipe-delimited lists split (GS1's OpenAPI style)."""
    params: dict[str, Any] = {}
    for name in request.query_params:
        if name in skip:
            continue
        values = [v for raw in request.query_params.getlist(name) for v in raw.split("|")]
        params[name] = [v for v in values if v != ""] or [""]
    return params


def per_page(request: Request, settings: Settings, default: int = 30) -> int:
    """perPage, clamped to 1..TRACE_EPCIS_MAX_PER_PAGE."""
    raw = request.query_params.get("perPage")
    limit = settings.epcis_max_per_page
    if raw is None:
        return min(default, limit)
    try:
        value = int(raw)
    except ValueError:
        raise QueryParameterError(f"perPage: {raw!r} is not an integer") from None
    return max(1, min(value, limit))


def next_link(request: Request, token: str | None) -> dict[str, str]:
    """The Link header pointing at the next page, when there is one."""
    if token is None:
        return {}
    url = request.url.include_query_params(nextPageToken=token)
    return {"Link": f'<{url}>; rel="next"'}


def listing(
    request: Request,
    principal: Principal,
    session: Session,
    settings: Settings,
    rows: Callable[..., tuple[list[_Row], str | None]],
    out: Callable[[_Row], Any],
) -> Response:
    """One page of a tenant's ``rows`` (a service's lister, paged after a row's string key),
    each shown by ``out``, linking the next page when there is one."""
    found, last = rows(
        session=session,
        tenant_id=principal.tenant_id,
        per_page=per_page(request, settings),
        after=decode_cursor(request.query_params.get("nextPageToken")),
    )
    token = encode_cursor(last) if last else None
    return answer([out(r) for r in found], headers=next_link(request, token))


def encode_cursor(value: str) -> str:
    """An opaque page token for listings ordered by a string."""
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def decode_cursor(token: str | None) -> str | None:
    if token is None:
        return None
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise QueryParameterError("nextPageToken is not a token of this listing") from None


def answer(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer with the binding's headers."""
    content = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
    return Response(
        content=content,
        status_code=status,
        media_type="application/json" if body is not None else None,
        headers={**negotiation.response_headers(), **(headers or {})},
    )


def discovery(allow: str, extra: dict[str, str] | None = None) -> Response:
    """An OPTIONS answer."""
    return Response(
        status_code=204, headers={**negotiation.discovery_headers(allow), **(extra or {})}
    )


def events_page(
    request: Request,
    principal: Any,
    session: Session,
    settings: Settings,
    fixed: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    query_name: str = "SimpleEventQuery",
) -> Response:
    """A page of events as an EPCISQueryDocument, with its ``Link`` to the next page."""
    page = service.query_events(
        session=session,
        viewer=viewer(principal),
        params=query_params(request) if params is None else params,
        fixed=fixed,
        per_page=per_page(request, settings),
        token=request.query_params.get("nextPageToken"),
    )
    document = documents.query_document(page.rows, page.bodies, query_name=query_name)
    return answer(document, headers=next_link(request, page.next_token))
