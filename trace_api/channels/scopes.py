"""Product scopes: the GTINs and product groups an organisation may handle, its own or
inherited down the tree (docs/channels.md).

Services never commit: the caller owns the transaction (one per request or job).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from trace_api.audit import log as audit_log
from trace_api.channels.inheritance import Inherited, inherited, organisations, replace_own_rows
from trace_api.channels.visibility import check_readable
from trace_api.codes import service as codes_service
from trace_api.codes.errors import InvalidGtin
from trace_api.codes.gs1 import normalise_gtin
from trace_api.errors import InvalidInput
from trace_api.models import ChannelProductScope
from trace_api.tenancy import service as tenancy_service

GROUP_PREFIX = "group:"


def scopes_by_org(*, session: Session, tenant_id: str) -> dict[str, list[str]]:
    """Every organisation's own product scopes (GTIN-14 or group:{name})."""
    out: dict[str, list[str]] = {}
    rows = session.execute(
        select(ChannelProductScope.organisation_id, ChannelProductScope.scope).where(
            ChannelProductScope.tenant_id == tenant_id
        )
    )
    for org_id, scope in rows:
        out.setdefault(org_id, []).append(scope)
    return out


def get_product_scopes(
    *, session: Session, tenant_id: str, organisation_id: str, viewer_org: str | None = None
) -> tuple[list[str], Inherited]:
    """An organisation's own product scopes and the effective ones (a dealer's own only)."""
    check_readable(viewer_org=viewer_org, organisation_id=organisation_id)
    tenancy_service.get_organisation(
        session=session, tenant_id=tenant_id, organisation_id=organisation_id
    )
    own = scopes_by_org(session=session, tenant_id=tenant_id)
    parents = {
        org_id: org.parent_id
        for org_id, org in organisations(session=session, tenant_id=tenant_id).items()
    }
    return sorted(own.get(organisation_id, [])), inherited(own, parents, organisation_id)


def set_product_scopes(
    *,
    session: Session,
    tenant_id: str,
    organisation_id: str,
    gtins: Sequence[str],
    groups: Sequence[str],
    actor: str,
) -> list[str]:
    """Replace an organisation's product scopes; GTINs are checked and stored as GTIN-14."""
    tenancy_service.get_organisation(
        session=session, tenant_id=tenant_id, organisation_id=organisation_id
    )
    problems = []
    scopes: list[str] = []
    for gtin in gtins:
        try:
            scopes.append(normalise_gtin(gtin))
        except InvalidGtin as exc:
            problems.append({"gtin": gtin, "reason": exc.detail})
    if problems:
        raise InvalidInput(
            "invalid GTINs: " + "; ".join(f"{p['gtin']!r} ({p['reason']})" for p in problems),
            invalid=problems,
        )
    scopes.extend(GROUP_PREFIX + codes_service.product_group_name(g) for g in groups)
    stored = sorted(set(scopes))
    previous = sorted(
        session.scalars(
            select(ChannelProductScope.scope).where(
                ChannelProductScope.organisation_id == organisation_id
            )
        )
    )
    if previous == stored:
        return stored
    replace_own_rows(session, ChannelProductScope, tenant_id, organisation_id, "scope", stored)
    audit_log.append(
        session=session,
        tenant_id=tenant_id,
        kind="channel.product_scopes_set",
        actor=actor,
        organisation_id=organisation_id,
        data={"organisation_id": organisation_id, "scopes": stored, "previous": previous},
    )
    return stored


def split_scopes(scopes: Iterable[str]) -> tuple[list[str], list[str]]:
    """(GTINs, group names) of a list of stored scopes."""
    gtins, groups = [], []
    for scope in sorted(scopes):
        if scope.startswith(GROUP_PREFIX):
            groups.append(scope.removeprefix(GROUP_PREFIX))
        else:
            gtins.append(scope)
    return gtins, groups
