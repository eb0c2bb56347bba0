"""Clone flags: what scans and PIN tries raised about a code, kept until its brand reviews it.

A scan's clone warnings (`scans`: many scans, far apart, a count set back) and a PIN
entered again by another client than the one who first used it are news once, but a
shopper must see them on every later scan. So they are kept in `code_states.flags`
(JSON: warning code -> its latest warning) and shown with each scan's own warnings until
the brand reviews the code: ``cleared`` (a false alarm: the flags go, and "many scans"
counts afresh from the count at the review) or ``confirmed`` (the label was copied: the
flags stay, and the verdict becomes suspicious). The scan records keep each scan's
warnings too (append-only, sealed into the audit log), and every review is audited.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, update
from sqlalchemy.orm import Session

from trace_api.audit import log as audit_log
from trace_api.codes import service as codes_service
from trace_api.errors import Conflict, InvalidInput
from trace_api.instants import iso
from trace_api.models import CodeIssuance, CodeState, utcnow

KEPT = ("count_tampered", "pin_reused", "far_apart", "many_scans")  # most telling first
REVIEW_OUTCOMES = ("cleared", "confirmed")


def stored(flags: str | None) -> dict[str, dict[str, Any]]:
    """The flags a code's state holds."""
    if not flags:
        return {}
    value = json.loads(flags)
    return value if isinstance(value, dict) else {}


def raise_flags(
    connection: Connection, code_id: int, warnings: list[dict[str, Any]], now: datetime
) -> None:
    """Keep the flag-worthy ``warnings`` in the code's state (its row is locked already)."""
    news = {w["code"]: {**w, "at": iso(now)} for w in warnings if w["code"] in KEPT}
    if not news:
        return
    current = connection.execute(
        select(CodeState.flags).where(CodeState.code_id == code_id)
    ).scalar_one_or_none()
    merged = {**stored(current), **news}
    connection.execute(
        update(CodeState)
        .where(CodeState.code_id == code_id)
        .values(
            flags=json.dumps(merged, sort_keys=True, ensure_ascii=False),
            flagged_at=func.coalesce(CodeState.flagged_at, now),
        )
    )


def active(flags: str | None, warnings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """This scan's warnings, then the kept flags it did not raise again, most telling first."""
    seen = {w["code"] for w in warnings}
    kept = [w for w in stored(flags).values() if w.get("code") not in seen]
    order = {code: n for n, code in enumerate(KEPT)}
    return sorted([*warnings, *kept], key=lambda w: order.get(w["code"], len(KEPT)))


def review(
    *, session: Session, tenant_id: str, serial: str, outcome: str, note: str, actor: str
) -> dict[str, Any]:
    """The brand's review of a flagged code, in the caller's transaction (audited).

    ``cleared``: the flags go and "many scans" counts afresh from now; ``confirmed``: the
    flags stay and every later scan says the label was copied.
    """
    if outcome not in REVIEW_OUTCOMES:
        raise InvalidInput(f"outcome must be one of {', '.join(REVIEW_OUTCOMES)}")
    code, _ = codes_service.get_code(session=session, tenant_id=tenant_id, serial=serial)
    state = session.get(CodeState, code.id, with_for_update=True)
    if state is None or (not state.flags and state.review_outcome != "confirmed"):
        raise Conflict(f"code {code.serial} has no flags to review")
    now = utcnow()
    reviewed = stored(state.flags)
    state.reviewed_at = now
    state.review_outcome = outcome
    state.reviewed_scan_count = state.scan_count
    if outcome == "cleared":
        state.flags = None
        state.flagged_at = None
    batch_id = session.scalar(
        select(CodeIssuance.batch_id).where(CodeIssuance.id == code.issuance_id)
    )
    audit_log.append(
        session=session,
        tenant_id=tenant_id,
        kind="code.flags_reviewed",
        items=[code.serial, batch_id or ""],
        data={
            "serial": code.serial,
            "outcome": outcome,
            "note": note,
            "by": actor,
            "flags": sorted(reviewed),
            "scan_count": state.scan_count,
        },
    )
    return {
        "serial": code.serial,
        "outcome": outcome,
        "reviewed_at": iso(now),
        "flags": reviewed,
        "scan_count": state.scan_count,
    }


def flag_state(*, session: Session, tenant_id: str, serial: str) -> dict[str, Any]:
    """A code's kept flags and its last review, for the brand's staff."""
    code, _ = codes_service.get_code(session=session, tenant_id=tenant_id, serial=serial)
    state = session.get(CodeState, code.id)
    if state is None:
        return {"serial": code.serial, "flags": {}, "flagged_at": None, "review": None}
    review_ = None
    if state.reviewed_at is not None:
        review_ = {
            "outcome": state.review_outcome,
            "at": iso(state.reviewed_at),
            "scan_count": state.reviewed_scan_count,
        }
    return {
        "serial": code.serial,
        "flags": stored(state.flags),
        "flagged_at": iso(state.flagged_at) if state.flagged_at else None,
        "review": review_,
    }
