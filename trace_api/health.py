"""``GET /healthz``: is the database answering, what is the chain doing, does the audit log hold."""

from __future__ import annotations

from datetime import datetime
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
    integrity = {t: str(f) for t, f in state.log_integrity.failing().items()}
    reverifier = state.log_integrity.status
    healthy = database["ok"] and chain.get("ok", True) and not integrity
    body = {
        "status": "ok" if healthy else "degraded",
        "version": __version__,
        "env": state.settings.env,
        "database": database,
        "chain": chain,
        "audit_log": {
            "ok": not integrity,
            "integrity_failures": integrity,
            "reverifier": {
                "running": reverifier.running,
                "passes": reverifier.passes,
                "last_pass_finished_at": _iso(reverifier.last_pass_finished_at),
                "last_pass_seconds": reverifier.last_pass_seconds,
            },
        },
    }
    return JSONResponse(body, status_code=200 if database["ok"] else 503)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
