"""Errors of the media domain (mapped to problem+json with the other service errors).

What the bytes are decides, never the Content-Type header or a file name: 413 for an
image too large (bytes, a side in pixels, or a decompression bomb), 415 for bytes that are
not a still PNG, JPEG or WebP image, 422 for one of those that does not decode.
"""

from __future__ import annotations

from trace_api.errors import InvalidInput, PayloadTooLarge, ServiceError


class ImageTooLarge(PayloadTooLarge):
    """More bytes than ``TRACE_MEDIA_MAX_BYTES``, or a side over ``TRACE_MEDIA_MAX_PIXELS``."""

    slug = "image-too-large"
    title = "Image too large"


class UnsupportedImage(ServiceError):
    """Bytes that are not a still PNG, JPEG or WebP image (SVG, GIF, animations, anything)."""

    status = 415
    slug = "unsupported-image"
    title = "Unsupported image type"


class BrokenImage(InvalidInput):
    """A PNG, JPEG or WebP header whose image does not decode (truncated, corrupt)."""

    slug = "invalid-image"
    title = "Invalid image"
