"""Public HTTP routes: the GS1 resolver (page, JSON, linkset, redirects), PINs, proofs.

The resolver reads the request's raw path, so a percent-encoded ``/`` in a lot stays
inside its value. Every route here is public and rate-limited per client; the recount of
scan records (`scan_routes`, for compliance officers and admins) is mounted with them.
"""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.types import Scope

from trace_api.codes.gs1 import ItemLink, item_uri
from trace_api.components import Components, EngineDep, ResolverDep, SessionsDep
from trace_api.db import transaction
from trace_api.deps import SettingsDep
from trace_api.errors import InvalidInput, NotFound
from trace_api.resolver import linkset as linksets
from trace_api.resolver import page, report_routes, scan_routes
from trace_api.resolver.links import link_of
from trace_api.resolver.pins import PinBackoff
from trace_api.resolver.regions import InvalidRegion, check_region
from trace_api.resolver.resolution import Resolution, Scan
from trace_api.resolver.service import Resolver
from trace_api.settings import Settings

router = APIRouter(tags=["resolver"])
_NO_STORE = {"Cache-Control": "no-store", "Vary": "Accept, Accept-Language"}


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _link(request: Request) -> ItemLink:
    return link_of(request.scope)


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


def _uris(base: str, result: Resolution, link: ItemLink) -> tuple[str, str, str]:
    lot = result.batch["lot"] if result.batch else (link.lot or "")
    anchor = item_uri(base, link.gtin, lot, result.serial or link.serial or "")
    proof = f"{base}/v1/codes/{result.serial or link.serial}/proof"
    return anchor, anchor, proof


_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _json(
    body: Any, status: int, media_type: str = "application/json", link: str | None = None
) -> Response:
    headers = _NO_STORE if link is None else {**_NO_STORE, "Link": link}
    return Response(_ENCODE(body).encode(), status, headers, media_type)


@router.get("/.well-known/gs1resolver", include_in_schema=True)
def resolver_description(settings: SettingsDep) -> JSONResponse:
    """What this resolver answers, for GS1-aware scanning apps."""
    return JSONResponse(linksets.description(settings.public_base_url))


@router.get("/01/{rest:path}", response_class=HTMLResponse)
async def resolve(
    request: Request,
    rest: str,
    resolver: ResolverDep,
    engine: EngineDep,
    settings: SettingsDep,
) -> Response:
    """The item's page (HTML), verdict (JSON), linkset, or a redirect to one of its links.

    On SQLite the work is about a hundred microseconds of CPU in this process, so it runs
    on the event loop (a threadpool hop would cost more than it saves); on a server
    database it waits for the network, so it runs in the threadpool.
    """
    client = _client(request)
    resolver.admit(client)
    link = _link(request)
    link_type = link.params.get("linkType")
    as_linkset = link_type == "all" or _wants(request, linksets.LINKSET_MEDIA_TYPE)
    scan: Scan | None = _scan(resolver, client, link.params)
    pin_result = None
    if "pin" in link.params and scan is not None:  # the page after a PIN try (tickets.py)
        pin_result = resolver.tickets.read(
            link.params["pin"], serial=link.serial or "", client_hash=scan.client_hash
        )
    if link_type is not None or as_linkset or pin_result is not None:
        scan = None  # linksets, redirects and the page after a PIN try are not scans
    result = await _resolution(resolver, engine, link, scan)
    return _answer(request, settings, result, link, as_linkset, link_type, pin_result)


async def resolve_json(parts: Components, scope: Scope, link: ItemLink) -> Response:
    """`resolve` for a JSON scan, from the ASGI scope (see fastlane.py)."""
    resolver = parts.resolver
    client = scope["client"][0] if scope.get("client") else "unknown"
    resolver.admit(client)
    scan = _scan(resolver, client, link.params)
    result = await _resolution(resolver, parts.engine, link, scan)
    return _json_answer(parts.settings.public_base_url, result, link)


async def _resolution(
    resolver: Resolver, engine: Engine, link: ItemLink, scan: Scan | None
) -> Resolution:
    if engine.dialect.name == "sqlite":
        return resolver.resolve_alone(engine=engine, link=link, scan=scan)
    return await run_in_threadpool(resolver.resolve_alone, engine=engine, link=link, scan=scan)


def _linkset_link(anchor: str) -> str:
    return f'<{anchor}?linkType=all>; rel="linkset"; type="application/linkset+json"'


def _json_answer(base: str, result: Resolution, link: ItemLink) -> Response:
    anchor, _, _ = _uris(base, result, link)
    return _json(result.document(base), result.status, link=_linkset_link(anchor))


