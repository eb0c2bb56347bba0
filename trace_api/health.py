"""``GET /healthz``: is the database answering, and what is the chain doing."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from trace_api import __version__
from trace_api.db import database_status

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(request: Request) -> JSONResponse:
    state = request.app.state
    database = database_status(state.engine)
    chain: dict[str, Any] = state.chain_status()
    integrity = dict(state.checkpointer.integrity_failures)
    healthy = database["ok"] and chain.get("ok", True) and not integrity
    body = {
        "status": "ok" if healthy else "degraded",
        "version": __version__,
        "env": state.settings.env,
        "database": database,
        "chain": chain,
        "audit_log": {"ok": not integrity, "integrity_failures": integrity},
    }
    return JSONResponse(body, status_code=200 if database["ok"] else 503)
