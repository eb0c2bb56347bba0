"""Movements: what each captured event does to the items it names and the items inside.

Run by capture (trace_api/epcis/capture.py) in the capture's transaction, after custody,
for the events it stored, in event-time order. For each event it expands the containers
named to the items inside (as packed by earlier AggregationEvents, transitively), moves
their state (`item_states`), appends one `item_movements` row per item, packs and unpacks,
and, with route checks on, evaluates the rules of docs/channels.md once per distinct group
of goods and raises alerts. Everything is bulk: a fixed number of statements per capture
and per chunk of keys, none per item.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from sqlalchemy import String, select, type_coerce, update
from sqlalchemy.orm import Session

from trace_api.alerts import service as alerts_service
from trace_api.channels import divisions
from trace_api.epcis import identifiers
from trace_api.epcis.events import PreparedEvent
from trace_api.models import (
    Batch,
    Code,
    CodeIssuance,
    DiversionAlert,
    EpcisEvent,
    ItemMovement,
    ItemState,
    Product,
)
from trace_api.movements import channel_view, rules, sql
from trace_api.movements.channel_view import ChannelView, Grant, chunks

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

# item_states columns, in the order a state list holds them.
COLUMNS = (
    "kind",
    "gtin",
    "batch_id",
    "status",
    "holder_org",
    "shipped_to_org",
    "location",
    "division_code",
    "parent",
    "last_event_pk",
    "updated_at",
)
KIND, GTIN, BATCH, STATUS_, HOLDER, SHIPPED_TO, LOCATION, DIVISION, PARENT, LAST, UPDATED = range(
    len(COLUMNS)
)
_UNKNOWN = "\x00unknown"


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event capture stored: its row id, what was captured, its audit log entry."""

    pk: int
    prepared: PreparedEvent
    audit_seq: int | None


@dataclass
class Outcome:
    """What the engine did for one capture."""

    movements: int = 0
    alert_ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Subject:
    """The goods of one alert: a container (or item) and the breaches found in it."""

    subject: str
    kind: str
    representative: str
    breaches: list[rules.Breach]
    items: int
    authorised_before: str | None
    holder_before: str | None
    shipment_pk: int | None


@dataclass
class _Capture:
    """The working state of one engine run."""

    session: Session
    tenant_id: str
    view: ChannelView
    checks: bool
    states: dict[str, list[Any]] = field(default_factory=dict)
    originals: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    children: dict[str, list[str]] = field(default_factory=dict)
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


def record(
    *,
    session: Session,
    tenant_id: str,
    actor_org: str | None,
    actor_key: str,
    events: Sequence[StoredEvent],
    checks: bool,
) -> Outcome:
    """Move the goods of ``events`` (see the module docstring); raise alerts if ``checks``."""
    relevant = sorted(
        (e for e in events if _moves_goods(e.prepared)),
        key=lambda e: (e.prepared.event_time, e.pk),
    )
    if not relevant:
        return Outcome()
    view = channel_view.load(session, tenant_id)
    view.load_parties(session, set().union(*(e.prepared.parties for e in relevant)))
    run = _Capture(session, tenant_id, view, checks)
    direct = {key for e in relevant for key, role in e.prepared.epcs if role in _ROLES}
    _load_states(run, direct)
    if checks and view.target_grant_count:
        run.grants = channel_view.target_grants(
            session, tenant_id, run.states, view.target_grant_count
        )
    _new_item_facts(run, direct - run.states.keys())
    by_pk = {e.pk: e for e in relevant}
    for stored in relevant:
        _apply(run, stored, actor_org, by_pk)
    _write_states(run)
    sql.insert_rows(session, ItemMovement, run.movements)
    outcome = Outcome(movements=len(run.movements))
    if run.alerts:
        outcome.alert_ids = alerts_service.raise_alerts(
            session=session, tenant_id=tenant_id, alerts=run.alerts, actor=actor_key
        )
    return outcome


_ROLES = ("e", "p", "c", "i", "o")
_TO_STEPS = ("ship", "receive", "return", "commission")


def _moves_goods(prepared: PreparedEvent) -> bool:
    return (
        not prepared.is_declaration
        and prepared.event_type in ("ObjectEvent", "AggregationEvent", "TransactionEvent")
        and any(role in _ROLES for _, role in prepared.epcs)
    )


# -- reading -------------------------------------------------------------------------------


def _columns() -> list[Any]:
    # updated_at comes as stored (SQLite: text) and is converted once per distinct value
    # in _keep: the goods of one pallet share it, and parsing it row by row is the
    # dearest part of reading a state.
    columns: list[Any] = [getattr(ItemState, name) for name in COLUMNS]
    columns[UPDATED] = type_coerce(ItemState.updated_at, String())
    return columns


