"""What an organisation holds for itself and what it inherits down the channel tree.

Territories and product scopes are kept per organisation; one that has none of its own
takes those of its nearest ancestor that has some (docs/channels.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from trace_api.models import ChannelProductScope, ChannelTerritory, Organisation


@dataclass(frozen=True)
class Inherited:
    """What applies to an organisation: its own values or its nearest ancestor's."""

    values: list[str]
    source: str | None  # the organisation they come from; None when there are none anywhere


def organisations(*, session: Session, tenant_id: str) -> dict[str, Organisation]:
    """The tenant's organisations by id."""
    rows = session.scalars(select(Organisation).where(Organisation.tenant_id == tenant_id))
    return {org.id: org for org in rows}


def inherited(
    own: Mapping[str, Sequence[str]], parents: Mapping[str, str | None], organisation_id: str
) -> Inherited:
    """The values of the organisation, else of its nearest ancestor that has some."""
    current: str | None = organisation_id
    seen: set[str] = set()
    while current is not None and current not in seen:
        seen.add(current)
        if own.get(current):
            return Inherited(sorted(own[current]), current)
        current = parents.get(current)
    return Inherited([], None)


def replace_own_rows(
    session: Session,
    model: type[ChannelTerritory] | type[ChannelProductScope],
    tenant_id: str,
    organisation_id: str,
    column: str,
    values: Sequence[str],
) -> None:
    """Make ``values`` the organisation's whole set of ``model`` rows."""
    session.execute(delete(model).where(model.organisation_id == organisation_id))
    if values:
        session.execute(
            insert(model),
            [
                {"tenant_id": tenant_id, "organisation_id": organisation_id, column: value}
                for value in values
            ],
        )
