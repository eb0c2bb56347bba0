"""What an uploaded image becomes before it is stored: checked, turned upright, scrubbed.

The bytes are sniffed by Pillow (only its PNG, JPEG and WebP decoders are tried, so SVG,
GIF, TIFF and the rest never reach a decoder), the declared size is checked from the header
before any pixel is decoded, and what passes is decoded once, turned upright by its EXIF
orientation, converted to sRGB, shrunk to fit ``DISPLAY_SIDE`` and encoded afresh from the
bare pixels: no EXIF (a phone photo's GPS position), XMP, text chunks, ICC profile, or
bytes after the image (a polyglot's HTML) survive. Opaque photos become JPEG; PNG stays
PNG, and a WebP with transparency becomes PNG too.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from trace_api.media.errors import BrokenImage, ImageTooLarge, UnsupportedImage

DISPLAY_SIDE = 1024  # the longest side stored: sharp on a phone, small to serve
JPEG_QUALITY = 85
_FORMATS = ("PNG", "JPEG", "WEBP")  # the decoders Pillow may try; MPO comes via JPEG
_SRGB = ImageCms.createProfile("sRGB")


@dataclass(frozen=True)
class PreparedImage:
    """An accepted image, re-encoded: its bytes, their media type and its size."""

    data: bytes
    content_type: str
    width: int
    height: int


def prepare_image(data: bytes, *, max_bytes: int, max_side: int) -> PreparedImage:
    """``data`` checked and re-encoded for display; a media error says why it was refused."""
    if len(data) > max_bytes:
        raise ImageTooLarge(f"the image is {len(data)} bytes; at most {max_bytes}", limit=max_bytes)
    with warnings.catch_warnings():
        # Pillow only warns between MAX_IMAGE_PIXELS and twice that; the side limit,
        # checked before decoding, is far below both.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=_FORMATS) as image:
                _check_header(image, max_side)
                image.thumbnail((DISPLAY_SIDE, DISPLAY_SIDE), Image.Resampling.LANCZOS)
                upright = ImageOps.exif_transpose(image)
                return _encode(_in_srgb(upright), lossless=image.format == "PNG")
        except Image.DecompressionBombError as exc:
            raise ImageTooLarge(f"the image declares too many pixels: {exc}") from None
        except UnidentifiedImageError:
            raise UnsupportedImage(
                "the body is not a PNG, JPEG or WebP image (SVG and GIF are not accepted)"
            ) from None
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise BrokenImage(f"the image does not decode: {exc}") from None


def _check_header(image: Image.Image, max_side: int) -> None:
    """Refuse by what the header declares, before any pixel is decoded."""
    width, height = image.size
    if width < 1 or height < 1:
        raise BrokenImage(f"the image declares a size of {width}x{height}")
    if max(width, height) > max_side:
        raise ImageTooLarge(
            f"the image is {width}x{height} pixels; at most {max_side} on a side",
            limit=max_side,
        )
    # A phone's MPO (a JPEG with a depth map or preview after it) is one still picture.
    if image.format != "MPO" and getattr(image, "is_animated", False):
        raise UnsupportedImage("animated images are not accepted; upload a still image")


def _in_srgb(image: Image.Image) -> Image.Image:
    """The pixels in plain RGB(A) or L(A), converted from an embedded ICC profile if any."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA" if has_alpha else "RGB")
    elif "transparency" in image.info:  # a tRNS colour key on an RGB or L image
        image = image.convert("RGBA" if image.mode == "RGB" else "LA")
    profile = image.info.get("icc_profile")
    if profile and image.mode in ("RGB", "RGBA"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            converted = ImageCms.profileToProfile(image, source, _SRGB, outputMode=image.mode)
        except (ImageCms.PyCMSError, OSError, ValueError):
            converted = None  # a broken profile: keep the pixels as they are
        if converted is not None:
            image = converted
    return image


def _encode(image: Image.Image, *, lossless: bool) -> PreparedImage:
    # Built from the bare pixels, so nothing of the upload's metadata can ride along.
    bare = Image.frombytes(image.mode, image.size, image.tobytes())
    out = io.BytesIO()
    if lossless or bare.mode in ("RGBA", "LA"):
        bare.save(out, format="PNG", optimize=True)
        content_type = "image/png"
    else:
        bare.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
        content_type = "image/jpeg"
    return PreparedImage(out.getvalue(), content_type, bare.width, bare.height)
