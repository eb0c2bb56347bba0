"""HTTP input models of the dealer scan API."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from trace_api.instants import AwareInstant
from trace_api.request_models import RequestModel


class ScanIn(RequestModel):
    """One scan: the codes scanned and, depending on the action, where they go."""

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)

    codes: list[str] = Field(
        default_factory=list,
        max_length=10_000,
        description="Our serials, GS1 Digital Link URIs, EPC URNs or 18-digit SSCCs.",
    )
    to: str | None = Field(default=None, max_length=36, description="ship: the receiver's id.")
    from_: str | None = Field(
        default=None,
        alias="from",
        max_length=36,
        description="The scanning organisation (operator and admin keys; a dealer key is its own).",
    )
    parent: str | None = Field(
        default=None, max_length=500, description="pack/unpack: the case or pallet SSCC."
    )
    division: str | None = Field(
        default=None, pattern=r"^\d{6}$", description="GB/T 2260 code of where the scan was."
    )
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    at: AwareInstant | None = Field(default=None, description="When (default: now).")
    event_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        description="The EPCIS eventID; a retry with the same one stores nothing new.",
    )
