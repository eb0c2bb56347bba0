"""HTTP routes: products, batches, issuing codes, labels, and codes by serial."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Response, status
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from trace_api.codes import batch_labels, label_stock, labels, service
from trace_api.codes.jobs import IssueRunner
from trace_api.codes.schemas import (
    BatchCreate,
    BatchOut,
    CodeOut,
    IssuanceOut,
    IssuanceResult,
    IssuedCode,
    IssueRequest,
    ProductCreate,
    ProductOut,
    ProductUpdate,
    RecallRequest,
)
from trace_api.components import CodeIssuerDep, SessionsDep
from trace_api.deps import SessionDep, SettingsDep
from trace_api.errors import Conflict, PayloadTooLarge
from trace_api.models import CodeIssuance
from trace_api.principal import Principal
from trace_api.roles import AdminOrOperator, AnyRole
from trace_api.settings import Settings

router = APIRouter(prefix="/v1", tags=["codes"])


@router.post("/products", response_model=ProductOut, status_code=status.HTTP_201_CREATED)
def create_product(
    body: ProductCreate, principal: AdminOrOperator, session: SessionDep
) -> ProductOut:
    record = service.create_product(
        session=session, tenant_id=principal.tenant_id, actor=principal.key_id, **body.model_dump()
    )
    return ProductOut.model_validate(record)


@router.get("/products", response_model=list[ProductOut])
def list_products(principal: AnyRole, session: SessionDep) -> list[ProductOut]:
    records = service.list_products(session=session, tenant_id=principal.tenant_id)
    return [ProductOut.model_validate(r) for r in records]


@router.get("/products/{product_id}", response_model=ProductOut)
def get_product(product_id: str, principal: AnyRole, session: SessionDep) -> ProductOut:
    record = service.get_product(
        session=session, tenant_id=principal.tenant_id, product_id=product_id
    )
    return ProductOut.model_validate(record)


@router.patch("/products/{product_id}", response_model=ProductOut)
def update_product(
    product_id: str, body: ProductUpdate, principal: AdminOrOperator, session: SessionDep
) -> ProductOut:
    record = service.set_product_group(
        session=session,
        tenant_id=principal.tenant_id,
        product_id=product_id,
        product_group=body.product_group,
        actor=principal.key_id,
    )
    return ProductOut.model_validate(record)


@router.post("/batches", response_model=BatchOut, status_code=status.HTTP_201_CREATED)
def create_batch(body: BatchCreate, principal: AdminOrOperator, session: SessionDep) -> BatchOut:
    record = service.create_batch(
        session=session, tenant_id=principal.tenant_id, actor=principal.key_id, **body.model_dump()
    )
    return BatchOut.model_validate(record)


@router.get("/batches", response_model=list[BatchOut])
def list_batches(
    principal: AnyRole, session: SessionDep, product_id: str | None = None
) -> list[BatchOut]:
    records = service.list_batches(
        session=session, tenant_id=principal.tenant_id, product_id=product_id
    )
    return [BatchOut.model_validate(r) for r in records]


@router.get("/batches/{batch_id}", response_model=BatchOut)
def get_batch(batch_id: str, principal: AnyRole, session: SessionDep) -> BatchOut:
    record = service.get_batch(session=session, tenant_id=principal.tenant_id, batch_id=batch_id)
    return BatchOut.model_validate(record)


@router.post("/batches/{batch_id}/recall", response_model=BatchOut)
def recall_batch(
    batch_id: str, body: RecallRequest, principal: AdminOrOperator, session: SessionDep
) -> BatchOut:
    record = service.recall_batch(
        session=session,
        tenant_id=principal.tenant_id,
        batch_id=batch_id,
        reason=body.reason,
        actor=principal.key_id,
    )
    return BatchOut.model_validate(record)


@router.post(
    "/batches/{batch_id}/codes",
    response_model=IssuanceResult,
    status_code=status.HTTP_201_CREATED,
    responses={202: {"model": IssuanceResult, "description": "Issuing as a job"}},
)
def issue_codes(
    batch_id: str,
    body: IssueRequest,
    response: Response,
    principal: AdminOrOperator,
    session: SessionDep,
    background: BackgroundTasks,
    settings: SettingsDep,
    runner: CodeIssuerDep,
) -> IssuanceResult:
    record = service.start_issuance(
        session=session,
        tenant_id=principal.tenant_id,
        batch_id=batch_id,
        count=body.count,
        with_pins=body.pins,
        allocation=body.allocation.model_dump(exclude_none=True) if body.allocation else None,
        max_count=settings.codes_max_per_issue,
        actor=principal.key_id,
    )
    response.headers["Location"] = f"/v1/code-issuances/{record.id}"
    result = runner.issue_or_queue(
        session=session, issuance=record, sync_limit=settings.codes_sync_limit
    )
    if result is None:  # a job, started after the answer, once the request has committed
        background.add_task(runner.launch, record.id)
        response.status_code = status.HTTP_202_ACCEPTED
        return IssuanceResult(**_issuance_out(runner, record).model_dump())
    items = service.issued_items(
        session=session,
        issuance=record,
        base_url=settings.public_base_url,
        pins=dict(result.pins or []),
    )
    codes = [IssuedCode(serial=i.serial, uri=i.uri, pin=i.pin) for i in items]
    return IssuanceResult(**_issuance_out(runner, record).model_dump(), codes=codes)


def _issuance_out(runner: IssueRunner, record: CodeIssuance) -> IssuanceOut:
    out = IssuanceOut.model_validate(record)
    if record.status == "done":
        out.issued = record.count
    else:
        out.issued = runner.progress(record.id) or 0
    return out


@router.get("/code-issuances/{issuance_id}", response_model=IssuanceOut)
def get_issuance(
    issuance_id: int, principal: AnyRole, session: SessionDep, runner: CodeIssuerDep
) -> IssuanceOut:
    record = service.get_issuance(
        session=session, tenant_id=principal.tenant_id, issuance_id=issuance_id
    )
    return _issuance_out(runner, record)


@router.get("/code-issuances/{issuance_id}/pins.csv")
def download_pins(
    issuance_id: int, principal: AdminOrOperator, session: SessionDep, runner: CodeIssuerDep
) -> Response:
    """The issuance job's PINs, once (then deleted: PINs are otherwise kept only as hashes)."""
    record = service.get_issuance(
        session=session, tenant_id=principal.tenant_id, issuance_id=issuance_id
    )
    if record.status != "done":
        raise Conflict(f"issuance {issuance_id} is {record.status}, not done")
    data = runner.take_pins(record)
    return Response(
        data,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="pins-{issuance_id}.csv"'},
    )


