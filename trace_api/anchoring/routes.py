"""HTTP routes: the status of anchor jobs (what is on chain, what waits, and why)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from trace_api.anchoring import service
from trace_api.anchoring.schemas import AnchorJobOut
from trace_api.deps import SessionDep
from trace_api.roles import BrandStaff

router = APIRouter(prefix="/v1/anchor-jobs", tags=["anchoring"])


@router.get("", response_model=list[AnchorJobOut])
def list_jobs(
    principal: BrandStaff,
    session: SessionDep,
    status: Literal["pending", "submitted", "confirmed", "failed"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AnchorJobOut]:
    jobs = service.list_jobs(
        session=session, tenant_id=principal.tenant_id, status=status, limit=limit
    )
    return [AnchorJobOut.model_validate(job) for job in jobs]


@router.get("/{job_id}", response_model=AnchorJobOut)
def get_job(job_id: int, principal: BrandStaff, session: SessionDep) -> AnchorJobOut:
    job = service.get_job(session=session, tenant_id=principal.tenant_id, job_id=job_id)
    return AnchorJobOut.model_validate(job)
