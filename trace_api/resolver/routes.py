"""Public HTTP routes: the GS1 resolver (page, JSON, linkset, redirects), PINs, proofs.

The resolver reads the request's raw path, so a percent-encoded ``/`` in a lot stays
inside its value. Every route here is public and rate-limited per client.
"""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from trace_api.codes.gs1 import ItemLink, item_uri, parse_item_link
from trace_api.db import transaction
from trace_api.errors import InvalidInput, NotFound
from trace_api.resolver import linkset as linksets
from trace_api.resolver import page
from trace_api.resolver.regions import InvalidRegion, check_region
from trace_api.resolver.service import Resolution, Resolver, Scan

router = APIRouter(tags=["resolver"])
_NO_STORE = {"Cache-Control": "no-store", "Vary": "Accept, Accept-Language"}


def _resolver(request: Request) -> Resolver:
    resolver: Resolver = request.app.state.resolver
    return resolver


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _link(request: Request) -> ItemLink:
    raw = request.scope.get("raw_path") or request.url.path.encode()
    path = raw.decode("latin-1")
    query = request.url.query
    return parse_item_link(f"{path}?{query}" if query else path)


def _scan(resolver: Resolver, client: str, params: dict[str, str]) -> Scan:
    lat = _coordinate(params.get("lat"), "lat", 90)
    lon = _coordinate(params.get("lon"), "lon", 180)
    if (lat is None) != (lon is None):
        raise InvalidInput("give both lat and lon, or neither")
    region = params.get("region") or None
    if region is not None:
        try:
            region = check_region(region)
        except InvalidRegion as exc:
            raise InvalidInput(str(exc)) from None
    return resolver.scan_of(client, lat=lat, lon=lon, region=region)


def _coordinate(text: str | None, name: str, bound: float) -> float | None:
    if text is None or text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        raise InvalidInput(f"{name} must be a number of degrees") from None
    if not math.isfinite(value) or abs(value) > bound:
        raise InvalidInput(f"{name} must lie between -{bound:g} and {bound:g}")
    return round(value, 3)  # about 100 m: enough for travel checks, no more


def _wants(request: Request, media_type: str) -> bool:
    accept = request.headers.get("accept", "")
    return any(part.split(";")[0].strip() == media_type for part in accept.split(","))


def _page_path(request: Request) -> str:
    raw = request.scope.get("raw_path") or request.url.path.encode()
    return str(raw.decode("latin-1"))


def _uris(request: Request, result: Resolution, link: ItemLink) -> tuple[str, str, str]:
    base = request.app.state.settings.public_base_url
    lot = result.batch["lot"] if result.batch else (link.lot or "")
    anchor = item_uri(base, link.gtin, lot, result.serial or link.serial or "")
    proof = f"{base}/v1/codes/{result.serial or link.serial}/proof"
    return anchor, anchor, proof


def _json(body: Any, status: int, media_type: str = "application/json") -> Response:
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(content, status_code=status, media_type=media_type, headers=_NO_STORE)


@router.get("/.well-known/gs1resolver", include_in_schema=True)
def resolver_description(request: Request) -> JSONResponse:
    """What this resolver answers, for GS1-aware scanning apps."""
    return JSONResponse(linksets.description(request.app.state.settings.public_base_url))


@router.get("/01/{rest:path}", response_class=HTMLResponse)
async def resolve(request: Request, rest: str) -> Response:
    """The item's page (HTML), verdict (JSON), linkset, or a redirect to one of its links.

    On SQLite the work is a few hundred microseconds of CPU in this process, so it runs
    on the event loop (a threadpool hop would cost more than it saves); on a server
    database it waits for the network, so it runs in the threadpool.
    """
    if request.app.state.engine.dialect.name == "sqlite":
        return _resolve(request)
    return await run_in_threadpool(_resolve, request)


