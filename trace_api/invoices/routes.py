"""Invoice routes: organisations' invoice profiles, issuing, reading and the XML."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from compliance.errors import InvalidInvoice
from compliance.invoice.money import quantity_of
from compliance.invoice.pdf import check_code_of, invoice_pdf
from compliance.invoice.xml import read_xml
from compliance.printing import CjkFontMissing
from trace_api.components import InvoiceProofsDep, SessionsDep
from trace_api.deps import SessionDep, SettingsDep
from trace_api.errors import InvalidInput, ServiceError
from trace_api.instants import AwareInstant, iso
from trace_api.invoices import confirmations, drafts, filing, profiles, reading, service
from trace_api.invoices.numbering import CHINA
from trace_api.invoices.red import Taking
from trace_api.invoices.schemas import (
    ConfirmationOut,
    DraftIn,
    InvoiceIssue,
    InvoiceItemIn,
    InvoiceItemOut,
    InvoiceOut,
    InvoicePage,
    PriceIn,
    PriceOut,
    ProfileIn,
    ProfileOut,
    RedIn,
)
from trace_api.invoices.views import invoice_views, yuan_text
from trace_api.models import Invoice, InvoiceProfile, RedConfirmation
from trace_api.roles import (
    AdminOnly,
    AdminOrOperator,
    AnyRole,
    BrandStaff,
    DealerOnly,
    custody_view,
)

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
def get_invoice_xml(
    number: str, caller: AnyRole, session: SessionDep, proofs: InvoiceProofsDep
) -> Response:
    """The Canonical XML the invoice was issued as, with its TraceProof once it is batched
    (the digest, SM3 of the file without TraceProof, is the same either way): what
    ``trace verify-invoice`` checks."""
    row = reading.get_invoice(
        session=session, tenant_id=caller.tenant_id, number=number, viewer_org=custody_view(caller)
    )
    return Response(
        proofs.xml(session, row),
        media_type="application/xml",
        headers={"Content-Disposition": f'attachment; filename="{row.number}.xml"'},
    )


def _takings(body: RedIn) -> list[Taking] | None:
    if body.lines is None:
        return None
    takings = []
    for n, given in enumerate(body.lines):
        quantity = None
        if given.quantity is not None:
            try:
                quantity = quantity_of(given.quantity, f"lines[{n}].quantity")
            except InvalidInvoice as exc:
                raise InvalidInput(str(exc)) from None
        takings.append(Taking(given.position, quantity))
    return takings


def _view(session: Session, row: Invoice) -> InvoiceOut:
    [view] = invoice_views(session, [row])
    return view


@router.post(
    "/v1/invoices/{number}/red",
    status_code=201,
    response_model=InvoiceOut,
    summary="Issue a red-letter invoice",
)
def issue_red(
    number: str, body: RedIn, response: Response, caller: AdminOrOperator, session: SessionDep
) -> InvoiceOut:
    """Take back the whole invoice (no ``lines``) or lines by quantity. A 专票 its buyer
    accepted needs a red-letter confirmation instead (409)."""
    row = confirmations.red_at_once(
        session=session,
        tenant_id=caller.tenant_id,
        number=number,
        actor=caller.key_id,
        reason=body.reason,
        takings=_takings(body),
    )
    response.headers["Location"] = f"/v1/invoices/{row.number}"
    return _view(session, row)


@router.post(
    "/v1/invoices/{number}/accept", response_model=InvoiceOut, summary="Accept a 专票 (buyer)"
)
def accept_invoice(number: str, caller: DealerOnly, session: SessionDep) -> InvoiceOut:
    """The buyer's 用途确认: from then on a red invoice needs its confirmation."""
    assert caller.organisation_id is not None  # a dealer key names its organisation
    row = confirmations.accept(
        session=session,
        tenant_id=caller.tenant_id,
        number=number,
        actor=caller.key_id,
        buyer_org=caller.organisation_id,
    )
    return _view(session, row)


