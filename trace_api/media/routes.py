"""``GET /media/{id}``: stored images, public and cacheable for good (ids name the bytes)."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request, Response

from trace_api.components import MediaRequestsDep
from trace_api.deps import SessionDep
from trace_api.errors import NotFound
from trace_api.media import service
from trace_api.ratelimit import admit_client

router = APIRouter(tags=["media"])

_MEDIA_ID = re.compile(r"[0-9a-f]{64}")
_HEADERS = {
    # The id is the SHA-256 of the bytes: what a URL names never changes.
    "Cache-Control": "public, max-age=31536000, immutable",
    "X-Content-Type-Options": "nosniff",
    # Opened on its own, the image may run nothing and load nothing.
    "Content-Security-Policy": "default-src 'none'",
    "Cross-Origin-Resource-Policy": "cross-origin",
}


@router.get(
    "/media/{media_id}",
    response_class=Response,
    responses={
        200: {"content": {t: {} for t in ("image/png", "image/jpeg")}},
        304: {"description": "Not modified (If-None-Match names this image)"},
        404: {"description": "No such image"},
        429: {"description": "Too many requests from this client (Retry-After)"},
    },
)
def get_media(
    media_id: str, request: Request, session: SessionDep, budgets: MediaRequestsDep
) -> Response:
    """A brand logo or product photo, as stored (no key needed)."""
    admit_client(budgets, request, "image requests")  # its own budget, set in create_app
    if not _MEDIA_ID.fullmatch(media_id):
        raise NotFound("no image with that id (a lowercase hex SHA-256)")
    etag = f'"{media_id}"'
    headers = {**_HEADERS, "ETag": etag}
    condition = _if_none_match(request.headers.get("if-none-match"), media_id)
    if condition == "this":  # the client holds these very bytes: no need to look
        return Response(status_code=304, headers=headers)
    found = service.public_file(session, media_id=media_id)
    if found is None:
        raise NotFound(f"no image {media_id}")
    if condition == "any":
        return Response(status_code=304, headers=headers)
    return Response(found.data, media_type=found.content_type, headers=headers)


def _if_none_match(header: str | None, media_id: str) -> str | None:
    """RFC 9110 §13.1.2 with weak comparison: "this" when a listed tag is ours, "any" for
    ``*`` (a match if the image exists), None otherwise."""
    if not header:
        return None
    tags = [tag.strip().removeprefix("W/") for tag in header.split(",")]
    if f'"{media_id}"' in tags:
        return "this"
    return "any" if "*" in tags else None
