"""Tenants, their data keys, organisations and API keys.

Services never commit: the caller owns the transaction (one per request or job).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from stdnum.cn import uscc as uscc_number
from stdnum.exceptions import ValidationError as NumberInvalid

from crypto import envelope, sm4
from trace_api.audit import log as audit_log
from trace_api.errors import Conflict, InvalidInput, Unauthenticated
from trace_api.models import ApiKey, Organisation, Tenant, TenantKey, utcnow
from trace_api.owned import get_owned
from trace_api.principal import Principal as Principal  # re-exported: routes import it here

KEY_PREFIX = "trk"
ROLES = ("admin", "operator", "dealer", "compliance")


@dataclass(frozen=True)
class IssuedKey:
    """A freshly issued API key and its secret text, which is shown only once."""

    record: ApiKey
    text: str


def create_tenant(*, session: Session, master_key: bytes, name: str) -> tuple[Tenant, IssuedKey]:
    """A tenant with its first data key and its first admin API key."""
    name = name.strip()
    if not name:
        raise InvalidInput("tenant name must not be empty")
    if session.scalar(select(Tenant.id).where(Tenant.name == name)) is not None:
        raise Conflict(f"a tenant named {name!r} exists already")
    tenant = Tenant(name=name)
    session.add(tenant)
    session.flush()
    audit_log.start_log(session=session, tenant_id=tenant.id)
    audit_log.append(
        session=session, tenant_id=tenant.id, kind="tenant.created", data={"name": name}
    )
    rotate_data_key(session=session, master_key=master_key, tenant_id=tenant.id)
    admin = issue_api_key(session=session, tenant_id=tenant.id, role="admin", label="first admin")
    return tenant, admin


def get_tenant(*, session: Session, tenant_id: str) -> Tenant:
    """The caller's own tenant (a key's tenant is never deleted)."""
    tenant = session.get(Tenant, tenant_id)
    assert tenant is not None
    return tenant


def rotate_data_key(
    *, session: Session, master_key: bytes, tenant_id: str, actor: str = audit_log.SYSTEM
) -> TenantKey:
    """A new data key for the tenant, wrapped by the master key, active for new data.

    The keys before it stay readable (retired), so old data opens as before.
    """
    retired = []
    for current in session.scalars(
        select(TenantKey).where(TenantKey.tenant_id == tenant_id, TenantKey.status == "active")
    ):
        current.status = "retired"
        current.retired_at = utcnow()
        retired.append(current.key_id)
    key_id = f"dk-{secrets.token_hex(8)}"
    record = TenantKey(
        key_id=key_id,
        tenant_id=tenant_id,
        wrapped=envelope.wrap_data_key(master_key, key_id, sm4.generate_key()),
        status="active",
    )
    session.add(record)
    session.flush()
    audit_log.append(
        session=session,
        tenant_id=tenant_id,
        kind="data_key.rotated",
        actor=actor,
        data={"key_id": key_id, "retired": retired},
    )
    return record


def list_data_keys(*, session: Session, tenant_id: str) -> list[TenantKey]:
    """The tenant's data keys, newest first, shredded ones included (without material)."""
    query = select(TenantKey).where(TenantKey.tenant_id == tenant_id)
    return list(session.scalars(query.order_by(TenantKey.created_at.desc())))


def shred_data_key(
    *, session: Session, tenant_id: str, key_id: str, actor: str = audit_log.SYSTEM
) -> TenantKey:
    """Destroy a data key for good: its wrapped copy is deleted and its data unreadable."""
    record = get_owned(session, TenantKey, key_id, tenant_id=tenant_id, noun="data key")
    if record.status == "shredded":
        return record
    record.wrapped = None
    record.status = "shredded"
    record.shredded_at = utcnow()
    session.flush()
    audit_log.append(
        session=session,
        tenant_id=tenant_id,
        kind="data_key.shredded",
        actor=actor,
        data={"key_id": key_id},
    )
    return record


def tenant_keyring(*, session: Session, master_key: bytes, tenant_id: str) -> envelope.Keyring:
    """The tenant's data keys unwrapped: the active one seals, every live one opens."""
    records = list_data_keys(session=session, tenant_id=tenant_id)
    active = next((r.key_id for r in records if r.status == "active"), None)
    return envelope.Keyring.from_wrapped(
        master_key,
        {r.key_id: r.wrapped for r in records if r.wrapped is not None},
        active=active,
        shredded=[r.key_id for r in records if r.status == "shredded"],
    )


