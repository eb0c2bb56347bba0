"""``GET /healthz``: is the database answering, what is the chain doing, does the audit log hold."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session, sessionmaker

from trace_api import __version__
from trace_api.anchoring import service as anchoring_service
from trace_api.anchoring.gateway import ChainGateway
from trace_api.components import Components, EngineDep
from trace_api.db import database_status, transaction

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(request: Request, engine: EngineDep) -> JSONResponse:
    parts = Components.of(request.app)
    database = database_status(engine)
    chain = chain_status(parts.gateway, parts.sessions)
    integrity = {t: str(f) for t, f in parts.log_integrity.failing().items()}
    reverifier = parts.log_integrity.status
    healthy = database["ok"] and chain.get("ok", True) and not integrity
    body = {
        "status": "ok" if healthy else "degraded",
        "version": __version__,
        "env": parts.settings.env,
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


def chain_status(gateway: ChainGateway, sessions: sessionmaker[Session]) -> dict[str, Any]:
    """The chain part of /healthz: connection, deployment and the anchoring queue."""
    state = gateway.state
    status: dict[str, Any] = {
        "url": gateway.url if gateway.url == "embedded" else "configured",
        "connected": state.connected,
        "chain_id": state.chain_id,
        "contract": state.contract,
        "network": state.network,
        "last_error": state.last_error,
        "last_error_at": state.last_error_at.isoformat() if state.last_error_at else None,
    }
    if state.reanchor_notice:
        status["reanchor_notice"] = state.reanchor_notice
    try:
        with transaction(sessions) as session:
            summary = anchoring_service.queue_summary(session=session)
        status["jobs"] = summary.by_status
        status["oldest_waiting_since"] = (
            summary.oldest_pending_at.isoformat() if summary.oldest_pending_at else None
        )
        status["last_job_error"] = summary.last_error
    except Exception as exc:  # the database part of /healthz reports that failure
        status["jobs"] = {"error": str(exc)[:200]}
    waiting = sum(v for k, v in status["jobs"].items() if k in ("pending", "submitted"))
    status["ok"] = state.last_error is None or state.connected or not waiting
    return status


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
