"""HTTP input and output models for the channel configuration and allocations."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from trace_api.request_models import DisplayName, DisplayText, RequestModel
from trace_api.tenancy.schemas import OrganisationKind

MAX_ALLOCATION_TARGETS = 100_000


class TerritoriesSet(RequestModel):
    division_codes: list[str] = Field(
        max_length=5000,
        description="GB/T 2260 six-digit codes; a code covered by another one in the list "
        "(a county under its city, a city under its province) is folded into it.",
    )


class Division(BaseModel):
    code: str
    name: str


class TerritoriesOut(BaseModel):
    organisation_id: str
    territories: list[Division]
    effective: list[Division] = Field(
        description="What the rules use: the divisions of the organisation's own territory, or "
        "of its nearest ancestor's; a territory is divisions and geofences together, so an "
        "organisation with only geofences inherits no divisions."
    )
    inherited_from: str | None = Field(
        description="The ancestor the effective territories come from (null: its own)."
    )
    folded: list[str] = Field(
        default_factory=list,
        description="Codes of the request dropped because another code of it covers them.",
    )


class GeofenceCreate(RequestModel):
    name: DisplayName = Field(min_length=1, max_length=200)
    geojson: dict[str, Any] | str = Field(
        description="A GeoJSON Polygon or MultiPolygon (or a Feature holding one), as an "
        "object or as JSON text; coordinates are [longitude, latitude]."
    )


class GeofenceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    organisation_id: str
    name: str
    geojson: dict[str, Any]
    created_at: datetime

    @field_validator("geojson", mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value


class ProductScopesSet(RequestModel):
    gtins: list[str] = Field(default_factory=list, max_length=5000)
    groups: list[str] = Field(default_factory=list, max_length=500)


class ProductScopesOut(BaseModel):
    organisation_id: str
    gtins: list[str]
    groups: list[str]
    effective_gtins: list[str]
    effective_groups: list[str]
    inherited_from: str | None = Field(
        description="The ancestor the effective scopes come from (null: its own, or none "
        "anywhere up the tree, which means every product)."
    )


class CrossEdgeCreate(RequestModel):
    from_organisation_id: str
    to_organisation_id: str
    reason: DisplayText = Field(min_length=1, max_length=2000)


class CrossEdgeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    from_organisation_id: str = Field(validation_alias="from_org")
    to_organisation_id: str = Field(validation_alias="to_org")
    reason: str
    created_at: datetime
    revoked_at: datetime | None


class LocationSet(RequestModel):
    identifier: str = Field(
        min_length=1,
        max_length=400,
        description="A location or party GLN: urn:epc:id:sgln:..., urn:epc:id:pgln:... or a "
        "GS1 Digital Link with AI 414 or 417.",
    )
    division_code: str | None = Field(
        description="Its GB/T 2260 division; null removes the identifier's division."
    )


class LocationOut(BaseModel):
    identifier: str
    division_code: str
    division_name: str


class ParentSet(RequestModel):
    parent_id: str | None


class TreeNode(BaseModel):
    id: str
    name: str
    kind: OrganisationKind
    parent_id: str | None
    territories: list[Division]
    effective_territories: list[Division]
    territories_inherited_from: str | None
    product_scopes: list[str] = Field(description="Own scopes: GTIN-14s and group:{name}.")
    effective_product_scopes: list[str] = Field(description="Empty: every product.")
    geofence_count: int
    children: list[TreeNode]


class ChannelTree(BaseModel):
    organisations: list[TreeNode] = Field(description="The roots, each with its sub-tree.")
    cross_edges: list[CrossEdgeOut] = Field(description="The current (unrevoked) cross-edges.")


class AllocationCreate(RequestModel):
    organisation_id: str
    division_code: str | None = Field(
        default=None, description="A GB/T 2260 division inside the organisation's territory."
    )
    note: DisplayText = Field(default="", max_length=2000)
    items: list[str] | None = Field(
        default=None,
        max_length=MAX_ALLOCATION_TARGETS,
        description="Item codes: our serials, GS1 Digital Link URIs or SGTIN EPC URNs.",
    )
    containers: list[str] | None = Field(
        default=None,
        max_length=MAX_ALLOCATION_TARGETS,
        description="Cases or pallets: 18-digit SSCCs, /00/ Digital Links or SSCC EPC URNs.",
    )
    batch_id: str | None = None


TargetKind = Literal["item", "container", "batch"]


class AllocationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    target_kind: TargetKind
    target: str
    organisation_id: str
    division_code: str | None
    note: str
    created_by: str
    created_at: datetime
    replaced_at: datetime | None


class AllocationResult(BaseModel):
    target_kind: TargetKind
    organisation_id: str
    division_code: str | None
    created: int = Field(description="Targets that had no current allocation.")
    changed: int = Field(description="Targets whose current allocation was replaced.")
    unchanged: int = Field(description="Targets already allocated to this party and division.")
    allocations: list[AllocationOut] | None = Field(
        description="The new rows, when the call named at most 1,000 targets."
    )


class AllocationPage(BaseModel):
    allocations: list[AllocationOut]
    next_cursor: str | None