def _resolve(request: Request) -> Response:
    resolver = _resolver(request)
    client = _client(request)
    resolver.admit(client)
    link = _link(request)
    link_type = link.params.get("linkType")
    as_linkset = link_type == "all" or _wants(request, linksets.LINKSET_MEDIA_TYPE)
    record = not as_linkset and link_type is None
    scan = _scan(resolver, client, link.params)
    app = request.app
    with resolver.scan_transaction(app.state.sessions, app.state.engine) as session:
        result = resolver.resolve(session=session, link=link, scan=scan if record else None)
    anchor, page_uri, proof_uri = _uris(request, result, link)
    headers = {"Link": f'<{anchor}?linkType=all>; rel="linkset"; type="application/linkset+json"'}
    if as_linkset:
        if result.verdict == "unknown":
            raise NotFound("no such item")
        response = _json(
            linksets.linkset(result, anchor, page_uri, proof_uri),
            200,
            linksets.LINKSET_MEDIA_TYPE,
        )
    elif link_type is not None:
        if result.verdict == "unknown":
            raise NotFound("no such item")
        links = linksets.item_links(result, page_uri, proof_uri)
        target = links.get(link_type) or links["gs1:defaultLink"]  # GS1: fall back to default
        response = RedirectResponse(target, status_code=307)
    elif _wants(request, "application/json"):
        response = _json(result.document(app.state.settings.public_base_url), result.status)
    else:
        lang = page.choose_language(request.headers.get("accept-language"), link.params.get("lang"))
        html = page.render(result, lang=lang, page_uri=_page_path(request))
        response = HTMLResponse(html, status_code=result.status, headers=_NO_STORE)
        response.headers["Content-Language"] = "zh-CN" if lang == "zh" else "en"
    response.headers.update(headers)
    return response


@router.post("/01/{rest:path}", response_class=HTMLResponse)
async def verify_pin(request: Request, rest: str) -> Response:
    """Check the item's scratch-off PIN (form field or JSON ``{"pin": ...}``)."""
    resolver = _resolver(request)
    client = _client(request)
    resolver.admit(client)
    link = _link(request)
    body = await request.body()
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            pin = str(json.loads(body or b"{}").get("pin", ""))
        except (ValueError, AttributeError):
            raise InvalidInput("the body must be a JSON object with a pin") from None
    else:
        pin = dict(parse_qsl(body.decode("utf-8", "replace"))).get("pin", "")
    if not pin.strip():
        raise InvalidInput("give the PIN as the form field or JSON member 'pin'")
    return await _pin_response(request, resolver, client, link, pin)


async def _pin_response(
    request: Request, resolver: Resolver, client: str, link: ItemLink, pin: str
) -> Response:
    def work() -> tuple[dict[str, Any], Resolution]:
        app = request.app
        scan = resolver.scan_of(client)
        with resolver.scan_transaction(app.state.sessions, app.state.engine) as session:
            outcome = resolver.verify_pin(session=session, link=link, pin=pin, scan=scan)
            result = resolver.resolve(session=session, link=link, scan=None)
        return outcome, result

    outcome, result = await run_in_threadpool(work)
    if _wants(request, "application/json"):
        return _json({"pin": outcome, "verdict": result.verdict}, 200)
    lang = page.choose_language(request.headers.get("accept-language"), link.params.get("lang"))
    html = page.render(result, lang=lang, page_uri=_page_path(request), pin_result=outcome)
    return HTMLResponse(html, status_code=200, headers=_NO_STORE)


@router.get("/v1/codes/{serial}/proof")
def code_proof(serial: str, request: Request) -> Response:
    """The code's self-describing inclusion proof (public; verifies with `crypto` alone)."""
    resolver = _resolver(request)
    client = _client(request)
    resolver.admit(client)
    with transaction(request.app.state.sessions) as session:
        document = resolver.proof(session=session, serial=serial)
    if document is None:
        resolver.misses.take(client)  # guessing serials here costs as much as on the page
        raise NotFound(f"no sound proof for code {serial}")
    return _json(document, 200)
