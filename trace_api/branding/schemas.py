"""HTTP input and output models for a tenant's branding and its products' photos."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, Field

from trace_api.request_models import DisplayName, RequestModel

HOTLINE_MAX = 40
WEBSITE_MAX = 500
# Groups of digits split by single spaces or hyphens, an optional leading "+":
# "400-820-8820", "+86 21 6888 8888", "95588". Between 3 and 15 digits (E.164's most).
_HOTLINE = re.compile(r"\+?[0-9]+(?:[ -][0-9]+)*")
_HOST = re.compile(r"[^\s/?#@\\]+")


def _hotline(text: str) -> str:
    if not text:
        return text
    digits = sum(c.isdigit() for c in text)
    if not _HOTLINE.fullmatch(text) or not 3 <= digits <= 15:
        raise ValueError(
            "a phone number people can dial: 3 to 15 digits in groups split by single "
            "spaces or hyphens, an optional leading + (e.g. 400-820-8820, +86 21 6888 8888)"
        )
    return text


def _website(text: str) -> str:
    if not text:
        return text
    if any(c.isspace() or not c.isprintable() for c in text):
        raise ValueError("a URL without spaces or control characters")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"not a URL: {exc}") from None
    if parts.scheme != "https":
        raise ValueError("an https:// address (the scan page links nothing else)")
    if "@" in parts.netloc:
        raise ValueError("a URL without a user name or password in it")
    if not parts.hostname or not _HOST.fullmatch(parts.hostname) or port == 0:
        raise ValueError("an https:// URL naming a host")
    return text


Hotline = Annotated[str, AfterValidator(_hotline)]
Website = Annotated[str, AfterValidator(_website)]


class BrandingUpdate(RequestModel):
    """The whole branding: each member is required, an empty string clears it."""

    display_name: DisplayName = Field(max_length=200, description="The brand as shoppers know it.")
    hotline: Hotline = Field(
        max_length=HOTLINE_MAX, description="A phone number, e.g. 400-820-8820 (empty: none)."
    )
    website: Website = Field(
        max_length=WEBSITE_MAX, description="An https:// address (empty: none)."
    )


class BrandingOut(BaseModel):
    display_name: str
    hotline: str
    website: str
    logo_url: str | None = Field(description="/media/<id>, or null for no logo.")
    updated_at: datetime | None = Field(description="null until the branding is first set.")


class ProductImageOut(BaseModel):
    product_id: str
    gtin: str
    image_url: str | None = Field(description="/media/<id>, or null for no photo.")
