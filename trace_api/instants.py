"""Points in time given by clients: stored as UTC, so they must have a UTC value."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field


def in_utc(value: datetime) -> datetime:
    """``value`` (with its offset) in UTC; ValueError when it has none."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("lies outside the years 1 to 9999 once converted to UTC") from None


AwareInstant = Annotated[AwareDatetime, Field(strict=False), AfterValidator(in_utc)]
"""A client's date-time, which must carry an offset, as UTC (a JSON string, also in a
strict request model)."""
