"""What a captured event means for movements: its step, its parties' places, its point.

The vocabulary the engine (trace_api/movements/engine.py), the views and the scan API share:
GS1 Digital Link prefixes of the keys, the CBV business steps that move goods and the
status each leaves behind, and how an event's division and coordinates are read.
"""

from __future__ import annotations

from typing import Any

from trace_api.epcis import identifiers
from trace_api.epcis.events import PreparedEvent
from trace_api.movements.channel_view import ChannelView

ITEM_PREFIX = "https://id.gs1.org/01/"
SSCC_PREFIX = "https://id.gs1.org/00/"
TC_NAMESPACE = "https://tracechain.dev/ns/epcis#"
DIVISION_KEYS = ("tc:division", TC_NAMESPACE + "division")

STEPS = {
    "shipping": "ship",
    "receiving": "receive",
    "retail_selling": "sell",
    "commissioning": "commission",
    "packing": "pack",
    "unpacking": "unpack",
    "returning": "return",
    "destroying": "destroy",
    "decommissioning": "destroy",
}
STATUS = {
    "commission": "commissioned",
    "ship": "in_transit",
    "receive": "received",
    "sell": "sold",
    "return": "returned",
    "destroy": "destroyed",
}
# Steps after which the receiving party holds the goods: the custody they establish is
# what "the last authorised holder" looks back for.
HOLDING_STEPS = ("commission", "receive")


def first_party(event: dict[str, Any], name: str, member: str) -> str | None:
    entries = [e for e in event.get(name) or [] if isinstance(e, dict)]
    for wanted in ("owning_party", "possessing_party", "location", None):
        for entry in entries:
            kind = str(entry.get("type", ""))
            if (wanted is None or kind.endswith(wanted)) and isinstance(entry.get(member), str):
                return identifiers.canonical(entry[member])
    return None


def observed_division(view: ChannelView, prepared: PreparedEvent) -> str | None:
    """The division an event was observed in (docs/channels.md, "Parties in events")."""
    for key in DIVISION_KEYS:
        value = prepared.event.get(key)
        if isinstance(value, str) and len(value) == 6 and value.isdigit():
            return value
    return view.division_of(prepared.biz_location) or view.division_of(prepared.read_point)


def geo_point(prepared: PreparedEvent) -> tuple[float | None, float | None]:
    """Coordinates of a ``geo:lat,lon`` readPoint (as the scan API writes), if any."""
    where = prepared.read_point or ""
    if not where.startswith("geo:"):
        return None, None
    try:
        lat_text, lon_text = where[4:].split(";", 1)[0].split(",")[:2]
        return float(lat_text), float(lon_text)
    except ValueError:
        return None, None


def step_of(prepared: PreparedEvent) -> str:
    """The movement step an event is (ship, receive, sell, pack, unpack, ...)."""
    if prepared.event_type == "AggregationEvent":
        return {"ADD": "pack", "DELETE": "unpack"}.get(prepared.action or "", "observe")
    if prepared.action == "DELETE" and prepared.event_type == "ObjectEvent":
        return "destroy"
    return STEPS.get(prepared.biz_step or "", "observe")
