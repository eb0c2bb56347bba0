"""Who signs contract proofs, and the SM2 public keys their signatures verify under.

A party is an organisation of the tenant (its name and USCC come from the organisation),
or an outsider named by name and unified social credit code (checked with
``stdnum.cn.uscc``). A party holds any number of keys; a revoked key stays on record (the
signatures it made before stand) but no signature arriving after its revocation is taken.

``viewer_org`` is a dealer key's organisation: such a caller sees and changes only its
own organisation's party, and every other party is NotFound to it.

Services never commit: the caller owns the transaction (one per request or job).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from stdnum.cn import uscc as uscc_number
from stdnum.exceptions import ValidationError as NumberInvalid

from compliance.credit_code import is_valid_credit_code
from compliance.evidence.statement import key_fingerprint
from crypto import sm2
from crypto.errors import CryptoError
from trace_api.audit import log as audit_log
from trace_api.errors import Conflict, InvalidInput, NotFound
from trace_api.models import EvidenceParty, EvidencePartyKey, Organisation, utcnow
from trace_api.owned import get_owned

PARTY_REGISTERED = "evidence.party_registered"
KEY_REGISTERED = "evidence.key_registered"
KEY_REVOKED = "evidence.key_revoked"


@dataclass(frozen=True)
class PartyWithKeys:
    """A party and every key it registered, oldest first, revoked ones included."""

    party: EvidenceParty
    keys: tuple[EvidencePartyKey, ...]


def normal_uscc(text: str) -> str:
    """``text`` as a unified social credit code in its 18-character form; InvalidInput if
    it is none."""
    try:
        code = str(uscc_number.validate(text))
    except NumberInvalid as exc:
        raise InvalidInput(f"uscc {text!r} is not a valid unified social credit code") from exc
    if not is_valid_credit_code(code):
        raise InvalidInput(f"uscc {text!r} is not a valid unified social credit code")
    return code


def register_party(
    *,
    session: Session,
    tenant_id: str,
    actor: str,
    organisation_id: str | None = None,
    name: str | None = None,
    uscc: str | None = None,
) -> EvidenceParty:
    """A new party: the tenant's organisation ``organisation_id``, or an outsider by
    ``name`` and ``uscc``; 409 when that organisation or code has a party already."""
    if organisation_id is not None:
        if name is not None or uscc is not None:
            raise InvalidInput("an organisation's party takes its name and uscc from it")
        org = get_owned(
            session, Organisation, organisation_id, tenant_id=tenant_id, noun="organisation"
        )
        record = EvidenceParty(
            tenant_id=tenant_id, name=org.name, uscc=org.uscc, organisation_id=org.id
        )
    else:
        if name is None or not name.strip() or uscc is None:
            raise InvalidInput("an outside party needs a name and a uscc (or an organisation_id)")
        code = normal_uscc(uscc)
        owner = session.scalar(
            select(Organisation.name).where(
                Organisation.tenant_id == tenant_id, Organisation.uscc == code
            )
        )
        if owner is not None:
            raise Conflict(f"uscc {code} is {owner}'s: register that organisation's party")
        record = EvidenceParty(tenant_id=tenant_id, name=name.strip(), uscc=code)
    try:
        with session.begin_nested():
            session.add(record)
            session.flush()
    except IntegrityError:
        who = f"organisation {organisation_id}" if organisation_id else f"uscc {record.uscc}"
        raise Conflict(f"{who} has a party already") from None
    audit_log.append(
        session=session,
        tenant_id=tenant_id,
        kind=PARTY_REGISTERED,
        actor=actor,
        organisation_id=record.organisation_id,
        data={
            "party": record.id,
            "name": record.name,
            "uscc": record.uscc,
            "organisation": record.organisation_id,
        },
    )
    return record


def get_party(
    *, session: Session, tenant_id: str, party_id: str, viewer_org: str | None = None
) -> EvidenceParty:
    """One of the tenant's parties (for a dealer, only its own organisation's)."""
    party = get_owned(session, EvidenceParty, party_id, tenant_id=tenant_id, noun="party")
    if viewer_org is not None and party.organisation_id != viewer_org:
        raise NotFound(f"no party {party_id}")
    return party


def list_parties(
    *, session: Session, tenant_id: str, viewer_org: str | None = None
) -> list[PartyWithKeys]:
    """The tenant's parties by name, each with its keys."""
    query = select(EvidenceParty).where(EvidenceParty.tenant_id == tenant_id)
    if viewer_org is not None:
        query = query.where(EvidenceParty.organisation_id == viewer_org)
    parties = list(session.scalars(query.order_by(EvidenceParty.name, EvidenceParty.id)))
    keys = keys_of(session, [p.id for p in parties])
    return [PartyWithKeys(p, tuple(keys.get(p.id, ()))) for p in parties]


