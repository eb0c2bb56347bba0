"""Invoice profiles of a tenant's organisations: what an invoice prints of them beyond
their name and credit code, and the division whose province numbers an issuer's invoices."""

from __future__ import annotations

from sqlalchemy.orm import Session

from compliance.errors import InvalidInvoice
from compliance.invoice.number import province_of
from trace_api.audit import log as audit_log
from trace_api.errors import InvalidInput, NotFound
from trace_api.models import InvoiceProfile, Organisation, utcnow
from trace_api.owned import get_owned

PROFILE_SET = "invoice.profile_set"


def set_profile(
    *,
    session: Session,
    tenant_id: str,
    organisation_id: str,
    actor: str,
    division_code: str,
    address: str = "",
    phone: str = "",
    bank: str = "",
    account: str = "",
    channel: int = 2,
) -> InvoiceProfile:
    """Create or replace the organisation's profile (logged)."""
    get_owned(session, Organisation, organisation_id, tenant_id=tenant_id, noun="organisation")
    try:
        province_of(division_code)
    except InvalidInvoice as exc:
        raise InvalidInput(f"division_code: {exc}") from None
    profile = session.get(InvoiceProfile, organisation_id)
    if profile is None:
        profile = InvoiceProfile(organisation_id=organisation_id, tenant_id=tenant_id)
        session.add(profile)
    profile.division_code, profile.address, profile.phone = division_code, address, phone
    profile.bank, profile.account, profile.channel = bank, account, channel
    profile.updated_at = utcnow()
    session.flush()
    audit_log.append(
        session=session,
        tenant_id=tenant_id,
        kind=PROFILE_SET,
        actor=actor,
        organisation_id=organisation_id,
        data={"organisation": organisation_id, "division_code": division_code, "channel": channel},
    )
    return profile


def get_profile(*, session: Session, tenant_id: str, organisation_id: str) -> InvoiceProfile:
    get_owned(session, Organisation, organisation_id, tenant_id=tenant_id, noun="organisation")
    profile = session.get(InvoiceProfile, organisation_id)
    if profile is None:
        raise NotFound(f"organisation {organisation_id} has no invoice profile")
    return profile