def _confirmation_out(session: Session, row: RedConfirmation) -> ConfirmationOut:
    blue = session.get(Invoice, row.invoice_id)
    red = session.get(Invoice, row.red_invoice_id) if row.red_invoice_id else None
    return ConfirmationOut(
        id=row.id,
        number=row.number,
        invoice=blue.number if blue else "",
        reason=row.reason,
        lines=json.loads(row.lines),
        status=row.status,
        entered_at=iso(row.entered_at),
        decided_at=iso(row.decided_at) if row.decided_at else None,
        red_invoice=red.number if red else None,
    )


@router.post(
    "/v1/invoices/{number}/red-confirmations",
    status_code=201,
    response_model=ConfirmationOut,
    summary="Enter a red-letter confirmation for the buyer",
)
def enter_confirmation(
    number: str, body: RedIn, caller: AdminOrOperator, session: SessionDep
) -> ConfirmationOut:
    """For a 专票 its buyer accepted: what a red invoice is to take back, checked now;
    the buyer confirms it (which issues the red invoice) or refuses it."""
    row = confirmations.enter(
        session=session,
        tenant_id=caller.tenant_id,
        number=number,
        actor=caller.key_id,
        reason=body.reason,
        takings=_takings(body),
    )
    return _confirmation_out(session, row)


@router.get(
    "/v1/invoices/{number}/red-confirmations",
    response_model=list[ConfirmationOut],
    summary="An invoice's red-letter confirmations",
)
def list_confirmations(number: str, caller: AnyRole, session: SessionDep) -> list[ConfirmationOut]:
    rows = confirmations.list_for(
        session=session, tenant_id=caller.tenant_id, number=number, viewer_org=custody_view(caller)
    )
    return [_confirmation_out(session, row) for row in rows]


def _decide(
    session: Session, tenant_id: str, confirmation_id: str, actor: str, decision: str,
    buyer_org: str | None,
) -> ConfirmationOut:  # fmt: skip
    row = confirmations.decide(
        session=session,
        tenant_id=tenant_id,
        confirmation_id=confirmation_id,
        actor=actor,
        decision=decision,
        buyer_org=buyer_org,
    )
    return _confirmation_out(session, row)


@router.post(
    "/v1/red-confirmations/{confirmation_id}/confirm",
    response_model=ConfirmationOut,
    summary="Confirm a red-letter confirmation (buyer)",
)
def confirm(confirmation_id: str, caller: DealerOnly, session: SessionDep) -> ConfirmationOut:
    """Issues the red invoice it describes, in the same transaction."""
    return _decide(session, caller.tenant_id, confirmation_id, caller.key_id,
                   confirmations.CONFIRMED, caller.organisation_id)  # fmt: skip


@router.post(
    "/v1/red-confirmations/{confirmation_id}/refuse",
    response_model=ConfirmationOut,
    summary="Refuse a red-letter confirmation (buyer)",
)
def refuse(confirmation_id: str, caller: DealerOnly, session: SessionDep) -> ConfirmationOut:
    return _decide(session, caller.tenant_id, confirmation_id, caller.key_id,
                   confirmations.REFUSED, caller.organisation_id)  # fmt: skip


@router.post(
    "/v1/red-confirmations/{confirmation_id}/withdraw",
    response_model=ConfirmationOut,
    summary="Withdraw a red-letter confirmation (seller)",
)
def withdraw(confirmation_id: str, caller: AdminOrOperator, session: SessionDep) -> ConfirmationOut:
    return _decide(session, caller.tenant_id, confirmation_id, caller.key_id,
                   confirmations.WITHDRAWN, None)  # fmt: skip


@router.get(
    "/v1/invoice-periods/{period}.csv",
    summary="A month's invoices as CSV, for tax filing",
    responses={200: {"content": {"text/csv": {}}}},
)
def period_csv(period: str, caller: BrandStaff, sessions: SessionsDep) -> StreamingResponse:
    """Every line of every invoice issued in the month ``YYYY-MM`` (Beijing time), blue and
    red, in issue order; UTF-8 with a byte-order mark."""
    start, end = filing.month_bounds(period)
    return StreamingResponse(
        filing.month_csv(sessions, caller.tenant_id, start, end),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="invoices-{period}.csv"'},
    )