def _keep(run: _Capture, rows: Iterable[Any]) -> list[str]:
    found = []
    times = run.times
    for item, *values in rows:
        if item not in run.states:
            stamp = values[UPDATED]
            if isinstance(stamp, str):
                converted = times.get(stamp)
                if converted is None:
                    converted = times[stamp] = run.read_time(stamp)
                values[UPDATED] = converted
            run.states[item] = values
            run.originals[item] = tuple(values)
            found.append(item)
    return found


def _load_states(run: _Capture, keys: set[str]) -> None:
    """The states of ``keys`` and, transitively, of everything packed inside them."""
    connection = run.session.connection()
    for batch in sql.batches(keys):
        _keep(
            run,
            connection.execute(
                select(ItemState.item, *_columns()).where(
                    ItemState.tenant_id == run.tenant_id,
                    sql.one_of(run.session, ItemState.item, batch),
                )
            ).all(),
        )
    frontier = {k for k in keys if k in run.states and run.states[k][KIND] == "container"}
    expanded: set[str] = set()
    while frontier:
        expanded |= frontier
        found: set[str] = set()
        for batch in sql.batches(frontier):
            rows = connection.execute(
                select(ItemState.item, *_columns()).where(
                    ItemState.tenant_id == run.tenant_id,
                    sql.one_of(run.session, ItemState.parent, batch),
                )
            ).all()
            _keep(run, rows)
            for row in rows:
                run.children.setdefault(row[PARENT + 1], []).append(row[0])
                if row[KIND + 1] == "container":
                    found.add(row[0])
        frontier = found - expanded


def _serial_of(key: str) -> tuple[str, str] | None:
    if not key.startswith(ITEM_PREFIX):
        return None
    gtin, _, rest = key[len(ITEM_PREFIX) :].partition("/21/")
    return (gtin, unquote(rest)) if rest and "/" not in rest else None


def _new_item_facts(run: _Capture, keys: set[str]) -> None:
    """Blank states for keys seen for the first time, with GTIN and (our codes) batch."""
    serials: dict[str, str] = {}
    for key in keys:
        parsed = _serial_of(key)
        kind = "container" if parsed is None and key.startswith(SSCC_PREFIX) else "item"
        gtin = parsed[0] if parsed else None
        run.states[key] = [kind, gtin, None, None, None, None, None, None, None, None, None]
        if parsed is not None:
            serials[parsed[1]] = key
    for batch in sql.batches(serials):
        rows = run.session.connection().execute(
            select(Code.serial, CodeIssuance.batch_id, Product.gtin)
            .join(CodeIssuance, CodeIssuance.id == Code.issuance_id)
            .join(Batch, Batch.id == CodeIssuance.batch_id)
            .join(Product, Product.id == Batch.product_id)
            .where(
                sql.one_of(run.session, Code.serial, batch),
                CodeIssuance.tenant_id == run.tenant_id,
            )
        )
        for serial, batch_id, gtin in rows:
            state = run.states[serials[serial]]
            if state[GTIN] == gtin:
                state[BATCH] = batch_id


# -- one event ------------------------------------------------------------------------------


def _first_party(event: dict[str, Any], name: str, member: str) -> str | None:
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


def _parties(
    view: ChannelView, prepared: PreparedEvent, step: str, actor_org: str | None
) -> tuple[str | None, str | None]:
    """The sending (or selling, packing) party and the receiving party of the event."""
    event = prepared.event
    source = view.organisation_of(_first_party(event, "sourceList", "source"))
    destination = view.organisation_of(_first_party(event, "destinationList", "destination"))
    here = view.organisation_of(prepared.biz_location) or view.organisation_of(prepared.read_point)
    if step in ("receive", "commission"):
        return source, destination or here or actor_org
    if step in ("ship", "return"):
        return source or here or actor_org, destination
    return source or here or actor_org, destination


def _targets(run: _Capture, prepared: PreparedEvent, step: str) -> list[tuple[str, str | None]]:
    """Every key the event moves, with the container it moved in (None: named itself).

    An AggregationEvent moves the children it names (and what is inside them) and its
    parent, not the parent's other children.
    """
    named: list[str]
    parent: str | None = None
    if prepared.event_type == "AggregationEvent":
        parent = next((k for k, role in prepared.epcs if role == "p"), None)
        named = sorted(k for k, role in prepared.epcs if role == "c")
        if step == "unpack" and parent is not None and not named:
            named = list(run.children.get(parent, ()))
    else:
        named = sorted(k for k, role in prepared.epcs if role in _ROLES)
    out: list[tuple[str, str | None]] = []
    seen: set[str] = {parent} if parent else set()
    for key in named:
        if key in seen:
            continue
        seen.add(key)
        out.append((key, None))
        stack = [key]
        while stack:
            for child in run.children.get(stack.pop(), ()):
                if child not in seen:
                    seen.add(child)
                    out.append((child, key))
                    stack.append(child)
    if parent is not None:
        out.append((parent, None))
    return out