def _answer(
    request: Request,
    settings: Settings,
    result: Resolution,
    link: ItemLink,
    as_linkset: bool,
    link_type: str | None,
    pin_result: dict[str, Any] | None = None,
) -> Response:
    base = settings.public_base_url
    anchor, page_uri, proof_uri = _uris(base, result, link)
    linkset_link = _linkset_link(anchor)
    if as_linkset:
        if result.verdict == "unknown":
            raise NotFound("no such item")
        body = linksets.linkset(result, anchor, page_uri, proof_uri)
        return _json(body, 200, linksets.LINKSET_MEDIA_TYPE, linkset_link)
    if link_type is not None:
        if result.verdict == "unknown":
            raise NotFound("no such item")
        links = linksets.item_links(result, page_uri, proof_uri)
        target = links.get(link_type) or links["gs1:defaultLink"]  # GS1: fall back to default
        return RedirectResponse(target, status_code=307, headers={"Link": linkset_link})
    if _wants(request, "application/json"):
        return _json_answer(base, result, link)
    lang = page.choose_language(request.headers.get("accept-language"), link.params.get("lang"))
    html = _page(request, settings, result, lang, pin_result)
    headers = {**_page_headers(result, lang), "Link": linkset_link}
    return HTMLResponse(html, status_code=page.PAGE_STATUS, headers=headers)


def _page(
    request: Request,
    settings: Settings,
    result: Resolution,
    lang: str,
    pin_result: dict[str, Any] | None,
) -> str:
    path = _page_path(request)
    return page.render(
        result,
        lang=lang,
        page_uri=path,
        pin_result=pin_result,
        report_uri=f"/report{path}?lang={lang}",
        explorer=settings.chain_explorer_url,
        operator=settings.service_operator,
    )


def _page_headers(result: Resolution, lang: str) -> dict[str, str]:
    return {
        **_NO_STORE,
        "Content-Language": "zh-CN" if lang == "zh" else "en",
        "X-Trace-Verdict": result.verdict,
    }


@router.post("/01/{rest:path}", response_class=HTMLResponse)
async def verify_pin(
    request: Request,
    rest: str,
    resolver: ResolverDep,
    sessions: SessionsDep,
    engine: EngineDep,
    settings: SettingsDep,
) -> Response:
    """Check the item's scratch-off PIN (form field or JSON ``{"pin": ...}``)."""
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
    checked = await run_in_threadpool(_check_pin, resolver, sessions, engine, client, link, pin)
    return _pin_answer(request, settings, resolver, client, link, *checked)


def _check_pin(
    resolver: Resolver,
    sessions: sessionmaker[Session],
    engine: Engine,
    client: str,
    link: ItemLink,
    pin: str,
) -> tuple[dict[str, Any], Resolution]:
    scan = resolver.scan_of(client)
    with resolver.scan_transaction(sessions, engine) as session:
        outcome = resolver.verify_pin(session=session, link=link, pin=pin, scan=scan)
        result = resolver.resolve(session=session, link=link, scan=None)
    return outcome, result


def _pin_answer(
    request: Request,
    settings: Settings,
    resolver: Resolver,
    client: str,
    link: ItemLink,
    outcome: dict[str, Any],
    result: Resolution,
) -> Response:
    backing_off = outcome["result"] == "backing_off"
    if _wants(request, "application/json"):
        if backing_off:
            raise PinBackoff(outcome)  # 429 problem+json with Retry-After
        return _json({"pin": outcome, "verdict": result.verdict}, 200)
    lang = page.choose_language(request.headers.get("accept-language"), link.params.get("lang"))
    if backing_off:  # nothing was checked: the page says why and for how long, as does 429
        html = _page(request, settings, result, lang, outcome)
        headers = {**_page_headers(result, lang), "Retry-After": str(outcome["retry_after"])}
        return HTMLResponse(html, status_code=429, headers=headers)
    # Post, then redirect: the page shows the outcome, and a refresh does not post again.
    ticket = resolver.tickets.issue(
        serial=result.serial or "",
        client_hash=resolver.scan_of(client).client_hash,
        outcome=outcome,
    )
    target = f"{_page_path(request)}?{urlencode({'pin': ticket, 'lang': lang})}"
    return RedirectResponse(target, status_code=303, headers=_NO_STORE)


@router.get("/v1/codes/{serial}/proof")
def code_proof(
    serial: str, request: Request, resolver: ResolverDep, sessions: SessionsDep
) -> Response:
    """The code's self-describing inclusion proof (public; verifies with `crypto` alone)."""
    client = _client(request)
    resolver.admit(client)
    with transaction(sessions) as session:
        document = resolver.proof(session=session, serial=serial)
    if document is None:
        resolver.misses.take(client)  # guessing serials here costs as much as on the page
        raise NotFound(f"no sound proof for code {serial}")
    return _json(document, 200)


router.include_router(report_routes.router)
router.include_router(scan_routes.router)  # after the public routes: they are tried first
