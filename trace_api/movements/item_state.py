"""One key's row of ``item_states`` as the engine and the path views work on it."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any


@dataclass(slots=True)
class State:
    """Where a key (item, case or pallet) is and who holds it, as of its last event.

    The fields are the columns of ``item_states`` past its key, in table order, so a row
    read with :data:`COLUMNS` builds one positionally.
    """

    kind: str
    gtin: str | None = None
    batch_id: str | None = None
    status: str | None = None
    holder_org: str | None = None
    shipped_to_org: str | None = None
    location: str | None = None
    division_code: str | None = None
    parent: str | None = None
    last_event_pk: int | None = None
    updated_at: datetime | None = None

    def values(self) -> tuple[Any, ...]:
        """The values in :data:`COLUMNS` order (to compare with, or to write)."""
        return (
            self.kind,
            self.gtin,
            self.batch_id,
            self.status,
            self.holder_org,
            self.shipped_to_org,
            self.location,
            self.division_code,
            self.parent,
            self.last_event_pk,
            self.updated_at,
        )

    def columns(self) -> dict[str, Any]:
        """The values by column name."""
        return dict(zip(COLUMNS, self.values(), strict=True))

    def is_newer(self, than: State) -> bool:
        """Whether this state was moved after ``than``."""
        if self.updated_at is None:
            return False
        if than.updated_at is None:
            return True
        return (self.updated_at, self.last_event_pk or 0) > (
            than.updated_at,
            than.last_event_pk or 0,
        )


COLUMNS = tuple(f.name for f in fields(State))  # item_states columns, in State's order