def _grant(run: _Capture, key: str, state: list[Any]) -> Grant | None:
    """The most specific current allocation: item, containers innermost first, batch."""
    if run.grants:
        found = run.grants.get(key)
        if found is None and state[PARENT] is not None:
            found = _container_grant(run, state[PARENT])
        if found is not None:
            return found
    return run.view.batch_grants.get(state[BATCH]) if state[BATCH] else None


def _container_grant(run: _Capture, container: str) -> Grant | None:
    """The allocation of the innermost allocated container from ``container`` up (memoised
    per capture until something is packed or unpacked)."""
    if container in run.container_grants:
        return run.container_grants[container]
    found: Grant | None = None
    parent: str | None = container
    hops = 0
    while found is None and parent is not None and hops < 32:
        found = run.grants.get(parent)
        parent_state = run.states.get(parent)
        parent = parent_state[PARENT] if parent_state else None
        hops += 1
    run.container_grants[container] = found
    return found


def _apply(
    run: _Capture, stored: StoredEvent, actor_org: str | None, by_pk: dict[int, StoredEvent]
) -> None:
    prepared = stored.prepared
    step = step_of(prepared)
    view = run.view
    source, destination = _parties(view, prepared, step, actor_org)
    division = observed_division(view, prepared)
    lat, lon = geo_point(prepared)
    place = prepared.biz_location or prepared.read_point
    when = prepared.event_time
    parent_key = next((k for k, role in prepared.epcs if role == "p"), None)
    targets = _targets(run, prepared, step)
    step_facts = rules.Step(step, source, destination, division, lat, lon)
    verdicts: dict[tuple[Any, ...], rules.Verdict] = {}
    subjects: dict[str, _Subject] = {}
    for key, via in targets:
        state = run.states[key]  # named keys were read or created, children were read
        if step in ("pack", "unpack") and key == parent_key:
            state[KIND] = "container"
        holder, shipped_to = state[HOLDER], state[SHIPPED_TO]
        verdict_text = "unchecked"
        if run.checks:
            grant = _grant(run, key, state)
            group = (grant, state[GTIN], holder, shipped_to, state[STATUS_])
            if group not in verdicts:
                goods = rules.Goods(grant, state[GTIN], holder, shipped_to, state[STATUS_])
                verdicts[group] = rules.check(view, step_facts, goods)
            verdict = verdicts[group]
            if verdict:
                verdict_text = "alert"
                _note_breach(run, subjects, key, via, state, verdict)
            elif verdict is not None:
                verdict_text = "ok"
        run.movements.append(
            {
                "tenant_id": run.tenant_id,
                "item": key,
                "event_pk": stored.pk,
                "step": step,
                "at": when,
                "from_org": source or holder,
                "to_org": destination if step in _TO_STEPS else None,
                "division_code": division,
                "via": via,
                "verdict": verdict_text,
            }
        )
        if state[UPDATED] is not None and when < state[UPDATED]:
            continue  # a late event: on the path, but the state already shows newer ones
        _move(state, step, stored.pk, when, source, destination, place, division)
        if step in ("pack", "unpack"):
            run.container_grants.clear()
        if step == "pack" and key != parent_key and via is None and parent_key is not None:
            _pack(run, key, state, parent_key)
        elif step == "unpack" and key != parent_key and via is None:
            _unpack(run, key, state)
        if step == "ship":
            run.last_shipment[key] = stored.pk
        if state[HOLDER] != holder and verdict_text != "alert":
            run.authorised[key] = state[HOLDER]
    if subjects:
        _alerts_for(run, stored, subjects, by_pk)


def _move(
    state: list[Any],
    step: str,
    pk: int,
    when: datetime,
    source: str | None,
    destination: str | None,
    place: str | None,
    division: str | None,
) -> None:
    state[LAST] = pk
    state[UPDATED] = when
    if place is not None:
        state[LOCATION] = place
    if division is not None:
        state[DIVISION] = division
    status = STATUS.get(step)
    if status is not None:
        state[STATUS_] = status
    if step == "ship" or step == "return":
        state[HOLDER] = state[HOLDER] or source
        state[SHIPPED_TO] = destination
    elif step in ("receive", "commission"):
        state[HOLDER] = destination or state[HOLDER]
        state[SHIPPED_TO] = None
    elif step == "sell":
        state[HOLDER] = source or state[HOLDER]
        state[SHIPPED_TO] = None
    elif state[HOLDER] is None and source is not None:
        state[HOLDER] = source
    if state[STATUS_] is None:
        state[STATUS_] = "packed" if step == "pack" else "commissioned"


