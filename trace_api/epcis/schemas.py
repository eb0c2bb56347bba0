"""HTTP input and output models of the EPCIS domain's own (non-GS1) endpoints.

The GS1 binding's bodies are EPCIS JSON, read and written as such (validation.py,
documents.py); only /v1/epcis/parties has pydantic models.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from trace_api.request_models import RequestModel


class PartyCreate(RequestModel):
    organisation_id: str
    identifier: str = Field(
        min_length=1,
        max_length=400,
        description="A party or location GLN: urn:epc:id:pgln:..., urn:epc:id:sgln:... or a "
        "GS1 Digital Link with AI 417 or 414.",
    )


class PartyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    identifier: str
    organisation_id: str
