"""HTTP routes: the parties that sign contract proofs, and their SM2 public keys.

The brand's staff register parties; a dealer key sees its own organisation's party and
registers and revokes that party's keys. `trace_api.evidence.routes` includes this router
ahead of its own routes.
"""

from __future__ import annotations

from fastapi import APIRouter

from trace_api.deps import SessionDep
from trace_api.evidence import parties as party_service
from trace_api.evidence.schemas import (
    SignerKeyCreate,
    SignerKeyOut,
    SignerPartyCreate,
    SignerPartyOut,
)
from trace_api.models import EvidencePartyKey
from trace_api.roles import AdminOrDealer, AnyRole, BrandStaff, custody_view

router = APIRouter(tags=["evidence"])


@router.post(
    "/evidence/parties", status_code=201, response_model=SignerPartyOut, summary="Register a party"
)
def register_party(
    body: SignerPartyCreate, caller: BrandStaff, session: SessionDep
) -> SignerPartyOut:
    """An organisation of the tenant, or an outsider by name and unified social credit code."""
    party = party_service.register_party(
        session=session, tenant_id=caller.tenant_id, actor=caller.key_id, **body.model_dump()
    )
    return _party_out(party_service.PartyWithKeys(party, ()))


@router.get(
    "/evidence/parties", response_model=list[SignerPartyOut], summary="Parties and their keys"
)
def list_parties(caller: AnyRole, session: SessionDep) -> list[SignerPartyOut]:
    """The tenant's parties (a dealer key: its own organisation's), each with its keys."""
    found = party_service.list_parties(
        session=session, tenant_id=caller.tenant_id, viewer_org=custody_view(caller)
    )
    return [_party_out(p) for p in found]


@router.post(
    "/evidence/parties/{party_id}/keys",
    status_code=201,
    response_model=SignerKeyOut,
    summary="Register a party's SM2 public key",
)
def register_key(
    party_id: str, body: SignerKeyCreate, caller: AdminOrDealer, session: SessionDep
) -> SignerKeyOut:
    key = party_service.register_key(
        session=session,
        tenant_id=caller.tenant_id,
        party_id=party_id,
        public_key=body.public_key,
        actor=caller.key_id,
        viewer_org=custody_view(caller),
    )
    return _key_out(key)


@router.post(
    "/evidence/parties/{party_id}/keys/{key_id}/revoke",
    response_model=SignerKeyOut,
    summary="Revoke a party's key",
)
def revoke_key(
    party_id: str, key_id: str, caller: AdminOrDealer, session: SessionDep
) -> SignerKeyOut:
    """No signature arriving after this is taken under the key; earlier ones stand."""
    key = party_service.revoke_key(
        session=session,
        tenant_id=caller.tenant_id,
        party_id=party_id,
        key_id=key_id,
        actor=caller.key_id,
        viewer_org=custody_view(caller),
    )
    return _key_out(key)


def _party_out(found: party_service.PartyWithKeys) -> SignerPartyOut:
    party = found.party
    return SignerPartyOut(
        id=party.id,
        name=party.name,
        uscc=party.uscc,
        organisation_id=party.organisation_id,
        created_at=party.created_at,
        keys=[_key_out(k) for k in found.keys],
    )


def _key_out(key: EvidencePartyKey) -> SignerKeyOut:
    return SignerKeyOut(
        id=key.id,
        public_key=key.public_key,
        fingerprint=key.fingerprint,
        registered_at=key.registered_at,
        revoked_at=key.revoked_at,
    )
