"""EPCIS query parameters (the SimpleEventQuery names) read into an ``EventQuery``.

Parameters come from a URL query string (lists pipe-delimited, as GS1's OpenAPI document
says) or from a named query's JSON. Those with a column or an index behind them become SQL
conditions; the rest (sensor data, quantities, error reasons, ...) are ``checks``: Python
predicates over the stored event, applied while paging. An unknown parameter or a value
of the wrong shape raises QueryParameterError.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from trace_api.epcis import identifiers
from trace_api.epcis.errors import QueryParameterError
from trace_api.epcis.events import parse_time

Check = Callable[[dict[str, Any]], bool]
# MATCH_* parameter -> the index roles it looks at (trace_api/epcis/events.py).
EPC_MATCHES: dict[str, tuple[str, ...]] = {
    "MATCH_epc": ("e", "c"),
    "MATCH_parentID": ("p",),
    "MATCH_inputEPC": ("i",),
    "MATCH_outputEPC": ("o",),
    "MATCH_anyEPC": ("e", "c", "p", "i", "o"),
    "MATCH_epcClass": ("q", "cq"),
    "MATCH_inputEPCClass": ("iq",),
    "MATCH_outputEPCClass": ("oq",),
    "MATCH_anyEPCClass": ("q", "cq", "iq", "oq"),
}
_ORDER_FIELDS = {"eventTime": "eventTime", "recordTime": "recordTime"}
_ORDER_FIELDS.update({f"https://ref.gs1.org/epcis/{k}": k for k in list(_ORDER_FIELDS)})
# Parameters that steer paging or subscriptions, not the selection.
PAGING = frozenset({"perPage", "nextPageToken"})


@dataclass
class EventQuery:
    """A parsed SimpleEventQuery: SQL-able conditions, Python checks, order and limits."""

    event_types: list[str] = field(default_factory=list)
    times: dict[str, datetime] = field(default_factory=dict)  # GE_/LT_ eventTime, recordTime
    actions: list[str] = field(default_factory=list)
    biz_steps: list[str] = field(default_factory=list)
    dispositions: list[str] = field(default_factory=list)
    read_points: list[str] = field(default_factory=list)
    biz_locations: list[str] = field(default_factory=list)
    event_ids: list[str] = field(default_factory=list)
    epc_matches: list[tuple[tuple[str, ...], list[identifiers.Match]]] = field(default_factory=list)
    declared: bool | None = None
    declaration_times: dict[str, datetime] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    order_by: str | None = None
    descending: bool = False
    event_count_limit: int | None = None
    max_event_count: int | None = None


def _values(raw: Any, name: str) -> list[str]:
    items = raw if isinstance(raw, list) else [raw]
    out: list[str] = []
    for item in items:
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, str | int | float):
            out.append(str(item))
        else:
            raise QueryParameterError(f"{name}: expected strings, got {type(item).__name__}")
    if not out:
        raise QueryParameterError(f"{name}: give at least one value")
    return out


def _one(raw: Any, name: str) -> str:
    values = _values(raw, name)
    if len(values) != 1:
        raise QueryParameterError(f"{name}: give exactly one value")
    return values[0]


def _time(raw: Any, name: str) -> datetime:
    text = _one(raw, name)
    try:
        return parse_time(text)
    except ValueError:
        raise QueryParameterError(f"{name}: {text!r} is not a date-time with a zone") from None


def _number(raw: Any, name: str) -> float:
    text = _one(raw, name)
    try:
        return float(text)
    except ValueError:
        raise QueryParameterError(f"{name}: {text!r} is not a number") from None


def _bool(raw: Any, name: str) -> bool:
    text = _one(raw, name).lower()
    if text not in ("true", "false"):
        raise QueryParameterError(f"{name}: expected true or false")
    return text == "true"


def _positive(raw: Any, name: str) -> int:
    text = _one(raw, name)
    try:
        value = int(text)
    except ValueError:
        raise QueryParameterError(f"{name}: {text!r} is not an integer") from None
    if value < 1:
        raise QueryParameterError(f"{name}: must be at least 1")
    return value


# -- checks on the stored event ---------------------------------------------------------


def _list(node: Any) -> list[Any]:
    return node if isinstance(node, list) else [] if node is None else [node]


def _sensor_parts(event: dict[str, Any], part: str) -> Iterable[dict[str, Any]]:
    for element in _list(event.get("sensorElementList")):
        if not isinstance(element, dict):
            continue
        if part == "sensorMetadata":
            meta = element.get("sensorMetadata")
            if isinstance(meta, dict):
                yield meta
        else:
            yield from (r for r in _list(element.get("sensorReport")) if isinstance(r, dict))


def _measurement(value: str) -> str:
    for prefix in ("gs1:", "https://gs1.org/voc/"):
        value = value.removeprefix(prefix)
    return value


def _field_in(
    parts: tuple[str, ...], member: str, wanted: set[str], normal: Callable[[str], str] = str
) -> Check:
    def check(event: dict[str, Any]) -> bool:
        for part in parts:
            for node in _sensor_parts(event, part):
                value = node.get(member)
                if isinstance(value, bool):
                    value = "true" if value else "false"
                if isinstance(value, str) and normal(value) in wanted:
                    return True
        return False

    return check


def _sensor_time(member: str, bound: datetime, lower: bool) -> Check:
    def check(event: dict[str, Any]) -> bool:
        for meta in _sensor_parts(event, "sensorMetadata"):
            text = meta.get(member)
            try:
                when = parse_time(text) if isinstance(text, str) else None
            except ValueError:
                continue
            if when is not None and (when >= bound if lower else when < bound):
                return True
        return False

    return check


def _quantity(op: str, bound: float) -> Check:
    compare: dict[str, Callable[[float], bool]] = {
        "EQ": lambda q: q == bound,
        "GT": lambda q: q > bound,
        "GE": lambda q: q >= bound,
        "LT": lambda q: q < bound,
        "LE": lambda q: q <= bound,
    }

    def check(event: dict[str, Any]) -> bool:
        for name in (
            "quantityList",
            "childQuantityList",
            "inputQuantityList",
            "outputQuantityList",
        ):
            for element in _list(event.get(name)):
                q = element.get("quantity") if isinstance(element, dict) else None
                if isinstance(q, int | float) and compare[op](float(q)):
                    return True
        return False

    return check


def _top(member: str, wanted: set[str]) -> Check:
    return lambda event: event.get(member) in wanted


def _persistent(which: str, wanted: set[str]) -> Check:
    def check(event: dict[str, Any]) -> bool:
        node = event.get("persistentDisposition")
        values = _list(node.get(which)) if isinstance(node, dict) else []
        return any(isinstance(v, str) and identifiers.cbv_term(v) in wanted for v in values)

    return check


def _declaration(member: str, wanted: set[str]) -> Check:
    def check(event: dict[str, Any]) -> bool:
        node = event.get("errorDeclaration")
        if not isinstance(node, dict):
            return False
        values = _list(node.get(member))
        return any(isinstance(v, str) and identifiers.cbv_term(v) in wanted for v in values)

    return check


_SENSOR_FIELDS: dict[str, tuple[tuple[str, ...], str, Callable[[str], str]]] = {
    "EQ_type": (("sensorReport",), "type", _measurement),
    "EQ_deviceID": (("sensorMetadata", "sensorReport"), "deviceID", str),
    "EQ_dataProcessingMethod": (("sensorMetadata", "sensorReport"), "dataProcessingMethod", str),
    "EQ_microorganism": (("sensorReport",), "microorganism", str),
    "EQ_chemicalSubstance": (("sensorReport",), "chemicalSubstance", str),
    "EQ_bizRules": (("sensorMetadata",), "bizRules", str),
    "EQ_stringValue": (("sensorReport",), "stringValue", str),
    "EQ_hexBinaryValue": (("sensorReport",), "hexBinaryValue", str.lower),
    "EQ_uriValue": (("sensorReport",), "uriValue", str),
}


def _add(query: EventQuery, name: str, raw: Any) -> None:
    if name == "eventType":
        query.event_types = _values(raw, name)
    elif name in ("GE_eventTime", "LT_eventTime", "GE_recordTime", "LT_recordTime"):
        query.times[name] = _time(raw, name)
    elif name == "EQ_action":
        query.actions = _values(raw, name)
        if bad := [a for a in query.actions if a not in ("ADD", "OBSERVE", "DELETE")]:
            raise QueryParameterError(f"EQ_action: {bad[0]!r} is not ADD, OBSERVE or DELETE")
    elif name == "EQ_bizStep":
        query.biz_steps = [identifiers.cbv_term(v) for v in _values(raw, name)]
    elif name == "EQ_disposition":
        query.dispositions = [identifiers.cbv_term(v) for v in _values(raw, name)]
    elif name in ("EQ_readPoint", "WD_readPoint"):  # no location hierarchy: WD_ is EQ_
        query.read_points += [identifiers.canonical(v) for v in _values(raw, name)]
    elif name in ("EQ_bizLocation", "WD_bizLocation"):
        query.biz_locations += [identifiers.canonical(v) for v in _values(raw, name)]
    elif name == "EQ_eventID":
        query.event_ids = _values(raw, name)
    elif name in EPC_MATCHES:
        matcher = identifiers.class_key if name.endswith("Class") else None
        try:
            matches = [
                identifiers.Match(matcher(v)) if matcher else identifiers.match_for(v)
                for v in _values(raw, name)
            ]
        except identifiers.IdentifierPatternError as exc:
            raise QueryParameterError(f"{name}: {exc}") from None
        query.epc_matches.append((EPC_MATCHES[name], matches))
    elif name == "EXISTS_errorDeclaration":
        query.declared = _bool(raw, name) if raw not in ("", [""], []) else True
    elif name in ("GE_errorDeclarationTime", "LT_errorDeclarationTime"):
        query.declaration_times[name] = _time(raw, name)
    elif name == "EQ_errorReason":
        query.checks.append(
            _declaration("reason", {identifiers.cbv_term(v) for v in _values(raw, name)})
        )
    elif name == "EQ_correctiveEventID":
        query.checks.append(_declaration("correctiveEventIDs", set(_values(raw, name))))
    elif name == "EQ_transformationID":
        query.checks.append(_top("transformationID", set(_values(raw, name))))
    elif name in ("EQ_persistentDisposition_set", "EQ_persistentDisposition_unset"):
        which = name.rsplit("_", 1)[1]
        query.checks.append(
            _persistent(which, {identifiers.cbv_term(v) for v in _values(raw, name)})
        )
    elif name in ("EQ_quantity", "GT_quantity", "GE_quantity", "LT_quantity", "LE_quantity"):
        query.checks.append(_quantity(name[:2], _number(raw, name)))
    elif name in ("GE_startTime", "LT_startTime", "GE_endTime", "LT_endTime"):
        member = name[3:]
        query.checks.append(_sensor_time(member, _time(raw, name), name.startswith("GE")))
    elif name in _SENSOR_FIELDS:
        parts, member, normal = _SENSOR_FIELDS[name]
        query.checks.append(
            _field_in(parts, member, {normal(v) for v in _values(raw, name)}, normal)
        )
    elif name == "EQ_booleanValue":
        wanted = "true" if _bool(raw, name) else "false"
        query.checks.append(_field_in(("sensorReport",), "booleanValue", {wanted}))
    elif name == "orderBy":
        value = _one(raw, name)
        if value not in _ORDER_FIELDS:
            raise QueryParameterError(f"orderBy: {value!r} is not eventTime or recordTime")
        query.order_by = _ORDER_FIELDS[value]
    elif name == "orderDirection":
        value = _one(raw, name)
        if value not in ("ASC", "DESC"):
            raise QueryParameterError("orderDirection: expected ASC or DESC")
        query.descending = value == "DESC"
    elif name == "eventCountLimit":
        query.event_count_limit = _positive(raw, name)
    elif name == "maxEventCount":
        query.max_event_count = _positive(raw, name)
    else:
        raise QueryParameterError(f"{name} is not a query parameter this repository supports")


def parse(params: Mapping[str, Any], *, fixed: Mapping[str, Any] | None = None) -> EventQuery:
    """An EventQuery from parameters; ``fixed`` ones (from the path) may not be overridden."""
    query = EventQuery()
    for name, raw in {**params, **(fixed or {})}.items():
        if name in PAGING:
            continue
        _add(query, name, raw)
    if query.event_count_limit is not None and query.max_event_count is not None:
        raise QueryParameterError("eventCountLimit and maxEventCount exclude each other")
    if query.order_by is None:
        # A time window comes in the order of that time: its index then serves both the
        # window and the order, and a page is read without sorting the whole window.
        if any(name.endswith("_eventTime") for name in query.times):
            query.order_by = "eventTime"
        elif query.times:
            query.order_by = "recordTime"
    return query
