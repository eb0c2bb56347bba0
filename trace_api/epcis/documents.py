"""Events as a query returns them, wrapped in an EPCISQueryDocument.

Each event is the stored JSON unchanged, plus what the standard says a repository adds:
``recordTime`` (set at capture; a value sent by the capturing client is replaced, as
EPCIS requires it be ignored) and ``eventID`` where the document gave none (the event hash
ID). The document's ``@context`` is the standard context plus the extra terms of the
captured documents the events came from; an event whose terms clash with another's
carries its own document's ``@context``.
"""

from __future__ import annotations

import json
from typing import Any

from trace_api.epcis.events import DEFAULT_CONTEXT, format_time
from trace_api.models import utcnow

SCHEMA_VERSION = "2.0"


def event_out(row: Any, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """The event as a query returns it (``row``: an EpcisEvent or a row with its columns)."""
    event = dict(body) if body is not None else json.loads(row.body)
    event["recordTime"] = format_time(row.record_time)
    if row.event_id_generated:
        event["eventID"] = row.event_id
    return event


def _parts(context: Any) -> list[Any]:
    return context if isinstance(context, list) else [context]


def query_document(
    rows: list[Any],
    bodies: dict[int, dict[str, Any]] | None = None,
    *,
    query_name: str = "SimpleEventQuery",
    subscription_id: str | None = None,
) -> dict[str, Any]:
    """An EPCISQueryDocument holding ``rows`` in order."""
    bodies = bodies or {}
    context: list[Any] = [DEFAULT_CONTEXT]
    terms: dict[str, Any] = {}
    events = []
    for row in rows:
        event = event_out(row, bodies.get(row.id))
        if row.context is not None and "@context" not in event:
            extra = [p for p in _parts(json.loads(row.context)) if p != DEFAULT_CONTEXT]
            mappings = {k: v for p in extra if isinstance(p, dict) for k, v in p.items()}
            if any(k in terms and terms[k] != v for k, v in mappings.items()):
                event["@context"] = json.loads(row.context)
            else:
                terms.update(mappings)
                context.extend(p for p in extra if isinstance(p, str) and p not in context)
        events.append(event)
    if terms:
        context.append(terms)
    results: dict[str, Any] = {"queryName": query_name}
    if subscription_id is not None:
        results["subscriptionID"] = subscription_id
    results["resultsBody"] = {"eventList": events}
    return {
        "@context": context,
        "type": "EPCISQueryDocument",
        "schemaVersion": SCHEMA_VERSION,
        "creationDate": format_time(utcnow()),
        "epcisBody": {"queryResults": results},
    }


def collection(members: list[str], context: Any = DEFAULT_CONTEXT) -> dict[str, Any]:
    """A JSON-LD ``Collection`` of resource names or URIs (discovery responses)."""
    return {"@context": context, "type": "Collection", "member": members}
