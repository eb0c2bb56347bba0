"""Recounting scan records, for compliance officers and admins (not public)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from trace_api.codes import service as codes_service
from trace_api.deps import SessionDep, require_role
from trace_api.resolver.recount import recount
from trace_api.resolver.schemas import ScanRecountOut
from trace_api.tenancy.service import Principal

router = APIRouter(prefix="/v1", tags=["scans"])
Auditor = Annotated[Principal, Depends(require_role("admin", "compliance"))]


@router.get("/codes/{serial}/scans/verify", response_model=ScanRecountOut)
def verify_code_scans(serial: str, principal: Auditor, session: SessionDep) -> ScanRecountOut:
    """Recount one code's scan records against its counter, and the tenant's seals."""
    code, _ = codes_service.get_code(session=session, tenant_id=principal.tenant_id, serial=serial)
    found = recount(session=session, tenant_id=principal.tenant_id, code_id=code.id)
    return ScanRecountOut.of(found)


@router.get("/scans/verify", response_model=ScanRecountOut)
def verify_scans(principal: Auditor, session: SessionDep) -> ScanRecountOut:
    """Recount every scan record of the tenant against its seals and every code's counter."""
    return ScanRecountOut.of(recount(session=session, tenant_id=principal.tenant_id))
