"""HTTP output models for anchor jobs."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict


class AnchorJobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    subject: str
    anchor_id: str
    root: str
    size: int
    status: Literal["pending", "submitted", "confirmed", "failed"]
    attempts: int
    last_error: str | None
    next_attempt_at: datetime
    tx_hash: str | None
    block_number: int | None
    block_hash: str | None
    times_anchored: int
    created_at: datetime
    submitted_at: datetime | None
    confirmed_at: datetime | None
