"""Free text the channel configuration stores (geofence names, cross-edge reasons)."""

from __future__ import annotations

import re

from trace_api.errors import InvalidInput

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def plain_text(value: str, what: str) -> str:
    """``value`` trimmed; InvalidInput if it holds control characters (but newline, tab)."""
    value = value.strip()
    if _CONTROL.search(value.replace("\n", "").replace("\t", "")):
        raise InvalidInput(f"{what} may not contain control characters")
    return value
