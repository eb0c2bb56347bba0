"""The working state of the movements engine over one capture.

The engine (trace_api/movements/engine.py) reads what it needs of the goods once per
capture (trace_api/movements/containers.py), applies each event to it in memory, and
writes the result in bulk; breaches found on the way are gathered by
trace_api/movements/breaches.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from trace_api.alerts import service as alerts_service
from trace_api.movements.channel_view import ChannelView, Grant
from trace_api.movements.item_state import State


@dataclass(frozen=True, slots=True)
class Group:
    """Items inside one container with one GTIN and batch, read as a count."""

    parent: str
    gtin: str | None
    batch: str | None
    count: int


@dataclass
class CaptureRun:
    """The working state of one engine run."""

    session: Session
    tenant_id: str
    view: ChannelView
    checks: bool
    states: dict[str, State] = field(default_factory=dict)
    # What the rules need of goods inside named containers: kind, GTIN, batch, parent.
    contents: dict[str, tuple[str, str | None, str | None, str | None]] = field(
        default_factory=dict
    )
    originals: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    children: dict[str, list[str]] = field(default_factory=dict)
    # Items inside containers read by group (parent, GTIN, batch), not one by one.
    groups: dict[str, list[Group]] = field(default_factory=dict)
    # Named containers whose goods are all judged as the container is (see _uniform).
    uniform: set[str] = field(default_factory=set)
    grants: dict[str, Grant] = field(default_factory=dict)
    container_grants: dict[str, Grant | None] = field(default_factory=dict)
    times: dict[str, datetime] = field(default_factory=dict)

    @staticmethod
    def read_time(stored: str) -> datetime:
        """A stored item_states.updated_at (SQLite: ISO text in UTC) as an aware datetime."""
        value = datetime.fromisoformat(stored)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    authorised: dict[str, str | None] = field(default_factory=dict)
    last_shipment: dict[str, int] = field(default_factory=dict)
    movements: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[alerts_service.NewAlert] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Before:
    """A named key's state before the step: what the goods inside it move from."""

    holder: str | None
    shipped_to: str | None
    status: str | None
    last: int | None