@router.get("/batches/{batch_id}/labels.csv")
def labels_csv(
    batch_id: str,
    principal: AdminOrOperator,
    session: SessionDep,
    sessions: SessionsDep,
    settings: SettingsDep,
) -> StreamingResponse:
    """The print file for industrial printers, streamed in leaf order."""
    issued = batch_labels.issued_batch(
        session=session, tenant_id=principal.tenant_id, batch_id=batch_id
    )
    items = batch_labels.batch_labels(
        sessions=sessions, base_url=settings.public_base_url, issued=issued
    )
    filename = f"labels-{issued.batch.lot}.csv"
    return StreamingResponse(
        labels.csv_lines(items),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/batches/{batch_id}/labels.pdf")
def labels_pdf(
    batch_id: str,
    principal: AdminOrOperator,
    session: SessionDep,
    sessions: SessionsDep,
    settings: SettingsDep,
    stock: Annotated[
        label_stock.StockName,
        Query(
            description="The label stock: "
            + "; ".join(f"`{s.name}`, {s.title}" for s in label_stock.STOCKS.values())
        ),
    ] = label_stock.DEFAULT_STOCK,
) -> Response:
    """PDF labels for small batches, on an A4 sheet of stickers or a thermal roll."""
    issued = batch_labels.issued_batch(
        session=session, tenant_id=principal.tenant_id, batch_id=batch_id
    )
    items: list[labels.Label] = []
    for item in batch_labels.batch_labels(
        sessions=sessions, base_url=settings.public_base_url, issued=issued
    ):
        if len(items) == settings.label_pdf_max:
            raise PayloadTooLarge(
                f"a PDF sheet holds at most {settings.label_pdf_max} labels; "
                "print larger batches from labels.csv"
            )
        items.append(item)
    product, lot = issued.product, issued.batch.lot
    pdf = labels.pdf_labels(
        items, label_stock.STOCKS[stock], title=f"{product.name} {product.gtin} {lot}"
    )
    return Response(pdf, media_type="application/pdf")


def _code_out(settings: Settings, session: Session, principal: Principal, serial: str) -> CodeOut:
    view = service.code_view(
        session=session,
        tenant_id=principal.tenant_id,
        serial=serial,
        base_url=settings.public_base_url,
    )
    code, state = view.code, view.state
    return CodeOut(
        serial=code.serial,
        uri=view.uri,
        batch_id=view.batch.id,
        issuance_id=view.issuance.id,
        index=code.idx,
        has_pin=code.pin_hash is not None,
        scan_count=state.scan_count if state else 0,
        first_scan_at=state.first_scan_at if state else None,
        first_scan_region=state.first_scan_region if state else None,
        pin_used_at=state.pin_used_at if state else None,
        recalled_at=state.recalled_at if state else None,
    )


@router.get("/codes/{serial}", response_model=CodeOut)
def get_code(
    serial: str, principal: AnyRole, session: SessionDep, settings: SettingsDep
) -> CodeOut:
    return _code_out(settings, session, principal, serial)


@router.post("/codes/{serial}/recall", response_model=CodeOut)
def recall_code(
    serial: str,
    body: RecallRequest,
    principal: AdminOrOperator,
    session: SessionDep,
    settings: SettingsDep,
) -> CodeOut:
    service.recall_code(
        session=session,
        tenant_id=principal.tenant_id,
        serial=serial,
        reason=body.reason,
        actor=principal.key_id,
    )
    return _code_out(settings, session, principal, serial)


@router.get("/codes/{serial}/qr.png")
def code_png(
    serial: str, principal: AnyRole, session: SessionDep, settings: SettingsDep
) -> Response:
    """The code's QR symbol as a PNG."""
    uri = _code_out(settings, session, principal, serial).uri
    return Response(labels.qr_png(uri), media_type="image/png")


@router.get("/codes/{serial}/qr.svg")
def code_svg(
    serial: str, principal: AnyRole, session: SessionDep, settings: SettingsDep
) -> Response:
    """The code's QR symbol as an SVG."""
    uri = _code_out(settings, session, principal, serial).uri
    return Response(labels.qr_svg(uri), media_type="image/svg+xml")
