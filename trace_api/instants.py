"""Points in time: clients give them with an offset, storage keeps UTC, answers write ``Z``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, overload

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


@overload
def iso(moment: datetime) -> str: ...
@overload
def iso(moment: None) -> None: ...
def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z``, as every JSON answer writes times (None stays None)."""
    if moment is None:
        return None
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return utc.isoformat().replace("+00:00", "Z")
