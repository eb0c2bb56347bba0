"""Stored images: content-addressed rows, kept while something refers to them.

A stored image is named by the SHA-256 of its re-encoded bytes, so the same upload twice
is one row, and its public URL can be cached for good. Rows are shared by content: two
tenants who upload the same picture refer to one row (the first uploader is its
``tenant_id``), and :func:`release` deletes a row only when no logo and no product refers
to it any more. Both :func:`store` and :func:`release` lock the row first (shared, and
exclusive), so a row a concurrent upload is about to refer to is never deleted under it.

Services never commit: the caller owns the transaction.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, exists, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from trace_api.media.images import PreparedImage, prepare_image
from trace_api.models import Media, Product, TenantBranding, utcnow

MEDIA_PATH = "/media/"


@dataclass(frozen=True)
class StoredImage:
    """An image as stored: its id (the SHA-256 of ``data``), media type and size."""

    id: str
    content_type: str
    width: int
    height: int
    size: int


@dataclass(frozen=True)
class MediaFile:
    """What ``GET /media/{id}`` serves."""

    content_type: str
    data: bytes


def media_url(media_id: str | None) -> str | None:
    """The public path of a stored image (``/media/<id>``), or None for no image."""
    return f"{MEDIA_PATH}{media_id}" if media_id else None


def store(
    *, session: Session, tenant_id: str, data: bytes, max_bytes: int, max_side: int
) -> StoredImage:
    """Check, re-encode and store an upload (media errors say why one is refused)."""
    prepared = prepare_image(data, max_bytes=max_bytes, max_side=max_side)
    media_id = hashlib.sha256(prepared.data).hexdigest()
    for _ in range(3):
        _insert_once(session, tenant_id, media_id, prepared)
        # Hold the row until commit: a concurrent release() waits, then sees our reference.
        held = session.execute(
            select(Media.id).where(Media.id == media_id).with_for_update(read=True)
        ).scalar()
        if held is not None:
            break
        # A release() deleted the row between our insert (skipped) and the lock: again.
    else:  # pragma: no cover - three deletions in a row of the very same picture
        raise RuntimeError(f"media {media_id} was deleted while being stored")
    return StoredImage(
        media_id, prepared.content_type, prepared.width, prepared.height, len(prepared.data)
    )


def release(*, session: Session, media_id: str) -> bool:
    """Delete the image if no logo and no product refers to it any more; whether it did.

    Call it after the caller's own reference is gone (flushed or not: this flushes).
    """
    session.flush()
    locked = session.execute(
        select(Media.id).where(Media.id == media_id).with_for_update()
    ).scalar()
    if locked is None:
        return False
    referred = session.execute(
        select(
            or_(
                exists().where(TenantBranding.logo_id == media_id),
                exists().where(Product.image_id == media_id),
            )
        )
    ).scalar()
    if referred:
        return False
    session.execute(delete(Media).where(Media.id == media_id))
    return True


def public_file(db: Connection | Session, *, media_id: str) -> MediaFile | None:
    """The stored image ``media_id``, for anyone: one select by primary key."""
    row = db.execute(select(Media.content_type, Media.data).where(Media.id == media_id)).first()
    return None if row is None else MediaFile(row.content_type, row.data)


def _insert_once(session: Session, tenant_id: str, media_id: str, image: PreparedImage) -> None:
    module: Any = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(
        module.insert(Media)
        .values(
            id=media_id,
            tenant_id=tenant_id,
            content_type=image.content_type,
            width=image.width,
            height=image.height,
            data=image.data,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["id"])
    )
