"""An image another request is about to refer to is never deleted under it (PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from fixtures.app import TenantKeys
from fixtures.codes import GTIN
from fixtures.images import png
from trace_api.branding import service as branding
from trace_api.codes import service as codes_service
from trace_api.components import Components
from trace_api.db import transaction
from trace_api.models import Media, Product

LIMITS = branding.ImageLimits(max_bytes=2 << 20, max_side=4096)


def _stored_ids(app: FastAPI) -> set[str]:
    with transaction(Components.of(app).sessions) as session:
        return set(session.scalars(select(Media.id)))


def test_removing_a_logo_while_another_tenant_stores_the_same_photo_keeps_it(
    app: FastAPI, tenant: TenantKeys, other_tenant: TenantKeys
) -> None:
    if Components.of(app).engine.dialect.name != "postgresql":
        pytest.skip("row locks: SQLite serialises writers instead")
    with transaction(Components.of(app).sessions) as session:
        media_id = branding.set_logo(
            session=session, tenant_id=tenant.tenant_id, data=png(), limits=LIMITS, actor="t"
        ).logo_id
        product = codes_service.create_product(
            session=session, tenant_id=other_tenant.tenant_id, gtin=GTIN, name="Tea"
        )
    # The other tenant makes the same bytes its product's photo (`products.image_id` has no
    # foreign key to hold the row), and has not committed yet.
    uploading = Components.of(app).sessions()
    photo = branding.set_product_image(
        session=uploading,
        tenant_id=other_tenant.tenant_id,
        product=GTIN,
        data=png(),
        limits=LIMITS,
        actor="t",
    )
    assert photo.image_id == media_id
    removed = threading.Event()

    def remove() -> None:
        with transaction(Components.of(app).sessions) as session:
            branding.clear_logo(session=session, tenant_id=tenant.tenant_id, actor="t")
        removed.set()

    remover = threading.Thread(target=remove)
    remover.start()
    assert not removed.wait(1.0)  # waits for the upload's lock on the image row
    try:
        uploading.commit()
    finally:
        uploading.close()
    remover.join(10)
    assert removed.is_set()
    assert media_id in _stored_ids(app)  # the other tenant's logo still has its image
    with transaction(Components.of(app).sessions) as session:
        assert session.get(Product, product.id).image_id == media_id  # type: ignore[union-attr]
        ours = branding.branding_for(session, tenant_id=tenant.tenant_id)
    assert ours is not None and ours.logo_url is None