def keys_of(session: Session, party_ids: Iterable[str]) -> dict[str, list[EvidencePartyKey]]:
    """The keys of each party, oldest first."""
    ids = list(party_ids)
    found: dict[str, list[EvidencePartyKey]] = {}
    if not ids:
        return found
    query = select(EvidencePartyKey).where(EvidencePartyKey.party_id.in_(ids))
    for key in session.scalars(query.order_by(EvidencePartyKey.registered_at)):
        found.setdefault(key.party_id, []).append(key)
    return found


MAX_LIVE_KEYS = 5  # per party; each is tried on every signature the party sends
_GENERATOR_X = sm2.PrivateKey(1).public_key.hex()[2:66]


def parse_public_key(text: str) -> str:
    """A public key given as hex of ``04 || x || y`` (65 bytes, on the SM2 curve), as
    lowercase hex; InvalidInput for anything else."""
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise InvalidInput("public_key must be hex (130 digits: 04, then x and y)") from None
    try:
        key = sm2.PublicKey.from_bytes(raw).hex()
    except CryptoError as exc:
        raise InvalidInput(f"public_key: {exc}") from None
    if key[2:66] == _GENERATOR_X:
        raise InvalidInput("public_key is ±G, whose private key (1 or n-1) everyone knows")
    return key


def register_key(
    *,
    session: Session,
    tenant_id: str,
    party_id: str,
    public_key: str,
    actor: str,
    viewer_org: str | None = None,
) -> EvidencePartyKey:
    """A new key of the party; 409 if the tenant knows that key already (of any party) or
    the party has MAX_LIVE_KEYS live keys."""
    party = get_party(
        session=session, tenant_id=tenant_id, party_id=party_id, viewer_org=viewer_org
    )
    key_hex = parse_public_key(public_key)
    _lock_party(session, party.id)
    live = session.scalar(
        select(func.count())
        .select_from(EvidencePartyKey)
        .where(EvidencePartyKey.party_id == party.id, EvidencePartyKey.revoked_at.is_(None))
    )
    if (live or 0) >= MAX_LIVE_KEYS:
        raise Conflict(
            f"party {party.id} has {MAX_LIVE_KEYS} live keys, the most it may have: revoke "
            "one first"
        )
    record = EvidencePartyKey(
        tenant_id=tenant_id,
        party_id=party.id,
        public_key=key_hex,
        fingerprint=key_fingerprint(key_hex),
    )
    try:
        with session.begin_nested():
            session.add(record)
            session.flush()
    except IntegrityError:
        raise Conflict(f"key {record.fingerprint} is registered already") from None
    audit_log.append(
        session=session,
        tenant_id=tenant_id,
        kind=KEY_REGISTERED,
        actor=actor,
        organisation_id=party.organisation_id,
        data={"party": party.id, "key": record.id, "fingerprint": record.fingerprint},
    )
    return record


def _lock_party(session: Session, party_id: str) -> None:
    """Take the party's row lock (PostgreSQL) or the write lock (SQLite) for the rest of the
    transaction, so that two registrations at once count each other's keys."""
    session.execute(
        update(EvidenceParty)
        .where(EvidenceParty.id == party_id)
        .values(name=EvidenceParty.name)
        .execution_options(synchronize_session=False)
    )


def revoke_key(
    *,
    session: Session,
    tenant_id: str,
    party_id: str,
    key_id: str,
    actor: str,
    viewer_org: str | None = None,
) -> EvidencePartyKey:
    """Revoke one of the party's keys (once: revoking it again changes nothing)."""
    party = get_party(
        session=session, tenant_id=tenant_id, party_id=party_id, viewer_org=viewer_org
    )
    key = session.get(EvidencePartyKey, key_id)
    if key is None or key.party_id != party.id:
        raise NotFound(f"no key {key_id} of party {party_id}")
    if key.revoked_at is not None:
        return key
    key.revoked_at = utcnow()
    session.flush()
    audit_log.append(
        session=session,
        tenant_id=tenant_id,
        kind=KEY_REVOKED,
        actor=actor,
        organisation_id=party.organisation_id,
        data={"party": party.id, "key": key.id, "fingerprint": key.fingerprint},
    )
    return key
