"""HTTP input and output models for products, batches, issuances and codes."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from trace_api.request_models import DisplayName, DisplayText, JsonDate, RequestModel


class ProductCreate(RequestModel):
    gtin: str = Field(description="GTIN-8, -12, -13 or -14; stored as GTIN-14.", max_length=14)
    name: DisplayName = Field(min_length=1, max_length=200)
    brand: DisplayName = Field(default="", max_length=200)
    description: DisplayText = Field(default="", max_length=4000)
    links: dict[str, str] = Field(
        default_factory=dict,
        description="Brand-defined links by GS1 link type, e.g. {'gs1:pip': 'https://...'}.",
    )
    product_group: str | None = Field(
        default=None,
        max_length=64,
        description="The product group channel product scopes may name (group:{name}).",
    )


class ProductUpdate(RequestModel):
    product_group: str | None = Field(
        max_length=64, description="The product's group; null takes it out of any group."
    )


class ProductOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    gtin: str
    name: str
    brand: str
    description: str
    links: dict[str, str]
    product_group: str | None
    created_at: datetime

    @field_validator("links", mode="before")
    @classmethod
    def _parse_links(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value


class BatchCreate(RequestModel):
    product_id: str
    lot: str = Field(min_length=1, max_length=20, description="GS1 AI 10: 1-20 characters.")
    production_date: JsonDate
    factory: DisplayName = Field(min_length=1, max_length=200)
    expiry: JsonDate | None = None


class BatchOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    product_id: str
    lot: str
    production_date: date
    factory: str
    expiry: date | None
    status: Literal["active", "recalled"]
    recalled_at: datetime | None
    recall_reason: str | None
    created_at: datetime


class RecallRequest(RequestModel):
    reason: DisplayText = Field(min_length=1, max_length=1000)


class Allocation(RequestModel):
    organisation_id: str | None = Field(default=None, description="The dealer the batch goes to.")
    region: str | None = Field(
        default=None, pattern=r"^\d{6}$", description="GB/T 2260 region it is sold in."
    )


class IssueRequest(RequestModel):
    count: int = Field(ge=1, description="How many codes; large counts run as a job.")
    pins: bool = Field(default=False, description="Also issue a scratch-off PIN per item.")
    allocation: Allocation | None = None


class IssuedCode(BaseModel):
    serial: str
    uri: str
    pin: str | None = None


class IssuanceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    batch_id: str
    count: int
    with_pins: bool
    status: Literal["pending", "running", "done", "failed"]
    issued: int = Field(default=0, description="Codes done so far (all of them once done).")
    root: str | None
    anchor_job_id: int | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None


class IssuanceResult(IssuanceOut):
    codes: list[IssuedCode] | None = Field(
        default=None, description="The codes (and PINs, shown this once) of a small batch."
    )


class CodeOut(BaseModel):
    serial: str
    uri: str
    batch_id: str
    issuance_id: int
    index: int
    has_pin: bool
    scan_count: int
    first_scan_at: datetime | None
    first_scan_region: str | None
    pin_used_at: datetime | None
    recalled_at: datetime | None
