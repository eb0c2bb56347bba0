"""HTTP input and output models for diversion alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from trace_api.request_models import DisplayText, RequestModel

AlertStatus = Literal["open", "acknowledged", "resolved", "dismissed"]


class AlertOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    subject: str = Field(description="The item or container (canonical key).")
    subject_kind: Literal["item", "container"]
    item_count: int
    rule: str
    severity: Literal["low", "medium", "high", "critical"]
    status: AlertStatus
    status_reason: str | None
    expected_org: str | None
    expected_division: str | None
    observed_org: str | None
    observed_division: str | None
    blamed_org: str | None
    detail: str
    created_at: datetime
    updated_at: datetime


class AlertPage(BaseModel):
    alerts: list[AlertOut]
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null: done.")


class Evidence(BaseModel):
    event_id: str | None = Field(description="The EPCIS eventID.")
    role: str | None = Field(description="What the event shows: the shipment, the deviation, ...")
    audit_seq: int | None = Field(description="The audit-log entry that recorded the event.")
    proof: str | None = Field(description="Where to fetch that entry's inclusion proof.")


class StatusChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    from_status: AlertStatus
    to_status: AlertStatus
    reason: str | None
    actor: str
    at: datetime


class AlertDetail(AlertOut):
    evidence: list[Evidence]
    history: list[StatusChangeOut]


class StatusChange(RequestModel):
    status: AlertStatus
    reason: DisplayText | None = Field(
        default=None, max_length=2000, description="Required when dismissing."
    )
