"""HTTP routes of movements: the dealer scan API and the item state and provenance views."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status

from trace_api.components import LogTreesDep, OnStoredDep, SigningKeyDep
from trace_api.deps import SessionDep, SettingsDep
from trace_api.movements import scanning, views
from trace_api.movements.schemas import ScanIn
from trace_api.roles import AnyRole, Custodians

router = APIRouter(tags=["movements"])


@router.post("/v1/scans/{action}", status_code=status.HTTP_201_CREATED)
def scan(
    action: str,
    body: ScanIn,
    principal: Custodians,
    session: SessionDep,
    settings: SettingsDep,
    on_stored: OnStoredDep,
    response: Response,
) -> dict[str, Any]:
    """Record a scan as an EPCIS event (201), or say it was recorded already (200)."""
    call = scanning.ScanCall(action=action, **body.model_dump())
    outcome = scanning.scan(
        session=session,
        principal=principal,
        settings=settings,
        call=call,
        on_stored=on_stored,
    )
    if outcome.duplicate:
        response.status_code = status.HTTP_200_OK
    return {
        "capture_id": outcome.capture_id,
        "event_ids": outcome.event_ids,
        "stored": outcome.stored,
        "duplicate": outcome.duplicate,
        "alerts": [views.alert_out(a) for a in outcome.alerts],
    }


@router.get("/v1/items/{code:path}/state")
def item_state(code: str, principal: AnyRole, session: SessionDep) -> dict[str, Any]:
    """Where the item (or case, pallet) is now."""
    return views.item_state(session=session, principal=principal, code=code)


@router.get("/v1/items/{code:path}/provenance")
def provenance(
    code: str,
    principal: AnyRole,
    session: SessionDep,
    trees: LogTreesDep,
    signing_key: SigningKeyDep,
) -> dict[str, Any]:
    """The item's path so far, each step with its event, proof, verdict and alerts."""
    return views.provenance(
        session=session,
        principal=principal,
        code=code,
        trees=trees,
        signing_key=signing_key.public_key,
    )
