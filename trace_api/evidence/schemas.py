"""HTTP input and output models for contract proofs, their parties and keys."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from compliance.evidence.statement import KINDS, LINK_TYPES
from trace_api.instants import AwareInstant
from trace_api.request_models import DisplayName, RequestModel

Kind = Literal[KINDS]  # type: ignore[valid-type]
LinkType = Literal[LINK_TYPES]  # type: ignore[valid-type]
Status = Literal["pending_signatures", "complete", "anchored"]
Hex32 = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{64}$")]
SignatureHex = Annotated[
    str,
    StringConstraints(pattern=r"^(?:[0-9a-fA-F]{2}){8,80}$"),
    Field(description="The DER signature (at most 72 bytes) as hex."),
]
Uuid = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$")]

MAX_PARTIES = 20
MAX_LINKS = 50


class Digests(RequestModel):
    sm3: Hex32 | None = None
    sha256: Hex32 | None = None

    def given(self) -> dict[str, str]:
        """The digests given, in lowercase hex."""
        return {n: v.lower() for n, v in (("sm3", self.sm3), ("sha256", self.sha256)) if v}


class LinkIn(RequestModel):
    type: LinkType
    id: str = Field(
        min_length=1,
        max_length=1000,
        description="The object's id; an EPCIS event by its eventID or as sha256:<hex> of "
        "the event as captured; a channel authorisation as territory:<organisation>:<code>, "
        "scope:<organisation>:<scope> or cross-edge:<edge id>.",
    )


class PartyIn(RequestModel):
    party: str = Field(min_length=1, max_length=36, description="A party id of the registry.")
    required: bool = Field(default=True, description="Whether the proof waits for its signature.")


class SignatureIn(RequestModel):
    party: str = Field(min_length=1, max_length=36)
    signature: SignatureHex


class EvidenceSubmit(RequestModel):
    """A proof to store: of a document uploaded beside it, or of its digests only."""

    title: DisplayName = Field(min_length=1, max_length=500)
    kind: Kind
    digests: Digests = Field(
        default_factory=Digests,
        description="Digest-only: at least one. With an upload both are computed, and any "
        "given here must match.",
    )
    size: int | None = Field(
        default=None, ge=0, le=2**53 - 1, description="The document's size in bytes."
    )
    links: list[LinkIn] = Field(default_factory=list, max_length=MAX_LINKS)
    parties: list[PartyIn] = Field(default_factory=list, max_length=MAX_PARTIES)
    signatures: list[SignatureIn] = Field(
        default_factory=list,
        max_length=MAX_PARTIES,
        description="Signatures over the statement, checked on arrival; they need id and "
        "created_at, which the statement holds, to be given.",
    )
    id: Uuid | None = Field(default=None, description="The proof's id (a UUID), if chosen.")
    created_at: AwareInstant | None = Field(
        default=None, description="The statement's time, if chosen (close to now)."
    )

    @model_validator(mode="after")
    def _no_repeats(self) -> EvidenceSubmit:
        for name, values in (
            ("parties", [p.party for p in self.parties]),
            ("links", [(link.type, link.id) for link in self.links]),
            ("signatures", [s.party for s in self.signatures]),
        ):
            if len(set(values)) != len(values):
                raise ValueError(f"{name} names the same thing twice")
        return self


class SignatureSubmit(RequestModel):
    party: str = Field(min_length=1, max_length=36)
    signature: SignatureHex


class SignerPartyCreate(RequestModel):
    """An organisation of the tenant, or an outside party by name and USCC."""

    organisation_id: str | None = Field(default=None, max_length=36)
    name: DisplayName | None = Field(default=None, min_length=1, max_length=200)
    uscc: str | None = Field(default=None, max_length=40)


class SignerKeyCreate(RequestModel):
    public_key: str = Field(
        min_length=130, max_length=130, description="Hex of 04 || x || y (65 bytes, SM2)."
    )


class SignerKeyOut(BaseModel):
    id: str
    public_key: str
    fingerprint: str = Field(description="SM3 of the key's 65 bytes, hex.")
    registered_at: datetime
    revoked_at: datetime | None


class SignerPartyOut(BaseModel):
    id: str
    name: str
    uscc: str | None
    organisation_id: str | None
    created_at: datetime
    keys: list[SignerKeyOut]


class ProofParty(BaseModel):
    party: str
    name: str
    uscc: str | None
    organisation_id: str | None
    required: bool
    signed: bool


class ProofSignature(BaseModel):
    party: str
    key_fingerprint: str
    signature: str
    signed_at: datetime


class ProofLink(BaseModel):
    type: str
    id: str


class EvidenceOut(BaseModel):
    id: str
    title: str
    kind: str
    status: Status
    digests: dict[str, str]
    size: int | None
    created_at: datetime
    completed_at: datetime | None
    parties: list[ProofParty]
    links: list[ProofLink]
    document_kept: bool


class EvidenceDetail(EvidenceOut):
    statement: dict[str, Any] = Field(description="The statement the parties sign.")
    statement_text: str = Field(
        description="Its exact bytes (RFC 8785 JSON), what an SM2 signature is made over."
    )
    signatures: list[ProofSignature]
    batch: int | None
    leaf_hash: str | None


class EvidencePage(BaseModel):
    evidence: list[EvidenceOut]
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null: done.")
