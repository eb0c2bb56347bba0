"""HTTP input and output models for the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from trace_api.instants import AwareInstant
from trace_api.request_models import DisplayName, RequestModel


class ExportRequest(RequestModel):
    since: AwareInstant | None = Field(default=None, description="Entries at or after (UTC).")
    until: AwareInstant | None = Field(default=None, description="Entries before (UTC).")
    kinds: list[str] = Field(default_factory=list, max_length=100)
    organisation_id: str | None = None
    item: str | None = Field(default=None, max_length=200)


class ExportOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    status: Literal["running", "done", "failed"]
    entries: int | None
    size_bytes: int | None
    sha256: str | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    download: str | None = None


class CheckpointOut(BaseModel):
    size: int
    root: str
    issued_at: datetime
    body: str = Field(description="The signed canonical JSON, as text.")
    signature: str = Field(description="SM2 signature (DER), hex.")
    anchor: dict[str, object]
    cosigners: list[str]


class WitnessCreate(RequestModel):
    name: DisplayName = Field(min_length=1, max_length=200)
    public_key: str = Field(pattern=r"^(0x)?[0-9a-fA-F]{96}$", description="BLS12-381 G1, hex.")
    proof_of_possession: str = Field(pattern=r"^(0x)?[0-9a-fA-F]{192}$", description="hex")


class WitnessOut(BaseModel):
    id: str
    name: str
    public_key: str
    created_at: datetime


class CosignatureIn(RequestModel):
    witness_id: str
    signature: str = Field(pattern=r"^(0x)?[0-9a-fA-F]{192}$", description="BLS signature, hex.")


class IntegrityFindingOut(BaseModel):
    where: str = Field(description='"entry seq N", "checkpoint size N" or "log size".')
    reason: str
    seq: int | None
    checkpoint: int | None
    found_at: datetime


class LogWalkOut(BaseModel):
    entries: int = Field(description="Entries the walk verified (the log's size when it began).")
    checkpoints: int
    finished_at: datetime


class ReverifierOut(BaseModel):
    running: bool = Field(description="Whether the background re-verifier runs in this process.")
    interval: float | None = Field(description="Seconds between its steps.")
    chunk: int | None = Field(description="Entries per step.")
    passes: int = Field(description="Full passes over every log completed since start.")
    last_pass_finished_at: datetime | None
    last_pass_seconds: float | None
    current_pass_started_at: datetime | None


class IntegrityOut(BaseModel):
    ok: bool = Field(description="No finding is known for this tenant's log.")
    findings: list[IntegrityFindingOut]
    findings_truncated: bool = Field(description="More findings exist than are listed.")
    high_water_mark: int = Field(description="The largest size this process saw the log at.")
    last_full_walk: LogWalkOut | None = Field(
        description="The re-verifier's latest complete walk of this log (this process)."
    )
    reverifier: ReverifierOut
