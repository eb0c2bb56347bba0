"""Movements: what each captured event does to the items it names and the items inside.

Run through EPCIS capture's on-stored hook (:func:`on_stored`, wired in trace_api/app.py)
in the capture's transaction, after custody, for the events it stored, in event-time
order. For each event it moves the state (`item_states`) of the keys it names and appends
one `item_movements` row per key named;
the goods inside a named container move with it without a row of their own (their state
and path are worked out through the container, trace_api/movements/paths.py). Packing and
unpacking rewrite the state of the keys named, so each starts from what its container did.
With route checks on, the containers named are expanded to the items inside
(trace_api/movements/containers.py), the rules of docs/channels.md are evaluated once per
distinct group of goods, an item whose verdict differs from its container's gets a
movement row of its own, and alerts are raised (trace_api/movements/breaches.py).
Everything is bulk: a fixed number of statements per capture and per chunk of keys, none
per item.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from trace_api.alerts import service as alerts_service
from trace_api.epcis import sql
from trace_api.epcis.events import PreparedEvent
from trace_api.epcis.stored import Capturer, StoredEvent
from trace_api.models import Batch, Code, CodeIssuance, ItemMovement, ItemState, Product
from trace_api.movements import breaches, channel_view, containers, rules
from trace_api.movements.capture_run import Before, CaptureRun, Group
from trace_api.movements.channel_view import ChannelView, Grant
from trace_api.movements.item_state import COLUMNS, State
from trace_api.movements.steps import (
    ITEM_PREFIX,
    SSCC_PREFIX,
    STATUS,
    first_party,
    geo_point,
    observed_division,
    step_of,
)
from trace_api.settings import get_settings


@dataclass
class Outcome:
    """What the engine did for one capture."""

    movements: int = 0
    alert_ids: list[str] = field(default_factory=list)


def on_stored(*, session: Session, capturer: Capturer, events: Sequence[StoredEvent]) -> None:
    """EPCIS capture's hook (trace_api/epcis/stored.py): :func:`record` what it stored,
    with route checks as the capturer asks or, failing that, as the settings say."""
    checks = capturer.route_checks
    record(
        session=session,
        tenant_id=capturer.tenant_id,
        actor_org=capturer.organisation_id,
        actor_key=capturer.key_id,
        events=events,
        checks=get_settings().route_checks if checks is None else checks,
    )


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
    run = CaptureRun(session, tenant_id, view, checks)
    direct = {
        key for e in relevant for key, role in e.prepared.epcs if role in containers.MOVED_ROLES
    }
    containers.load_states(run, direct)
    if checks:
        # Items alike inside a container are judged alike: read them as counts, unless an
        # allocation names single items or the capture packs or unpacks (then one by one).
        grouped = view.item_grant_count == 0 and not any(
            e.prepared.event_type == "AggregationEvent" for e in relevant
        )
        named = {
            k for k in direct if (s := run.states.get(k)) is not None and s.kind == "container"
        }
        every_grant = view.target_grant_count <= channel_view.ALL_GRANTS_UP_TO
        if every_grant and view.target_grant_count:
            run.grants = channel_view.target_grants(session, tenant_id, (), view.target_grant_count)
        if grouped and every_grant:
            run.uniform = containers.uniform(run, named)
        containers.load_contents(run, named - run.uniform, grouped=grouped)
        if not every_grant:
            targets = run.states.keys() | run.contents.keys()
            run.grants = channel_view.target_grants(
                session, tenant_id, targets, view.target_grant_count
            )
    else:  # only what an unpacking of everything in a container needs
        containers.load_contents(run, containers.emptied(relevant), deep=False)
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


_TO_STEPS = ("ship", "receive", "return", "commission")


def _moves_goods(prepared: PreparedEvent) -> bool:
    return (
        not prepared.is_declaration
        and prepared.event_type in ("ObjectEvent", "AggregationEvent", "TransactionEvent")
        and any(role in containers.MOVED_ROLES for _, role in prepared.epcs)
    )


def _serial_of(key: str) -> tuple[str, str] | None:
    if not key.startswith(ITEM_PREFIX):
        return None
    gtin, _, rest = key[len(ITEM_PREFIX) :].partition("/21/")
    return (gtin, unquote(rest)) if rest and "/" not in rest else None


def _new_item_facts(run: CaptureRun, keys: set[str]) -> None:
    """Blank states for keys seen for the first time, with GTIN and (our codes) batch."""
    serials: dict[str, str] = {}
    for key in keys:
        parsed = _serial_of(key)
        kind = "container" if parsed is None and key.startswith(SSCC_PREFIX) else "item"
        gtin = parsed[0] if parsed else None
        run.states[key] = State(kind, gtin)
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
            if state.gtin == gtin:
                state.batch_id = batch_id


def _parties(
    view: ChannelView, prepared: PreparedEvent, step: str, actor_org: str | None
) -> tuple[str | None, str | None]:
    """The sending (or selling, packing) party and the receiving party of the event."""
    event = prepared.event
    source = view.organisation_of(first_party(event, "sourceList", "source"))
    destination = view.organisation_of(first_party(event, "destinationList", "destination"))
    here = view.organisation_of(prepared.biz_location) or view.organisation_of(prepared.read_point)
    if step in ("receive", "commission"):
        return source, destination or here or actor_org
    if step in ("ship", "return"):
        return source or here or actor_org, destination
    return source or here or actor_org, destination


def _apply(
    run: CaptureRun, stored: StoredEvent, actor_org: str | None, by_pk: dict[int, StoredEvent]
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
    targets = containers.targets(run, prepared, step)
    step_facts = rules.Step(step, source, destination, division, lat, lon)
    verdicts: dict[tuple[Any, ...], rules.Verdict] = {}
    subjects: dict[str, breaches.Subject] = {}
    before: dict[str, Before] = {}
    final: dict[str, str] = {}  # each key's verdict, to tell goods that differ from theirs

    def judge(gtin: str | None, grant: Grant | None, was: Before) -> rules.Verdict:
        group = (grant, gtin, was.holder, was.shipped_to, was.status)
        if group not in verdicts:
            goods = rules.Goods(grant, gtin, was.holder, was.shipped_to, was.status)
            verdicts[group] = rules.check(view, step_facts, goods)
        return verdicts[group]

    def movement(key: str, via: str | None, holder: str | None, verdict: str) -> None:
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
                "verdict": verdict,
            }
        )

    for key, via in targets:
        if isinstance(key, Group):  # items alike inside a container named (checks on)
            assert via is not None
            was = before[via]
            verdict = judge(key.gtin, containers.grant(run, "", key.parent, key.batch), was)
            verdict_text = _verdict_text(verdict)
            keys = containers.group_keys(run, key) if verdict_text != final[key.parent] else []
            for item in keys:
                movement(item, via, was.holder, verdict_text)
            if verdict:
                representative = keys[0] if keys else via
                breaches.note_breach(
                    run, subjects, representative, via, "item", was, verdict, key.count
                )
            continue
        if via is not None:  # inside a named container: moves with it (checks on only)
            kind, gtin, batch, parent = containers.facts(run, key)
            was = before[via]
            verdict = judge(gtin, containers.grant(run, key, parent, batch), was)
            verdict_text = _verdict_text(verdict)
            if verdict:
                breaches.note_breach(run, subjects, key, via, kind, was, verdict)
            final[key] = verdict_text
            if verdict_text != final.get(parent or via, final[via]):
                movement(key, via, was.holder, verdict_text)
            continue
        state = containers.resolve(run, key)  # named keys were read or created
        if step in ("pack", "unpack") and key == parent_key:
            state.kind = "container"
        holder = state.holder_org
        was = before[key] = Before(holder, state.shipped_to_org, state.status, state.last_event_pk)
        verdict_text = "unchecked"
        if run.checks:
            verdict = judge(
                state.gtin, containers.grant(run, key, state.parent, state.batch_id), was
            )
            verdict_text = _verdict_text(verdict)
            if verdict:
                breaches.note_breach(run, subjects, key, None, state.kind, was, verdict)
                if key in run.uniform and key not in subjects[key].counted:
                    subjects[key].counted.add(key)
                    subjects[key].items += containers.items_inside(run, key)
        final[key] = verdict_text
        movement(key, None, holder, verdict_text)
        if state.updated_at is not None and when < state.updated_at:
            continue  # a late event: on the path, but the state already shows newer ones
        _move(state, step, stored.pk, when, source, destination, place, division)
        if step in ("pack", "unpack"):
            run.container_grants.clear()
        if step == "pack" and key != parent_key and parent_key is not None:
            _pack(run, key, state, parent_key)
        elif step == "unpack" and key != parent_key:
            _unpack(run, key, state)
        if step == "ship":
            run.last_shipment[key] = stored.pk
        if state.holder_org != holder and verdict_text != "alert":
            run.authorised[key] = state.holder_org
    if subjects:
        breaches.alerts_for(run, stored, subjects, by_pk)


def _verdict_text(verdict: rules.Verdict) -> str:
    if verdict:
        return "alert"
    return "unchecked" if verdict is None else "ok"


def _move(
    state: State,
    step: str,
    pk: int,
    when: datetime,
    source: str | None,
    destination: str | None,
    place: str | None,
    division: str | None,
) -> None:
    state.last_event_pk = pk
    state.updated_at = when
    if place is not None:
        state.location = place
    if division is not None:
        state.division_code = division
    status = STATUS.get(step)
    if status is not None:
        state.status = status
    if step == "ship" or step == "return":
        state.holder_org = state.holder_org or source
        state.shipped_to_org = destination
    elif step in ("receive", "commission"):
        state.holder_org = destination or state.holder_org
        state.shipped_to_org = None
    elif step == "sell":
        state.holder_org = source or state.holder_org
        state.shipped_to_org = None
    elif state.holder_org is None and source is not None:
        state.holder_org = source
    if state.status is None:
        state.status = "packed" if step == "pack" else "commissioned"


def _pack(run: CaptureRun, key: str, state: State, parent: str) -> None:
    old = state.parent
    if old is not None and old != parent and key in run.children.get(old, []):
        run.children[old].remove(key)
    state.parent = parent
    siblings = run.children.setdefault(parent, [])
    if key not in siblings:
        siblings.append(key)
    container = run.states.get(parent)
    if container is not None and state.status in (None, "commissioned", "packed"):
        state.status = "packed"


def _unpack(run: CaptureRun, key: str, state: State) -> None:
    parent = state.parent
    if parent is None:
        return
    if key in run.children.get(parent, []):
        run.children[parent].remove(key)
    state.parent = None
    container = run.states.get(parent)
    if state.status == "packed" and container is not None:
        state.status = container.status


# -- writing --------------------------------------------------------------------------------


def _write_states(run: CaptureRun) -> None:
    """New rows in bulk; changed rows by one UPDATE per distinct change and chunk of keys."""
    fresh: list[dict[str, Any]] = []
    changes: dict[tuple[tuple[int, Any], ...], list[str]] = {}
    for key, state in run.states.items():
        original = run.originals.get(key)
        if original is None:
            if state.status is None:
                continue
            fresh.append({"tenant_id": run.tenant_id, "item": key} | state.columns())
            continue
        diff = tuple((i, v) for i, v in enumerate(state.values()) if v != original[i])
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
