"""HTTP routes: the tenant's branding, its logo, and its products' photos.

Images arrive as the raw request body (any Content-Type; the bytes are sniffed), up to
``TRACE_MEDIA_MAX_BYTES`` (the body guard allows these routes that much).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from trace_api.branding import service
from trace_api.branding.schemas import BrandingOut, BrandingUpdate, ProductImageOut
from trace_api.deps import SessionDep, SettingsDep
from trace_api.media.service import media_url
from trace_api.models import Product, TenantBranding
from trace_api.roles import AdminOnly, AdminOrOperator, AnyRole
from trace_api.settings import Settings

router = APIRouter(prefix="/v1", tags=["branding"])

_IMAGE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The image itself: PNG, JPEG or WebP (sniffed, not taken from "
        "Content-Type), at most TRACE_MEDIA_MAX_BYTES and TRACE_MEDIA_MAX_PIXELS a side.",
        "content": {
            kind: {"schema": {"type": "string", "format": "binary"}}
            for kind in ("image/png", "image/jpeg", "image/webp")
        },
    }
}
_IMAGE_REFUSALS: dict[int | str, dict[str, Any]] = {
    413: {"description": "Too many bytes, too many pixels a side, or a decompression bomb"},
    415: {"description": "Not a still PNG, JPEG or WebP image (SVG, GIF, animations)"},
    422: {"description": "A PNG, JPEG or WebP that does not decode"},
}


async def _image_body(request: Request) -> bytes:
    return await request.body()


ImageBody = Annotated[bytes, Depends(_image_body)]


def _limits(settings: Settings) -> service.ImageLimits:
    return service.ImageLimits(settings.media_max_bytes, settings.media_max_pixels)


def _branding_out(record: TenantBranding | None) -> BrandingOut:
    if record is None:
        return BrandingOut(display_name="", hotline="", website="", logo_url=None, updated_at=None)
    return BrandingOut(
        display_name=record.display_name,
        hotline=record.hotline,
        website=record.website,
        logo_url=media_url(record.logo_id),
        updated_at=record.updated_at,
    )


def _image_out(record: Product) -> ProductImageOut:
    return ProductImageOut(
        product_id=record.id, gtin=record.gtin, image_url=media_url(record.image_id)
    )


@router.get("/branding", response_model=BrandingOut)
def get_branding(principal: AnyRole, session: SessionDep) -> BrandingOut:
    return _branding_out(service.get_branding(session=session, tenant_id=principal.tenant_id))


@router.put("/branding", response_model=BrandingOut)
def put_branding(body: BrandingUpdate, admin: AdminOnly, session: SessionDep) -> BrandingOut:
    record = service.set_branding(
        session=session, tenant_id=admin.tenant_id, actor=admin.key_id, **body.model_dump()
    )
    return _branding_out(record)


@router.put(
    "/branding/logo",
    response_model=BrandingOut,
    openapi_extra=_IMAGE_BODY,
    responses=_IMAGE_REFUSALS,
)
def put_logo(
    data: ImageBody, admin: AdminOnly, session: SessionDep, settings: SettingsDep
) -> BrandingOut:
    record = service.set_logo(
        session=session,
        tenant_id=admin.tenant_id,
        data=data,
        limits=_limits(settings),
        actor=admin.key_id,
    )
    return _branding_out(record)


@router.delete("/branding/logo", response_model=BrandingOut)
def delete_logo(admin: AdminOnly, session: SessionDep) -> BrandingOut:
    record = service.clear_logo(session=session, tenant_id=admin.tenant_id, actor=admin.key_id)
    return _branding_out(record)


@router.put(
    "/products/{product}/image",
    response_model=ProductImageOut,
    openapi_extra=_IMAGE_BODY,
    responses=_IMAGE_REFUSALS,
)
def put_product_image(
    product: str,
    data: ImageBody,
    principal: AdminOrOperator,
    session: SessionDep,
    settings: SettingsDep,
) -> ProductImageOut:
    """``product`` is the product's id or its GTIN."""
    record = service.set_product_image(
        session=session,
        tenant_id=principal.tenant_id,
        product=product,
        data=data,
        limits=_limits(settings),
        actor=principal.key_id,
    )
    return _image_out(record)


@router.delete("/products/{product}/image", response_model=ProductImageOut)
def delete_product_image(
    product: str, principal: AdminOrOperator, session: SessionDep
) -> ProductImageOut:
    """``product`` is the product's id or its GTIN."""
    record = service.clear_product_image(
        session=session, tenant_id=principal.tenant_id, product=product, actor=principal.key_id
    )
    return _image_out(record)
