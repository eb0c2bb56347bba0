"""Recounting scan records, and reviewing flagged codes: for the brand's staff (not public)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from trace_api.codes import service as codes_service
from trace_api.cursors import decode_cursor, encode_cursor
from trace_api.deps import SessionDep
from trace_api.resolver import flags, reports
from trace_api.resolver.recount import recount
from trace_api.resolver.schemas import (
    ConsumerReportOut,
    ConsumerReportPage,
    FlagReviewIn,
    FlagReviewOut,
    FlagStateOut,
    ReportStatusIn,
    ScanRecountOut,
)
from trace_api.roles import Auditors, BrandStaff

router = APIRouter(prefix="/v1", tags=["scans"])


@router.get("/codes/{serial}/scans/verify", response_model=ScanRecountOut)
def verify_code_scans(serial: str, principal: Auditors, session: SessionDep) -> ScanRecountOut:
    """Recount one code's scan records against its counter, and the tenant's seals."""
    code, _ = codes_service.get_code(session=session, tenant_id=principal.tenant_id, serial=serial)
    found = recount(session=session, tenant_id=principal.tenant_id, code_id=code.id)
    return ScanRecountOut.of(found)


@router.get("/scans/verify", response_model=ScanRecountOut)
def verify_scans(principal: Auditors, session: SessionDep) -> ScanRecountOut:
    """Recount every scan record of the tenant against its seals and every code's counter."""
    return ScanRecountOut.of(recount(session=session, tenant_id=principal.tenant_id))


@router.get("/codes/{serial}/flags", response_model=FlagStateOut)
def code_flags(serial: str, principal: BrandStaff, session: SessionDep) -> FlagStateOut:
    """The clone flags a code's scans and PIN tries raised, and its last review."""
    state = flags.flag_state(session=session, tenant_id=principal.tenant_id, serial=serial)
    return FlagStateOut(**state)


@router.post("/codes/{serial}/flags/review", response_model=FlagReviewOut)
def review_code_flags(
    serial: str, body: FlagReviewIn, principal: BrandStaff, session: SessionDep
) -> FlagReviewOut:
    """Review a flagged code: clear a false alarm, or confirm the label was copied."""
    done = flags.review(
        session=session,
        tenant_id=principal.tenant_id,
        serial=serial,
        outcome=body.outcome,
        note=body.note,
        actor=f"{principal.role}:{principal.key_id}",
    )
    return FlagReviewOut(**done)


@router.get("/consumer-reports", response_model=ConsumerReportPage)
def consumer_reports(
    principal: BrandStaff,
    session: SessionDep,
    status: Annotated[str | None, Query(description="open or closed")] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> ConsumerReportPage:
    """Shoppers' reports about the tenant's items, newest first."""
    found = reports.listed(
        session=session,
        tenant_id=principal.tenant_id,
        status=status,
        after=decode_cursor(cursor) if cursor else None,
        limit=limit,
    )
    last = found[-1] if len(found) == limit else None
    return ConsumerReportPage(
        items=[ConsumerReportOut(**reports.as_document(r)) for r in found],
        next_cursor=encode_cursor(last.created_at, last.id) if last else None,
    )


@router.post("/consumer-reports/{report_id}/status", response_model=ConsumerReportOut)
def set_consumer_report_status(
    report_id: str, body: ReportStatusIn, principal: BrandStaff, session: SessionDep
) -> ConsumerReportOut:
    """Close a report once handled (or open it again)."""
    report = reports.set_status(
        session=session,
        tenant_id=principal.tenant_id,
        report_id=report_id,
        status=body.status,
        actor=f"{principal.role}:{principal.key_id}",
    )
    return ConsumerReportOut(**reports.as_document(report))
