"""A 专票's buyer accepting it (用途确认), and red-letter confirmations (红字确认单).

Once the buyer of a 专票 has accepted it, a red invoice against it needs a confirmation:
the seller enters what is to be taken back (``awaiting_buyer``), the buyer confirms it,
which issues the red invoice in the same transaction (``confirmed``), or refuses it
(``refused``); the seller may withdraw one still waiting (``withdrawn``). Before the buyer
accepted it, or for a 普票, the seller issues the red invoice at once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trace_api.audit import log as audit_log
from trace_api.errors import Conflict, Forbidden, InvalidInput, NotFound
from trace_api.invoices.reading import get_invoice
from trace_api.invoices.red import Taking, check_reason, issue_red, locked_blue
from trace_api.models import Invoice, RedConfirmation, utcnow
from trace_api.owned import get_owned

AWAITING = "awaiting_buyer"
CONFIRMED = "confirmed"
REFUSED = "refused"
WITHDRAWN = "withdrawn"
ACCEPTED = "invoice.accepted"
ENTERED = "invoice.red_confirmation_entered"
DECIDED = "invoice.red_confirmation_decided"


def accept(*, session: Session, tenant_id: str, number: str, actor: str, buyer_org: str) -> Invoice:
    """The buyer's organisation accepts its 专票 (once; again changes nothing)."""
    row = get_invoice(session=session, tenant_id=tenant_id, number=number, viewer_org=buyer_org)
    if row.colour != "blue" or row.kind != "special":
        raise InvalidInput("only a blue 专票 is accepted by its buyer")
    if row.accepted_at is None:
        row.accepted_at = utcnow()
        session.flush()
        audit_log.append(
            session=session,
            tenant_id=tenant_id,
            kind=ACCEPTED,
            actor=actor,
            organisation_id=buyer_org,
            data={"invoice_id": row.id, "number": row.number},
        )
    return row


def needs_confirmation(blue: Invoice) -> bool:
    return blue.kind == "special" and blue.accepted_at is not None


def red_at_once(
    *,
    session: Session,
    tenant_id: str,
    number: str,
    actor: str,
    reason: str,
    takings: Sequence[Taking] | None,
) -> Invoice:
    """The seller's red invoice, where none needs the buyer's confirmation."""
    blue = locked_blue(session, tenant_id, number)
    if needs_confirmation(blue):
        raise Conflict(
            f"the buyer accepted 专票 {number}: enter a red-letter confirmation for it to "
            f"confirm (POST /v1/invoices/{number}/red-confirmations)"
        )
    return issue_red(session=session, blue=blue, actor=actor, reason=reason, takings=takings)


def enter(
    *,
    session: Session,
    tenant_id: str,
    number: str,
    actor: str,
    reason: str,
    takings: Sequence[Taking] | None,
) -> RedConfirmation:
    """A confirmation for the buyer to confirm, checked now as it will be then."""
    blue = locked_blue(session, tenant_id, number)
    if not needs_confirmation(blue):
        raise Conflict(f"invoice {number} needs no confirmation: issue its red invoice at once")
    check_reason(reason, takings)
    with session.begin_nested() as trial:  # what it would issue, to refuse what cannot be
        issue_red(session=session, blue=blue, actor=actor, reason=reason, takings=takings)
        trial.rollback()
    session.expire(blue)
    count = session.scalar(
        select(func.count())
        .select_from(RedConfirmation)
        .where(RedConfirmation.invoice_id == blue.id)
    )
    confirmation = RedConfirmation(
        tenant_id=tenant_id,
        number=f"HZ{blue.number}{(count or 0) + 1:02d}",
        invoice_id=blue.id,
        reason=reason,
        lines=json.dumps(
            None
            if takings is None
            else [
                {
                    "position": t.position,
                    "quantity": None if t.quantity is None else str(t.quantity),
                }
                for t in takings
            ]
        ),
        status=AWAITING,
        entered_by=actor,
    )
    session.add(confirmation)
    session.flush()
    _log(session, confirmation, ENTERED, actor, blue)
    return confirmation


def decide(
    *,
    session: Session,
    tenant_id: str,
    confirmation_id: str,
    actor: str,
    decision: str,
    buyer_org: str | None,
) -> RedConfirmation:
    """The buyer confirms (issuing the red invoice) or refuses; the seller withdraws."""
    confirmation = get_owned(
        session,
        RedConfirmation,
        confirmation_id,
        tenant_id=tenant_id,
        noun="red-letter confirmation",
    )
    blue = session.get(Invoice, confirmation.invoice_id)
    assert blue is not None
    if decision in (CONFIRMED, REFUSED):
        if buyer_org is None or blue.buyer_org_id != buyer_org:
            raise NotFound(f"no red-letter confirmation {confirmation_id}")
    elif buyer_org is not None:
        raise Forbidden("the seller withdraws a confirmation; the buyer refuses it")
    blue = locked_blue(session, tenant_id, blue.number)
    session.refresh(confirmation)
    if confirmation.status != AWAITING:
        raise Conflict(f"red-letter confirmation {confirmation.number} is {confirmation.status}")
    if decision == CONFIRMED:
        given = json.loads(confirmation.lines)
        takings = (
            None
            if given is None
            else [
                Taking(t["position"], None if t["quantity"] is None else Decimal(t["quantity"]))
                for t in given
            ]
        )
        red = issue_red(
            session=session,
            blue=blue,
            actor=actor,
            reason=confirmation.reason,
            takings=takings,
            confirmation=confirmation.number,
        )
        confirmation.red_invoice_id = red.id
    confirmation.status = decision
    confirmation.decided_by, confirmation.decided_at = actor, utcnow()
    session.flush()
    _log(session, confirmation, DECIDED, actor, blue)
    return confirmation


def list_for(
    *, session: Session, tenant_id: str, number: str, viewer_org: str | None
) -> list[RedConfirmation]:
    blue = get_invoice(session=session, tenant_id=tenant_id, number=number, viewer_org=viewer_org)
    return list(
        session.scalars(
            select(RedConfirmation)
            .where(RedConfirmation.invoice_id == blue.id)
            .order_by(RedConfirmation.entered_at, RedConfirmation.id)
        )
    )


def _log(
    session: Session, confirmation: RedConfirmation, kind: str, actor: str, blue: Invoice
) -> None:
    audit_log.append(
        session=session,
        tenant_id=confirmation.tenant_id,
        kind=kind,
        actor=actor,
        organisation_id=blue.buyer_org_id,
        data={
            "confirmation": confirmation.number,
            "invoice": blue.number,
            "status": confirmation.status,
            "reason": confirmation.reason,
        },
    )
