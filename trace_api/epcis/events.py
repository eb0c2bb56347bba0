"""Reading one captured event: its ids, times, query columns and the identifiers it names.

Nothing here touches the database; ``prepare`` turns an event as received into the row
values and index entries that capture stores.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from trace_api.epcis import hashing, identifiers

STANDARD_CONTEXTS = frozenset(
    {
        "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
        "https://gs1.github.io/EPCIS/epcis-context.jsonld",
    }
)
DEFAULT_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"

# Roles of identifiers in the index. Instance-level: epcList, childEPCs, parentID,
# inputEPCList, outputEPCList. Class-level: the epcClass of each quantity list.
INSTANCE_LISTS = {"epcList": "e", "childEPCs": "c", "inputEPCList": "i", "outputEPCList": "o"}
CLASS_LISTS = {
    "quantityList": "q",
    "childQuantityList": "cq",
    "inputQuantityList": "iq",
    "outputQuantityList": "oq",
}
INSTANCE_ROLES = ("e", "c", "p", "i", "o")
_FRACTION = re.compile(r"(\.\d{6})\d+")


class EventError(ValueError):
    """An event that is schema-valid but cannot be stored (the message says why)."""


def parse_time(text: str) -> datetime:
    """An RFC 3339 date-time as timezone-aware UTC (digits past microseconds dropped)."""
    value = datetime.fromisoformat(_FRACTION.sub(r"\1", text.strip()))
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone offset")
    return value.astimezone(UTC)


def format_time(value: datetime) -> str:
    """UTC in RFC 3339 with milliseconds and ``Z``, as EPCIS examples write it."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def context_text(context: Any) -> str | None:
    """The document's @context to keep beside its events; None for the plain standard one."""
    parts = context if isinstance(context, list) else [context]
    if all(isinstance(p, str) and p in STANDARD_CONTEXTS for p in parts):
        return None
    return json.dumps(context, ensure_ascii=False, separators=(",", ":"))


@dataclass
class PreparedEvent:
    """An event as received and everything capture derives from it."""

    index: int
    event: dict[str, Any]
    event_id: str
    generated_id: bool
    event_type: str
    action: str | None
    event_time: datetime
    biz_step: str | None
    disposition: str | None
    read_point: str | None
    biz_location: str | None
    declared_at: datetime | None
    digest: bytes
    content_key: bytes
    context: str | None
    body: str
    epcs: set[tuple[str, str]] = field(default_factory=set)
    parties: set[str] = field(default_factory=set)

    @property
    def items(self) -> list[str]:
        """The instance-level identifiers (canonical keys) the event is about."""
        return sorted({key for key, role in self.epcs if role in INSTANCE_ROLES})

    @property
    def is_declaration(self) -> bool:
        return self.declared_at is not None


def _place(event: dict[str, Any], name: str) -> str | None:
    value = event.get(name)
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return identifiers.canonical(value["id"])
    return None


def _vocab(event: dict[str, Any], name: str) -> str | None:
    value = event.get(name)
    return identifiers.cbv_term(value) if isinstance(value, str) else None


def _identifiers(event: dict[str, Any]) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for name, role in INSTANCE_LISTS.items():
        for value in event.get(name) or []:
            if isinstance(value, str):
                found.add((identifiers.canonical(value), role))
    if isinstance(event.get("parentID"), str):
        found.add((identifiers.canonical(event["parentID"]), "p"))
    for name, role in CLASS_LISTS.items():
        for element in event.get(name) or []:
            if isinstance(element, dict) and isinstance(element.get("epcClass"), str):
                found.add((identifiers.class_key(element["epcClass"]), role))
    return found


def _parties(event: dict[str, Any]) -> set[str]:
    found = {p for p in (_place(event, "bizLocation"), _place(event, "readPoint")) if p}
    for name, member in (("sourceList", "source"), ("destinationList", "destination")):
        for element in event.get(name) or []:
            if isinstance(element, dict) and isinstance(element.get(member), str):
                found.add(identifiers.canonical(element[member]))
    return found


def prepare(
    index: int, event: dict[str, Any], context: Any, stored_context: str | None
) -> PreparedEvent:
    """Everything capture stores for ``event``; EventError when it cannot be stored."""
    given = event.get("eventID")
    if isinstance(given, str) and given.strip():
        event_id, generated = given, False
    else:
        try:
            event_id, generated = hashing.event_hash_id(event, context), True
        except hashing.EventHashError as exc:
            raise EventError(f"no eventID given and {exc}") from exc
    try:
        event_time = parse_time(str(event.get("eventTime")))
    except ValueError as exc:
        raise EventError(f"eventTime: {exc}") from exc
    declaration = event.get("errorDeclaration")
    declared_at = None
    if isinstance(declaration, dict):
        try:
            declared_at = parse_time(str(declaration.get("declarationTime")))
        except ValueError as exc:
            raise EventError(f"errorDeclaration.declarationTime: {exc}") from exc
    action = event.get("action")
    try:
        digest = hashing.content_digest(event)
    except hashing.NotCanonical as exc:  # e.g. a quantity of 2**53 or more: not I-JSON
        raise EventError(str(exc)) from exc
    return PreparedEvent(
        index=index,
        event=event,
        event_id=event_id,
        generated_id=generated,
        event_type=str(event.get("type")),
        action=action if isinstance(action, str) else None,
        event_time=event_time,
        biz_step=_vocab(event, "bizStep"),
        disposition=_vocab(event, "disposition"),
        read_point=_place(event, "readPoint"),
        biz_location=_place(event, "bizLocation"),
        declared_at=declared_at,
        digest=digest,
        content_key=hashing.content_key(event),
        context=stored_context,
        body=json.dumps(event, ensure_ascii=False, separators=(",", ":")),
        epcs=_identifiers(event),
        parties=_parties(event),
    )
