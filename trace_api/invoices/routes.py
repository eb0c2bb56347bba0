"""Invoice routes: organisations' invoice profiles, issuing, reading and the XML."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from starlette.concurrency import run_in_threadpool

from trace_api.deps import SessionDep
from trace_api.instants import AwareInstant
from trace_api.invoices import profiles, reading, service
from trace_api.invoices.schemas import InvoiceIssue, InvoiceOut, InvoicePage, ProfileIn, ProfileOut
from trace_api.invoices.views import invoice_views
from trace_api.models import InvoiceProfile
from trace_api.roles import AdminOnly, AdminOrOperator, AnyRole, BrandStaff, custody_view

router = APIRouter(tags=["invoices"])


def _profile_out(profile: InvoiceProfile) -> ProfileOut:
    return ProfileOut(
        organisation_id=profile.organisation_id,
        division_code=profile.division_code,
        address=profile.address,
        phone=profile.phone,
        bank=profile.bank,
        account=profile.account,
        channel=profile.channel,
    )


@router.put(
    "/v1/organisations/{organisation_id}/invoice-profile",
    response_model=ProfileOut,
    summary="Set what invoices print of an organisation",
)
def set_profile(
    organisation_id: str, body: ProfileIn, caller: AdminOnly, session: SessionDep
) -> ProfileOut:
    """Its division (an issuer's province code comes from it), address, phone, bank,
    account, and the channel digit of the numbers it issues."""
    profile = profiles.set_profile(
        session=session,
        tenant_id=caller.tenant_id,
        organisation_id=organisation_id,
        actor=caller.key_id,
        **body.model_dump(),
    )
    return _profile_out(profile)


@router.get(
    "/v1/organisations/{organisation_id}/invoice-profile",
    response_model=ProfileOut,
    summary="What invoices print of an organisation",
)
def get_profile(organisation_id: str, caller: BrandStaff, session: SessionDep) -> ProfileOut:
    profile = profiles.get_profile(
        session=session, tenant_id=caller.tenant_id, organisation_id=organisation_id
    )
    return _profile_out(profile)


@router.post("/v1/invoices", status_code=201, response_model=InvoiceOut, summary="Issue an invoice")
async def issue_invoice(
    body: InvoiceIssue, response: Response, caller: AdminOrOperator, session: SessionDep
) -> InvoiceOut:
    """A blue 普票 or 专票 from lines entered here: numbered, rendered to XML, checked
    against its schema, stored and queued for anchoring, in one transaction."""
    row = await run_in_threadpool(
        service.issue,
        session=session,
        tenant_id=caller.tenant_id,
        actor=caller.key_id,
        request=body,
    )
    response.headers["Location"] = f"/v1/invoices/{row.number}"
    [view] = await run_in_threadpool(invoice_views, session, [row])
    return view


@router.get("/v1/invoices", response_model=InvoicePage, summary="List invoices")
def list_invoices(
    caller: AnyRole,
    session: SessionDep,
    colour: Annotated[Literal["blue", "red"] | None, Query()] = None,
    buyer: Annotated[str | None, Query(max_length=36, description="An organisation id.")] = None,
    issued_from: Annotated[AwareInstant | None, Query(description="At or after.")] = None,
    issued_to: Annotated[AwareInstant | None, Query(description="Before.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> InvoicePage:
    """Newest first; a dealer key sees the invoices its organisation bought on."""
    rows, next_cursor = reading.list_invoices(
        session=session,
        tenant_id=caller.tenant_id,
        viewer_org=custody_view(caller),
        colour=colour,
        buyer=buyer,
        issued_from=issued_from,
        issued_to=issued_to,
        limit=limit,
        cursor=cursor,
    )
    return InvoicePage(invoices=invoice_views(session, rows), next_cursor=next_cursor)


@router.get("/v1/invoices/{number}", response_model=InvoiceOut, summary="An invoice")
def get_invoice(number: str, caller: AnyRole, session: SessionDep) -> InvoiceOut:
    row = reading.get_invoice(
        session=session, tenant_id=caller.tenant_id, number=number, viewer_org=custody_view(caller)
    )
    [view] = invoice_views(session, [row])
    return view


@router.get(
    "/v1/invoices/{number}/xml",
    summary="An invoice's XML, as issued",
    responses={200: {"content": {"application/xml": {}}}},
)
def get_invoice_xml(number: str, caller: AnyRole, session: SessionDep) -> Response:
    """The Canonical XML the invoice was issued as (its SM3 is the anchored digest)."""
    row = reading.get_invoice(
        session=session, tenant_id=caller.tenant_id, number=number, viewer_org=custody_view(caller)
    )
    return Response(
        bytes(row.xml),
        media_type="application/xml",
        headers={"Content-Disposition": f'attachment; filename="{row.number}.xml"'},
    )
