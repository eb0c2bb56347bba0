"""Opaque paging cursors: the (time, id) of the last row a page showed."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from trace_api.errors import InvalidInput


def encode_cursor(at: datetime, row_id: str) -> str:
    """The cursor after the row created at ``at`` with id ``row_id``."""
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{row_id}".encode()).decode().rstrip("=")


def decode_cursor(token: str) -> tuple[datetime, str]:
    """The (time, id) of a cursor; InvalidInput when ``token`` is not one."""
    try:
        decoded = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        at, _, row_id = decoded.partition("|")
        when = datetime.fromisoformat(at)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput("cursor is not a cursor of this listing") from None
    if when.tzinfo is None or not row_id:
        raise InvalidInput("cursor is not a cursor of this listing")
    return when, row_id