@router.put(
    "/v1/products/{product_id}/invoice-item",
    response_model=InvoiceItemOut,
    summary="Set how a product is invoiced",
)
def set_invoice_item(
    product_id: str, body: InvoiceItemIn, caller: AdminOrOperator, session: SessionDep
) -> InvoiceItemOut:
    """Its 「*简称*名称」, 19-digit tax classification code, rate, unit and specification,
    which lines drafted from shipments of it take."""
    item = drafts.set_item(
        session=session, tenant_id=caller.tenant_id, product_id=product_id,
        actor=caller.key_id, **body.model_dump(),
    )  # fmt: skip
    return InvoiceItemOut(
        product_id=item.product_id, name=item.name, tax_code=item.tax_code, rate=item.rate,
        unit=item.unit, specification=item.specification,
    )  # fmt: skip


@router.put(
    "/v1/products/{product_id}/prices/{channel}",
    response_model=PriceOut,
    summary="Set a product's price for a channel",
)
def set_price(
    product_id: str, channel: str, body: PriceIn, caller: AdminOrOperator, session: SessionDep
) -> PriceOut:
    """The unit price drafts give the product for buyers of this kind (brand, distributor,
    dealer, retailer)."""
    row = drafts.set_price(
        session=session, tenant_id=caller.tenant_id, product_id=product_id, channel=channel,
        actor=caller.key_id, unit_price=body.unit_price,
        price_includes_tax=body.price_includes_tax,
    )  # fmt: skip
    return PriceOut(
        product_id=row.product_id, channel=row.channel, unit_price=row.unit_price,
        price_includes_tax=row.price_includes_tax,
    )  # fmt: skip


@router.post(
    "/v1/invoices/drafts", response_model=InvoiceIssue, summary="Draft an invoice from shipments"
)
def draft_invoice(body: DraftIn, caller: AdminOrOperator, session: SessionDep) -> InvoiceIssue:
    """The invoice body for what these shipments took to the buyer, a line per product
    priced from its channel's price list (or ``prices``): review it, then issue it with
    POST /v1/invoices, which marks the shipments invoiced. Nothing is stored here."""
    return drafts.draft(
        session=session, tenant_id=caller.tenant_id, kind=body.kind, seller=body.seller,
        buyer=body.buyer, event_ids=body.shipments, prices=body.prices,
    )  # fmt: skip


class InvoiceFontMissing(ServiceError):
    """No font with Chinese glyphs is installed, so no PDF invoice can be printed."""

    status = 503
    slug = "invoice-font-missing"
    title = "No CJK font for invoices"


@router.get(
    "/v1/invoices/{number}/pdf",
    summary="An invoice as a PDF",
    responses={200: {"content": {"application/pdf": {}}}},
)
def get_invoice_pdf(
    number: str, caller: AnyRole, session: SessionDep, settings: SettingsDep
) -> Response:
    """Laid out like a 数电票, Chinese fonts embedded, with the QR code of the platform's
    fields (number, amount, date, check code) and the public check's URL."""
    row = reading.get_invoice(
        session=session, tenant_id=caller.tenant_id, number=number, viewer_org=custody_view(caller)
    )
    document = read_xml(bytes(row.xml)).invoice
    on = row.issued_at.astimezone(CHINA).date().isoformat()
    url = (
        f"{settings.public_base_url.rstrip('/')}/v1/invoices/{row.number}/verify"
        f"?date={on}&amount={yuan_text(row.total_fen)}"
    )
    try:
        pdf = invoice_pdf(document, check_code=check_code_of(bytes(row.digest)), verify_url=url)
    except CjkFontMissing as exc:
        raise InvoiceFontMissing(str(exc)) from None
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{row.number}.pdf"'},
    )
