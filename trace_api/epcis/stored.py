"""What capture stored, and the outlet through which the domains above EPCIS hear of it.

Capture knows nothing of what consumes its events (the movements engine, with its route
checks). It calls an :class:`OnStored` hook in its own transaction, after custody and
before subscriptions are queued, with the events it stored; the hook is chosen where the
application is composed (trace_api/app.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session

from trace_api.epcis.events import PreparedEvent


@dataclass(frozen=True)
class Capturer:
    """Who captures: the tenant, the API key, and the dealer's organisation if any.

    ``route_checks`` turns the route rules of docs/channels.md on or off for this capture;
    None follows the process settings (``TRACE_ROUTE_CHECKS``). Capture passes it on to
    the hook, which applies the rules.
    """

    tenant_id: str
    key_id: str
    organisation_id: str | None
    route_checks: bool | None = None


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event capture stored: its row id, what was captured, its audit log entry."""

    pk: int
    prepared: PreparedEvent
    audit_seq: int | None


class OnStored(Protocol):
    """Called once per capture that stored events, inside the capture's transaction.

    What it writes belongs to that transaction; it never commits.
    """

    def __call__(
        self, *, session: Session, capturer: Capturer, events: Sequence[StoredEvent]
    ) -> None: ...