def _pack(run: _Capture, key: str, state: list[Any], parent: str) -> None:
    old = state[PARENT]
    if old is not None and old != parent and key in run.children.get(old, []):
        run.children[old].remove(key)
    state[PARENT] = parent
    siblings = run.children.setdefault(parent, [])
    if key not in siblings:
        siblings.append(key)
    container = run.states.get(parent)
    if container is not None and state[STATUS_] in (None, "commissioned", "packed"):
        state[STATUS_] = "packed"


def _unpack(run: _Capture, key: str, state: list[Any]) -> None:
    parent = state[PARENT]
    if parent is None:
        return
    if key in run.children.get(parent, []):
        run.children[parent].remove(key)
    state[PARENT] = None
    container = run.states.get(parent)
    if state[STATUS_] == "packed" and container is not None:
        state[STATUS_] = container[STATUS_]


# -- alerts ---------------------------------------------------------------------------------


def _note_breach(
    run: _Capture,
    subjects: dict[str, _Subject],
    key: str,
    via: str | None,
    state: list[Any],
    breaches: list[rules.Breach],
) -> None:
    subject_key = via or key
    subject = subjects.get(subject_key)
    if subject is None:
        subject_state = run.states.get(subject_key, state)
        subject = _Subject(
            subject=subject_key,
            kind="container" if subject_state[KIND] == "container" else "item",
            representative=key,
            breaches=list(breaches),
            items=0,
            authorised_before=run.authorised.get(key, _UNKNOWN),
            holder_before=state[HOLDER],
            shipment_pk=run.last_shipment.get(key)
            or (state[LAST] if state[STATUS_] == "in_transit" else None),
        )
        subjects[subject_key] = subject
    else:
        subject.breaches.extend(b for b in breaches if b not in subject.breaches)
    if state[KIND] != "container":
        subject.items += 1


def _alerts_for(
    run: _Capture, stored: StoredEvent, subjects: dict[str, _Subject], by_pk: dict[int, StoredEvent]
) -> None:
    fresh = _not_yet_open(run.session, run.tenant_id, subjects)
    for subject in subjects.values():
        headline = rules.headline(subject.breaches)
        if (subject.subject, headline.rule, headline.observed_org) not in fresh:
            continue
        blamed = subject.authorised_before
        if blamed == _UNKNOWN:
            blamed = authorised_holder(
                run.session, run.tenant_id, subject.representative, subject.holder_before
            )
        shipment = subject.shipment_pk
        if step_of(stored.prepared) != "ship" and shipment is None:
            shipment = last_shipment(run.session, run.tenant_id, subject.representative)
        run.alerts.append(
            build_alert(
                session=run.session,
                tenant_id=run.tenant_id,
                subject=subject.subject,
                subject_kind=subject.kind,
                item_count=max(1, subject.items),
                breaches=subject.breaches,
                blamed=blamed,
                event=stored,
                shipment_pk=shipment if shipment != stored.pk else None,
                known=by_pk,
            )
        )


def _not_yet_open(
    session: Session, tenant_id: str, subjects: dict[str, _Subject]
) -> set[tuple[str, str, str | None]]:
    """The (subject, rule, observed party) of ``subjects`` with no open alert yet."""
    wanted = {
        (s.subject, rules.headline(s.breaches).rule, rules.headline(s.breaches).observed_org)
        for s in subjects.values()
    }
    for chunk in chunks(subjects):
        for found in session.execute(
            select(DiversionAlert.subject, DiversionAlert.rule, DiversionAlert.observed_org).where(
                DiversionAlert.tenant_id == tenant_id,
                DiversionAlert.subject.in_(chunk),
                DiversionAlert.status.in_(("open", "acknowledged")),
            )
        ):
            wanted.discard(found)
    return wanted


def authorised_holder(
    session: Session, tenant_id: str, item: str, fallback: str | None
) -> str | None:
    """The last party whose custody of ``item`` was authorised (from its recorded path)."""
    rows = session.execute(
        select(ItemMovement.step, ItemMovement.to_org, ItemMovement.from_org, ItemMovement.verdict)
        .where(ItemMovement.tenant_id == tenant_id, ItemMovement.item == item)
        .order_by(ItemMovement.at.desc(), ItemMovement.event_pk.desc())
        .limit(200)
    )
    for step, to_org, from_org, verdict in rows:
        if verdict == "alert":
            continue
        if step in HOLDING_STEPS and to_org:
            return to_org
        if step == "ship" and from_org:
            return from_org
    return fallback


