"""HTTP input and output models for tenants, organisations and API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from trace_api.request_models import DisplayName, RequestModel

Role = Literal["admin", "operator", "dealer", "compliance"]
OrganisationKind = Literal["brand", "distributor", "dealer", "retailer"]


class ApiKeyCreate(RequestModel):
    role: Role
    organisation_id: str | None = Field(
        default=None, description="Required for the dealer role, refused for the others."
    )
    label: DisplayName = Field(default="", max_length=200)


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    role: Role
    organisation_id: str | None
    label: str
    created_at: datetime
    created_by: str | None
    revoked_at: datetime | None


class ApiKeyIssued(ApiKeyOut):
    key: str = Field(description="The secret: shown this once, never stored.")


class OrganisationCreate(RequestModel):
    name: DisplayName = Field(min_length=1, max_length=200)
    kind: OrganisationKind
    parent_id: str | None = None
    uscc: str | None = Field(
        default=None, description="Unified social credit code (统一社会信用代码), checked."
    )


class OrganisationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    kind: OrganisationKind
    parent_id: str | None
    uscc: str | None
    created_at: datetime


class WhoAmI(BaseModel):
    tenant_id: str
    tenant_name: str
    key_id: str
    role: Role
    organisation_id: str | None


class DataKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    key_id: str
    status: Literal["active", "retired", "shredded"]
    created_at: datetime
    retired_at: datetime | None
    shredded_at: datetime | None


class ShredRequest(RequestModel):
    confirm_key_id: str = Field(
        description="Repeat the key id: shredding makes all data under it unreadable forever."
    )
