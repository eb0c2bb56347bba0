"""Who may call what: the sets of roles a route admits, each named for whom it admits.

Every keyed route takes its caller as one of the aliases below, so the rule for an
operation is read in its signature, and a name means the same set everywhere (docs/security.md
says what each role may do; tests/api/test_api_role_matrix.py holds every operation to it).
A route narrows further only by what the caller owns (a dealer's organisation, custody).
The EPCIS binding uses the same aliases and answers a refusal in its own problem types
(trace_api/epcis/http.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from trace_api.deps import CurrentKey
from trace_api.errors import Forbidden
from trace_api.principal import Principal

ADMIN = "admin"
OPERATOR = "operator"
COMPLIANCE = "compliance"
DEALER = "dealer"
ROLES = (ADMIN, OPERATOR, COMPLIANCE, DEALER)


@dataclass(frozen=True)
class RoleSet:
    """The roles one kind of operation admits."""

    roles: tuple[str, ...]

    def admits(self, role: str) -> bool:
        return role in self.roles

    def refusal(self, role: str) -> str:
        """Why a key of ``role`` is refused, naming the roles that would do."""
        return f"this needs the {' or '.join(self.roles)} role; the key has {role}"


ADMIN_ONLY = RoleSet((ADMIN,))
"""Keys, organisations and the channel configuration, data keys, branding, witnesses."""
ADMIN_OR_OPERATOR = RoleSet((ADMIN, OPERATOR))
"""The brand's writers: products, batches, codes, labels, allocations, webhooks."""
AUDITORS = RoleSet((ADMIN, COMPLIANCE))
"""The audit log's checkpoints, exports and integrity, and scan recounts."""
BRAND_STAFF = RoleSet((ADMIN, OPERATOR, COMPLIANCE))
"""The brand's own people, who read the whole tenant and review alerts and flags."""
CUSTODIANS = RoleSet((ADMIN, OPERATOR, DEALER))
"""Who records custody: scans and EPCIS capture (a dealer for its own organisation)."""
ADMIN_OR_DEALER = RoleSet((ADMIN, DEALER))
"""Contract-proof parties' signing keys: the admin, or a dealer for its own party (so no
other brand key can give a dealer's party a key and sign as that dealer)."""

DEALER_ONLY = RoleSet((DEALER,))
"""What only a buyer does: accepting its 专票, confirming or refusing a red-letter
confirmation (for its own organisation)."""

ANY_ROLE = RoleSet(ROLES)
"""Every key of the tenant (a dealer's view narrowed to its custody by the service)."""


def custody_view(principal: Principal) -> str | None:
    """The organisation a dealer key sees the goods and alerts of; None for the brand's
    own keys, which see the whole tenant."""
    return principal.organisation_id if principal.role == DEALER else None


def admitting(role_set: RoleSet) -> Callable[[Principal], Principal]:
    """A dependency letting through the callers whose role ``role_set`` admits (403 for
    the others, 401 without a valid key)."""

    def check(principal: CurrentKey) -> Principal:
        if not role_set.admits(principal.role):
            raise Forbidden(role_set.refusal(principal.role))
        return principal

    return check


AdminOnly = Annotated[Principal, Depends(admitting(ADMIN_ONLY))]
AdminOrOperator = Annotated[Principal, Depends(admitting(ADMIN_OR_OPERATOR))]
Auditors = Annotated[Principal, Depends(admitting(AUDITORS))]
BrandStaff = Annotated[Principal, Depends(admitting(BRAND_STAFF))]
Custodians = Annotated[Principal, Depends(admitting(CUSTODIANS))]
AdminOrDealer = Annotated[Principal, Depends(admitting(ADMIN_OR_DEALER))]
DealerOnly = Annotated[Principal, Depends(admitting(DEALER_ONLY))]
AnyRole = Annotated[Principal, Depends(admitting(ANY_ROLE))]
