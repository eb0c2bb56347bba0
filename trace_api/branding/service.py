"""A tenant's branding and its products' photos: set by the brand, read by the scan page.

Every change appends its audit entry in the caller's transaction. Replacing or removing a
logo or photo releases the old image (deleted once nothing refers to it). The scan page's
read, :func:`branding_for`, is one select by primary key; it is not cached in the process,
so a change shows on the next scan in every worker process.

Services never commit: the caller owns the transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from trace_api.audit import log as audit_log
from trace_api.codes.gs1 import normalise_gtin
from trace_api.errors import NotFound
from trace_api.media import service as media_service
from trace_api.media.service import media_url
from trace_api.models import Product, TenantBranding, utcnow


@dataclass(frozen=True)
class Branding:
    """What the scan page shows of a brand; empty strings where the brand set nothing."""

    display_name: str
    hotline: str
    website: str
    logo_url: str | None

    @property
    def hotline_uri(self) -> str | None:
        """The hotline as an RFC 3966 ``tel:`` link (separators dropped), or None."""
        return f"tel:{re.sub(r'[ -]', '', self.hotline)}" if self.hotline else None


@dataclass(frozen=True)
class ImageLimits:
    """The upload bounds: ``TRACE_MEDIA_MAX_BYTES`` and ``TRACE_MEDIA_MAX_PIXELS``."""

    max_bytes: int
    max_side: int


def branding_for(db: Connection | Session, *, tenant_id: str) -> Branding | None:
    """The tenant's branding for the scan page, or None if it never set any."""
    row = db.execute(
        select(
            TenantBranding.display_name,
            TenantBranding.hotline,
            TenantBranding.website,
            TenantBranding.logo_id,
        ).where(TenantBranding.tenant_id == tenant_id)
    ).first()
    if row is None:
        return None
    return Branding(row.display_name, row.hotline, row.website, media_url(row.logo_id))


def product_image_url(image_id: str | None) -> str | None:
    """The public path of a product's photo (``Product.image_id``), or None."""
    return media_url(image_id)


def get_branding(*, session: Session, tenant_id: str) -> TenantBranding | None:
    """The tenant's branding row, if it has one."""
    return session.get(TenantBranding, tenant_id)


def set_branding(
    *, session: Session, tenant_id: str, display_name: str, hotline: str, website: str, actor: str
) -> TenantBranding:
    """Replace the tenant's name, hotline and website (the logo stays)."""
    record = _locked_branding(session, tenant_id)
    previous = {
        "display_name": record.display_name,
        "hotline": record.hotline,
        "website": record.website,
    }
    record.display_name = display_name.strip()
    record.hotline = hotline
    record.website = website
    record.updated_at = utcnow()
    current = {"display_name": record.display_name, "hotline": hotline, "website": website}
    audit_log.append(
        session=session,
        tenant_id=tenant_id,
        kind="branding.updated",
        actor=actor,
        data={**current, "previous": previous},
    )
    return record


def set_logo(
    *, session: Session, tenant_id: str, data: bytes, limits: ImageLimits, actor: str
) -> TenantBranding:
    """Store an uploaded logo and make it the tenant's (media errors say why one is refused)."""
    stored = _store(session, tenant_id, data, limits)
    record = _locked_branding(session, tenant_id)
    previous, record.logo_id, record.updated_at = record.logo_id, stored.id, utcnow()
    _release(session, previous, stored.id)
    audit_log.append(
        session=session,
        tenant_id=tenant_id,
        kind="branding.logo_set",
        actor=actor,
        data={**_described(stored), "previous": previous},
    )
    return record


def clear_logo(*, session: Session, tenant_id: str, actor: str) -> TenantBranding | None:
    """Remove the tenant's logo; nothing changes (nor is logged) if it has none."""
    record = get_branding(session=session, tenant_id=tenant_id)
    if record is None or record.logo_id is None:
        return record
    record = _locked_branding(session, tenant_id)
    previous, record.logo_id, record.updated_at = record.logo_id, None, utcnow()
    _release(session, previous, None)
    audit_log.append(
        session=session,
        tenant_id=tenant_id,
        kind="branding.logo_removed",
        actor=actor,
        data={"previous": previous},
    )
    return record


def set_product_image(
    *, session: Session, tenant_id: str, product: str, data: bytes, limits: ImageLimits, actor: str
) -> Product:
    """Store an uploaded photo for ``product`` (its id or GTIN) and show it on its scans."""
    stored = _store(session, tenant_id, data, limits)
    record = _locked_product(session, tenant_id, product)
    previous, record.image_id = record.image_id, stored.id
    _release(session, previous, stored.id)
    audit_log.append(
        session=session,
        tenant_id=tenant_id,
        kind="product.image_set",
        actor=actor,
        items=[record.id],
        data={"product_id": record.id, "gtin": record.gtin, **_described(stored)}
        | {"previous": previous},
    )
    return record


def clear_product_image(*, session: Session, tenant_id: str, product: str, actor: str) -> Product:
    """Remove the photo of ``product`` (its id or GTIN); a no-op if it has none."""
    record = _locked_product(session, tenant_id, product)
    if record.image_id is None:
        return record
    previous, record.image_id = record.image_id, None
    _release(session, previous, None)
    audit_log.append(
        session=session,
        tenant_id=tenant_id,
        kind="product.image_removed",
        actor=actor,
        items=[record.id],
        data={"product_id": record.id, "gtin": record.gtin, "previous": previous},
    )
    return record


def _store(
    session: Session, tenant_id: str, data: bytes, limits: ImageLimits
) -> media_service.StoredImage:
    return media_service.store(
        session=session,
        tenant_id=tenant_id,
        data=data,
        max_bytes=limits.max_bytes,
        max_side=limits.max_side,
    )


def _release(session: Session, previous: str | None, current: str | None) -> None:
    if previous is not None and previous != current:
        media_service.release(session=session, media_id=previous)


def _described(stored: media_service.StoredImage) -> dict[str, Any]:
    return {
        "media_id": stored.id,
        "content_type": stored.content_type,
        "width": stored.width,
        "height": stored.height,
        "bytes": stored.size,
    }


def _locked_branding(session: Session, tenant_id: str) -> TenantBranding:
    """The tenant's branding row, created empty if need be, locked for this transaction."""
    module: Any = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(
        module.insert(TenantBranding)
        .values(
            tenant_id=tenant_id,
            display_name="",
            hotline="",
            website="",
            logo_id=None,
            updated_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["tenant_id"])
    )
    return session.execute(
        select(TenantBranding)
        .where(TenantBranding.tenant_id == tenant_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


def _locked_product(session: Session, tenant_id: str, product: str) -> Product:
    """The tenant's product by id or GTIN, locked; another tenant's is not found."""
    where = (
        Product.gtin == normalise_gtin(product)
        if product.isascii() and product.isdigit()
        else Product.id == product
    )
    record = session.execute(
        select(Product)
        .where(where, Product.tenant_id == tenant_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if record is None:
        raise NotFound(f"no product {product}")
    return record
