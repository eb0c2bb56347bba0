"""Public pages beside the scan page: the report form and "how to check it yourself".

``/report/01/...`` names the item exactly as its scan page does (the same GS1 path after
the ``/report`` prefix). The form posts, then redirects to a thank-you page with the
report's reference; JSON clients post ``{"reason": ...}`` and get the reference back.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from trace_api.codes.gs1 import ItemLink
from trace_api.components import EngineDep, ResolverDep, SessionsDep
from trace_api.errors import InvalidInput, RateLimited
from trace_api.json_input import JsonRefused, loads_strict
from trace_api.resolver import page, reports
from trace_api.resolver.help_text import HOWTO, REPORT
from trace_api.resolver.links import link_of
from trace_api.resolver.service import Resolver

router = APIRouter(tags=["resolver"])
_PREFIX = "/report"
_REFERENCE = re.compile(r"[0-9A-F]{8}")
_NO_STORE = {"Cache-Control": "no-store"}


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(Path(__file__).with_name("templates")),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _item_link(request: Request) -> tuple[ItemLink, str]:
    """The item a report page names, and its scan page's path."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    item_path = raw[len(_PREFIX) :]
    scope = {**request.scope, "raw_path": item_path, "path": request.url.path[len(_PREFIX) :]}
    return link_of(scope), item_path.decode("latin-1")


def _language(request: Request, link: ItemLink) -> str:
    return page.choose_language(request.headers.get("accept-language"), link.params.get("lang"))


def _form_page(
    request: Request,
    link: ItemLink,
    scan_path: str,
    lang: str,
    *,
    form: dict[str, str] | None = None,
    error: str | None = None,
    reference: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    html = (
        _environment()
        .get_template("report.html")
        .render(
            t=REPORT[lang],
            lang=lang,
            link=link,
            form=form or {},
            error=error,
            reference=reference,
            reasons=reports.REASONS,
            action=f"{_PREFIX}{scan_path}?lang={lang}",
            back_uri=f"{scan_path}?lang={lang}",
        )
    )
    headers = {**_NO_STORE, "Content-Language": "zh-CN" if lang == "zh" else "en"}
    return HTMLResponse(html, status_code=status, headers=headers)


@router.get("/report/01/{rest:path}", response_class=HTMLResponse)
def report_form(request: Request, rest: str, resolver: ResolverDep) -> Response:
    """The report form for an item (or, with ``?sent=``, the thank-you page)."""
    resolver.admit(_client(request))
    link, scan_path = _item_link(request)
    lang = _language(request, link)
    sent = link.params.get("sent", "")
    reference = sent if _REFERENCE.fullmatch(sent) else None
    return _form_page(request, link, scan_path, lang, reference=reference)


@router.post("/report/01/{rest:path}", response_class=HTMLResponse)
async def send_report(
    request: Request,
    rest: str,
    resolver: ResolverDep,
    sessions: SessionsDep,
    engine: EngineDep,
) -> Response:
    """Store a shopper's report: a form post redirects, a JSON post answers 201."""
    client = _client(request)
    resolver.admit(client)
    link, scan_path = _item_link(request)
    lang = _language(request, link)
    as_json = request.headers.get("content-type", "").startswith("application/json")
    fields = _fields(await request.body(), as_json)
    try:
        form = reports.ReportForm.model_validate(fields)
    except ValidationError as exc:
        if as_json:
            raise InvalidInput(_first_error(exc)) from None
        missing = any(e["loc"] == ("reason",) for e in exc.errors())
        error = REPORT[lang]["error_reason" if missing else "error_text"]
        return _form_page(request, link, scan_path, lang, form=fields, error=error, status=422)
    wait = resolver.reports.take(client)
    if wait:
        if as_json:
            raise RateLimited("too many reports from this client", retry_after=int(wait) + 1)
        error = REPORT[lang]["error_busy"]
        return _form_page(request, link, scan_path, lang, form=fields, error=error, status=429)
    reference = await run_in_threadpool(_store, resolver, sessions, engine, client, link, form)
    if as_json:
        return JSONResponse({"reference": reference}, status_code=201, headers=_NO_STORE)
    target = f"{_PREFIX}{scan_path}?{urlencode({'sent': reference, 'lang': lang})}"
    return RedirectResponse(target, status_code=303, headers=_NO_STORE)


def _store(
    resolver: Resolver,
    sessions: sessionmaker[Session],
    engine: Engine,
    client: str,
    link: ItemLink,
    form: reports.ReportForm,
) -> str:
    scan = resolver.scan_of(client)
    with resolver.scan_transaction(sessions, engine) as session:
        verdict = resolver.resolve(session=session, link=link, scan=None).verdict
        report = reports.submit(
            session=session, link=link, verdict=verdict, form=form, client_hash=scan.client_hash
        )
        return reports.public_reference(report)


def _fields(body: bytes, as_json: bool) -> Any:
    if as_json:
        try:
            return loads_strict(body or b"{}", max_depth=4)
        except JsonRefused as exc:
            raise InvalidInput(exc.reason) from None
    return {k: v for k, v in parse_qsl(body.decode("utf-8", "replace")) if k in _FORM_FIELDS}


_FORM_FIELDS = frozenset(reports.ReportForm.model_fields)


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "body"
    return f"{where}: {error['msg']}"


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/verify-proof", response_class=HTMLResponse)
def verify_proof_help(request: Request) -> Response:
    """How anyone can check a code's blockchain record without trusting this service."""
    lang = page.choose_language(
        request.headers.get("accept-language"), request.query_params.get("lang")
    )
    html = _environment().get_template("verify_proof.html").render(t=HOWTO[lang], lang=lang)
    headers = {
        "Cache-Control": "public, max-age=3600",
        "Content-Language": "zh-CN" if lang == "zh" else "en",
        "Vary": "Accept-Language",
    }
    return HTMLResponse(html, headers=headers)