def last_shipment(session: Session, tenant_id: str, item: str) -> int | None:
    """The event that last shipped ``item`` (the evidence of where it was meant to go)."""
    return session.scalar(
        select(ItemMovement.event_pk)
        .where(
            ItemMovement.tenant_id == tenant_id,
            ItemMovement.item == item,
            ItemMovement.step == "ship",
        )
        .order_by(ItemMovement.at.desc(), ItemMovement.event_pk.desc())
        .limit(1)
    )


def build_alert(
    *,
    session: Session,
    tenant_id: str,
    subject: str,
    subject_kind: str,
    item_count: int,
    breaches: list[rules.Breach],
    blamed: str | None,
    event: StoredEvent | None,
    shipment_pk: int | None,
    known: dict[int, StoredEvent],
    scan: dict[str, Any] | None = None,
) -> alerts_service.NewAlert:
    """An alert for ``breaches`` of ``subject``, with its evidence events."""
    headline = rules.headline(breaches)
    evidence: list[dict[str, Any]] = []
    if shipment_pk is not None:
        evidence.append(_evidence(session, tenant_id, shipment_pk, "shipment", known))
    if event is not None:
        evidence.append(_evidence(session, tenant_id, event.pk, "deviation", known))
    if scan is not None:
        evidence.append({"role": "consumer_scan", **scan})
    others = sorted({b.rule for b in breaches} - {headline.rule})
    detail = headline.detail + (f" (also: {', '.join(others)})" if others else "")
    return alerts_service.NewAlert(
        subject=subject,
        subject_kind=subject_kind,
        rule=headline.rule,
        severity=headline.severity,
        detail=detail,
        item_count=item_count,
        expected_org=headline.expected_org,
        expected_division=headline.expected_division,
        observed_org=headline.observed_org,
        observed_division=headline.observed_division,
        blamed_org=blamed,
        event_pk=event.pk if event else None,
        evidence=evidence,
    )


def _evidence(
    session: Session, tenant_id: str, pk: int, role: str, known: dict[int, StoredEvent]
) -> dict[str, Any]:
    stored = known.get(pk)
    event_id: str | None
    seq: int | None
    if stored is not None:
        event_id, seq = stored.prepared.event_id, stored.audit_seq
    else:
        row = session.execute(
            select(EpcisEvent.event_id, EpcisEvent.audit_seq).where(
                EpcisEvent.id == pk, EpcisEvent.tenant_id == tenant_id
            )
        ).one_or_none()
        event_id, seq = (row[0], row[1]) if row else (None, None)
    return {
        "role": role,
        "event_pk": pk,
        "eventID": event_id,
        "audit_seq": seq,
        "proof": f"/v1/audit/entries/{seq}/proof" if seq is not None else None,
    }


# -- writing --------------------------------------------------------------------------------


def _write_states(run: _Capture) -> None:
    """New rows in bulk; changed rows by one UPDATE per distinct change and chunk of keys."""
    fresh: list[dict[str, Any]] = []
    changes: dict[tuple[tuple[int, Any], ...], list[str]] = {}
    for key, state in run.states.items():
        original = run.originals.get(key)
        if original is None:
            if state[STATUS_] is None:
                continue
            fresh.append(
                {"tenant_id": run.tenant_id, "item": key} | dict(zip(COLUMNS, state, strict=True))
            )
            continue
        diff = tuple((i, v) for i, v in enumerate(state) if v != original[i])
        if diff:
            changes.setdefault(diff, []).append(key)
    sql.insert_rows(run.session, ItemState, fresh)
    table: Any = ItemState.__table__
    connection = run.session.connection()
    for diff, keys in changes.items():
        values = {COLUMNS[i]: v for i, v in diff}
        for batch in sql.batches(keys):
            connection.execute(
                update(table)
                .where(
                    table.c.tenant_id == run.tenant_id,
                    sql.one_of(run.session, table.c.item, batch),
                )
                .values(values)
            )


def division_name(code: str | None) -> str | None:
    """The display name of a division code, if it is in the shipped table."""
    if code is None or not divisions.is_known(code):
        return None
    return divisions.display_name(code)


def evidence_json(alert: DiversionAlert) -> list[dict[str, Any]]:
    """The stored evidence list of an alert."""
    value = json.loads(alert.evidence or "[]")
    return list(value) if isinstance(value, list) else []