def issue_api_key(
    *,
    session: Session,
    tenant_id: str,
    role: str,
    organisation_id: str | None = None,
    label: str = "",
    created_by: str | None = None,
) -> IssuedKey:
    """A new API key bound to a tenant, a role and, for dealers, one organisation."""
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
    if role == "dealer":
        if organisation_id is None:
            raise InvalidInput("a dealer key must name its organisation_id")
        get_organisation(session=session, tenant_id=tenant_id, organisation_id=organisation_id)
    elif organisation_id is not None:
        raise InvalidInput("only dealer keys are bound to an organisation")
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    record = ApiKey(
        id=key_id,
        tenant_id=tenant_id,
        role=role,
        organisation_id=organisation_id,
        label=label,
        secret_hash=_secret_hash(secret),
        created_by=created_by,
    )
    session.add(record)
    session.flush()
    audit_log.append(
        session=session,
        tenant_id=tenant_id,
        kind="api_key.created",
        actor=created_by or audit_log.SYSTEM,
        organisation_id=organisation_id,
        data={"key_id": key_id, "role": role, "organisation_id": organisation_id, "label": label},
    )
    return IssuedKey(record=record, text=f"{KEY_PREFIX}_{key_id}_{secret}")


def authenticate(*, session: Session, key_text: str) -> Principal:
    """The principal behind a bearer key; Unauthenticated for anything else."""
    prefix, _, rest = key_text.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != KEY_PREFIX or len(key_id) != 16 or not secret:
        raise Unauthenticated("the API key is malformed")
    record = session.get(ApiKey, key_id)
    if record is None or not hmac.compare_digest(record.secret_hash, _secret_hash(secret)):
        raise Unauthenticated("the API key is not valid")
    if record.revoked_at is not None:
        raise Unauthenticated("the API key was revoked")
    return Principal(record.tenant_id, record.id, record.role, record.organisation_id)


def list_api_keys(*, session: Session, tenant_id: str) -> list[ApiKey]:
    """Every API key of the tenant, newest first, revoked ones included."""
    query = select(ApiKey).where(ApiKey.tenant_id == tenant_id)
    return list(session.scalars(query.order_by(ApiKey.created_at.desc(), ApiKey.id)))


def get_api_key(*, session: Session, tenant_id: str, key_id: str) -> ApiKey:
    """One of the tenant's keys; another tenant's key is NotFound, never Forbidden."""
    return get_owned(session, ApiKey, key_id, tenant_id=tenant_id, noun="API key")


def revoke_api_key(
    *, session: Session, tenant_id: str, key_id: str, actor: str = audit_log.SYSTEM
) -> ApiKey:
    """Revoke a key; the tenant's last active admin key cannot be revoked."""
    record = get_api_key(session=session, tenant_id=tenant_id, key_id=key_id)
    if record.revoked_at is not None:
        return record
    if record.role == "admin":
        active_admins = session.scalar(
            select(func.count())
            .select_from(ApiKey)
            .where(
                ApiKey.tenant_id == tenant_id,
                ApiKey.role == "admin",
                ApiKey.revoked_at.is_(None),
            )
        )
        if active_admins == 1:
            raise Conflict("this is the tenant's last active admin key")
    record.revoked_at = utcnow()
    session.flush()
    audit_log.append(
        session=session,
        tenant_id=tenant_id,
        kind="api_key.revoked",
        actor=actor,
        organisation_id=record.organisation_id,
        data={"key_id": key_id, "role": record.role},
    )
    return record


def create_organisation(
    *,
    session: Session,
    tenant_id: str,
    name: str,
    kind: str,
    parent_id: str | None = None,
    uscc: str | None = None,
    actor: str = audit_log.SYSTEM,
) -> Organisation:
    """An organisation of the tenant, optionally under a parent of the same tenant."""
    if parent_id is not None:
        get_organisation(session=session, tenant_id=tenant_id, organisation_id=parent_id)
    if uscc is not None:
        try:
            uscc = uscc_number.validate(uscc)
        except NumberInvalid as exc:
            raise InvalidInput(f"uscc {uscc!r} is not a valid unified social credit code") from exc
    record = Organisation(
        tenant_id=tenant_id, name=name.strip(), kind=kind, parent_id=parent_id, uscc=uscc
    )
    try:
        with session.begin_nested():
            session.add(record)
            session.flush()
    except IntegrityError as exc:
        raise Conflict(f"an organisation named {name!r} exists already") from exc
    audit_log.append(
        session=session,
        tenant_id=tenant_id,
        kind="organisation.created",
        actor=actor,
        organisation_id=record.id,
        data={
            "id": record.id,
            "name": record.name,
            "kind": kind,
            "parent_id": parent_id,
            "uscc": uscc,
        },
    )
    return record


def get_organisation(*, session: Session, tenant_id: str, organisation_id: str) -> Organisation:
    """One of the tenant's organisations; another tenant's is NotFound."""
    return get_owned(
        session, Organisation, organisation_id, tenant_id=tenant_id, noun="organisation"
    )


def list_organisations(*, session: Session, tenant_id: str) -> list[Organisation]:
    """The tenant's organisations by name."""
    query = select(Organisation).where(Organisation.tenant_id == tenant_id)
    return list(session.scalars(query.order_by(Organisation.name)))


def _secret_hash(secret: str) -> bytes:
    # Secrets are 256-bit random, so a plain hash resists guessing; no slow KDF needed.
    return hashlib.sha256(secret.encode()).digest()
