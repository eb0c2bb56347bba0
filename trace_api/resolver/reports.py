"""Shoppers' reports from the scan page ("report this item"), and the brand's list of them.

A report names the item as the shopper's link read it, the verdict the page gave, a reason
from a short list, and what the shopper chose to say: a message, where they bought it,
and, only if they want to be called back, a contact. It goes to the brand whose code it
is (for an unknown code, to the one tenant that has the link's GTIN, if exactly one has);
the client is kept as the keyed hash of its address only. Reports are rate-limited per
client (`Resolver.reports`), and what they hold is shown to the brand's staff only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from trace_api.audit import log as audit_log
from trace_api.codes.gs1 import ItemLink
from trace_api.errors import InvalidInput, NotFound
from trace_api.instants import iso
from trace_api.models import ConsumerReport, Product, utcnow
from trace_api.request_models import DisplayName, DisplayText, RequestModel
from trace_api.resolver.lookup import find_code

REASONS = ("counterfeit", "label_damaged", "unexpected_place", "recalled_on_sale", "other")
STATUSES = ("open", "closed")
Reason = Literal["counterfeit", "label_damaged", "unexpected_place", "recalled_on_sale", "other"]
_Trimmed = StringConstraints(strip_whitespace=True)


class ReportForm(RequestModel):
    """What a shopper sends: the form's fields (or the same as JSON)."""

    reason: Reason
    message: Annotated[DisplayText, _Trimmed, Field(max_length=1000)] = ""
    where_bought: Annotated[DisplayName, _Trimmed, Field(max_length=200)] = ""
    contact: Annotated[DisplayName, _Trimmed, Field(max_length=100)] = ""


def submit(
    *, session: Session, link: ItemLink, verdict: str, form: ReportForm, client_hash: bytes
) -> ConsumerReport:
    """Store a report about the item ``link`` names, in the caller's transaction."""
    row = find_code(session.connection(), link.serial or "")
    tenant_id = row.tenant_id if row is not None and row.gtin == link.gtin else None
    if tenant_id is None:
        owners = session.scalars(
            select(Product.tenant_id).where(Product.gtin == link.gtin).limit(2)
        ).all()
        tenant_id = owners[0] if len(owners) == 1 else None
    report = ConsumerReport(
        tenant_id=tenant_id,
        code_id=row.code_id if row is not None and row.tenant_id == tenant_id else None,
        gtin=link.gtin,
        lot=link.lot[:20] if link.lot else None,
        serial=(link.serial or "")[:20],
        verdict=verdict,
        reason=form.reason,
        message=form.message,
        where_bought=form.where_bought,
        contact=form.contact,
        client_hash=client_hash,
        status="open",
        created_at=utcnow(),
    )
    session.add(report)
    session.flush()
    if tenant_id is not None:
        audit_log.append(
            session=session,
            tenant_id=tenant_id,
            kind="consumer_report.received",
            items=[report.serial],
            data={"report": report.id, "serial": report.serial, "reason": report.reason},
        )
    return report


def listed(
    *,
    session: Session,
    tenant_id: str,
    status: str | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[ConsumerReport]:
    """The tenant's reports, newest first, from after the (time, id) of a page's last one."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}")
    query = select(ConsumerReport).where(ConsumerReport.tenant_id == tenant_id)
    if status is not None:
        query = query.where(ConsumerReport.status == status)
    if after is not None:
        at, row_id = after
        query = query.where(
            or_(
                ConsumerReport.created_at < at,
                and_(ConsumerReport.created_at == at, ConsumerReport.id > row_id),
            )
        )
    query = query.order_by(ConsumerReport.created_at.desc(), ConsumerReport.id).limit(limit)
    return list(session.scalars(query))


def set_status(
    *, session: Session, tenant_id: str, report_id: str, status: str, actor: str
) -> ConsumerReport:
    """Close a report (or open it again), audited."""
    if status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}")
    report = session.get(ConsumerReport, report_id)
    if report is None or report.tenant_id != tenant_id:
        raise NotFound(f"no report {report_id}")
    report.status = status
    audit_log.append(
        session=session,
        tenant_id=tenant_id,
        kind="consumer_report.status",
        items=[report.serial],
        data={"report": report.id, "status": status, "by": actor},
    )
    return report


def public_reference(report: ConsumerReport) -> str:
    """The short reference the shopper is shown (the first eight hex digits of its id)."""
    return report.id.replace("-", "")[:8].upper()


def as_document(report: ConsumerReport) -> dict[str, Any]:
    """A report as the brand's staff read it."""
    return {
        "id": report.id,
        "reference": public_reference(report),
        "gtin": report.gtin,
        "lot": report.lot,
        "serial": report.serial,
        "verdict": report.verdict,
        "reason": report.reason,
        "message": report.message,
        "where_bought": report.where_bought,
        "contact": report.contact,
        "status": report.status,
        "created_at": iso(report.created_at),
    }
