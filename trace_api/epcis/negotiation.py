"""The REST binding's headers: version negotiation, media types, and what we answer with.

We speak EPCIS 2.0.0 and CBV 2.0.0. A request whose ``GS1-EPCIS-Min``/``-Max`` (or CBV)
range excludes them, whose ``GS1-EPCIS-Version``/``GS1-CBV-Version`` is not 2.x, or whose
``Accept`` admits no JSON gets 406; a body that is not JSON gets 415. Events come back as
captured, so ``GS1-EPC-Format`` and ``GS1-CBV-XML-Format`` are answered with
``Never_Translates``.
"""

from __future__ import annotations

import re

from fastapi import Request

from trace_api import __version__
from trace_api.epcis.errors import NotAcceptable, UnsupportedMediaType

EPCIS_VERSION = "2.0.0"
CBV_VERSION = "2.0.0"
_VERSION = re.compile(r"^\d+(\.\d+)*$")
_JSON_TYPES = ("application/json", "application/ld+json")
_ACCEPTED = {"*/*", "application/*", *_JSON_TYPES, "application/problem+json"}


def _version(text: str, header: str) -> tuple[int, ...]:
    if not _VERSION.match(text.strip()):
        raise NotAcceptable(f"{header}: {text!r} is not a version number like 2.0.0")
    parts = tuple(int(p) for p in text.strip().split("."))
    return parts + (0,) * (3 - len(parts))


def _check_range(request: Request, prefix: str, ours: str) -> None:
    mine = _version(ours, prefix)
    low = request.headers.get(f"{prefix}-Min")
    high = request.headers.get(f"{prefix}-Max")
    if low is not None and _version(low, f"{prefix}-Min") > mine:
        raise NotAcceptable(f"{prefix}-Min {low} is above the {ours} this repository speaks")
    if high is not None and _version(high, f"{prefix}-Max") < mine:
        raise NotAcceptable(f"{prefix}-Max {high} is below the {ours} this repository speaks")


def _check_accept(request: Request) -> None:
    accept = request.headers.get("accept")
    if not accept:
        return
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = next((p[2:] for p in params if p.startswith("q=")), "1")
        try:
            weight = float(q)
        except ValueError:
            weight = 1.0
        if media.lower() in _ACCEPTED and weight > 0:
            return
    raise NotAcceptable(f"this repository answers in JSON; Accept: {accept} allows none of it")


def negotiate(request: Request) -> None:
    """Refuse (406) a request we cannot answer in the versions and media it asks for."""
    _check_accept(request)
    _check_range(request, "GS1-EPCIS", EPCIS_VERSION)
    _check_range(request, "GS1-CBV", CBV_VERSION)
    for header, ours in (("GS1-EPCIS-Version", EPCIS_VERSION), ("GS1-CBV-Version", CBV_VERSION)):
        sent = request.headers.get(header)
        if sent is not None and _version(sent, header)[0] != _version(ours, header)[0]:
            raise NotAcceptable(f"{header}: {sent} is not supported; this repository speaks {ours}")


def require_json_body(request: Request) -> None:
    """415 unless the body is declared JSON or JSON-LD."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in _JSON_TYPES:
        raise UnsupportedMediaType(
            f"send the document as application/json or application/ld+json, not {media or '(none)'}"
        )


def response_headers() -> dict[str, str]:
    """Headers on every EPCIS answer."""
    return {
        "GS1-EPCIS-Version": EPCIS_VERSION,
        "GS1-CBV-Version": CBV_VERSION,
        "GS1-EPC-Format": "Never_Translates",
        "GS1-CBV-XML-Format": "Never_Translates",
        "GS1-Vendor-Version": f"tracechain-{__version__}",
    }


def discovery_headers(allow: str) -> dict[str, str]:
    """Headers of an OPTIONS answer: what the resource allows and which versions we speak."""
    return {
        "Allow": allow,
        **response_headers(),
        "GS1-EPCIS-Min": EPCIS_VERSION,
        "GS1-EPCIS-Max": EPCIS_VERSION,
        "GS1-CBV-Min": CBV_VERSION,
        "GS1-CBV-Max": CBV_VERSION,
    }
