"""Movements: what each captured event does to the items it names and the items inside.

Run by capture (trace_api/epcis/capture.py) in the capture's transaction, after custody,
for the events it stored, in event-time order. For each event it moves the state
(`item_states`) of the keys it names and appends one `item_movements` row per key named;
the goods inside a named container move with it without a row of their own (their state
and path are worked out through the container, trace_api/movements/paths.py). Packing and
unpacking rewrite the state of the keys named, so each starts from what its container did.
With route checks on, the containers named are expanded to the items inside (as packed by
earlier AggregationEvents, transitively), the rules of docs/channels.md are evaluated once
per distinct group of goods, an item whose verdict differs from its container's gets a
movement row of its own, and alerts are raised. Everything is bulk: a fixed number of
statements per capture and per chunk of keys, none per item.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from sqlalchemy import (
    String,
    case,
    func,
    literal,
    literal_column,
    select,
    type_coerce,
    update,
)
from sqlalchemy.orm import Session

from trace_api.alerts import service as alerts_service
from trace_api.epcis import sql
from trace_api.epcis.events import PreparedEvent
from trace_api.epcis.stored import Capturer, StoredEvent
from trace_api.models import (
    Batch,
    Code,
    CodeIssuance,
    DiversionAlert,
    ItemMovement,
    ItemState,
    Product,
)
from trace_api.movements import channel_view, paths, rules
from trace_api.movements.channel_view import ChannelView, Grant, chunks
from trace_api.movements.evidence import authorised_holder, build_alert, last_shipment
from trace_api.movements.paths import (
    BATCH,
    COLUMNS,
    DIVISION,
    GTIN,
    HOLDER,
    KIND,
    LAST,
    LOCATION,
    PARENT,
    SHIPPED_TO,
    STATUS_,
    UPDATED,
)
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

_UNKNOWN = "\x00unknown"


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
    counted: set[str] = field(default_factory=set)  # uniform containers counted in items


@dataclass(frozen=True, slots=True)
class _Group:
    """Items inside one container with one GTIN and batch, read as a count."""

    parent: str
    gtin: str | None
    batch: str | None
    count: int


@dataclass
class _Capture:
    """The working state of one engine run."""

    session: Session
    tenant_id: str
    view: ChannelView
    checks: bool
    states: dict[str, list[Any]] = field(default_factory=dict)
    # What the rules need of goods inside named containers: kind, GTIN, batch, parent.
    contents: dict[str, tuple[str, str | None, str | None, str | None]] = field(
        default_factory=dict
    )
    originals: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    children: dict[str, list[str]] = field(default_factory=dict)
    # Items inside containers read by group (parent, GTIN, batch), not one by one.
    groups: dict[str, list[_Group]] = field(default_factory=dict)
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
    run = _Capture(session, tenant_id, view, checks)
    direct = {key for e in relevant for key, role in e.prepared.epcs if role in _ROLES}
    _load_states(run, direct)
    if checks:
        # Items alike inside a container are judged alike: read them as counts, unless an
        # allocation names single items or the capture packs or unpacks (then one by one).
        grouped = view.item_grant_count == 0 and not any(
            e.prepared.event_type == "AggregationEvent" for e in relevant
        )
        containers = {k for k in direct if run.states.get(k, ("",))[KIND] == "container"}
        every_grant = view.target_grant_count <= channel_view.ALL_GRANTS_UP_TO
        if every_grant and view.target_grant_count:
            run.grants = channel_view.target_grants(session, tenant_id, (), view.target_grant_count)
        if grouped and every_grant:
            run.uniform = _uniform(run, containers)
        _load_contents(run, containers - run.uniform, grouped=grouped)
        if not every_grant:
            targets = run.states.keys() | run.contents.keys()
            run.grants = channel_view.target_grants(
                session, tenant_id, targets, view.target_grant_count
            )
    else:  # only what an unpacking of everything in a container needs
        _load_contents(run, _emptied(relevant), deep=False)
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
    """The states of ``keys`` and of the containers they are in (to resolve theirs)."""
    connection = run.session.connection()
    wanted = set(keys)
    while wanted:
        found: list[str] = []
        for batch in sql.batches(wanted):
            found += _keep(
                run,
                connection.execute(
                    select(ItemState.item, *_columns()).where(
                        ItemState.tenant_id == run.tenant_id,
                        sql.one_of(run.session, ItemState.item, batch),
                    )
                ).all(),
            )
        wanted = {run.states[k][PARENT] for k in found if run.states[k][PARENT]}
        wanted -= run.states.keys()


def _emptied(events: Iterable[StoredEvent]) -> set[str]:
    """The containers of unpacking events that name no children (all of them come out)."""
    found: set[str] = set()
    for stored in events:
        prepared = stored.prepared
        if prepared.event_type == "AggregationEvent" and prepared.action == "DELETE":
            roles = {role for _, role in prepared.epcs}
            if "c" not in roles:
                found.update(k for k, role in prepared.epcs if role == "p")
    return found


def _load_contents(
    run: _Capture, roots: set[str], *, deep: bool = True, grouped: bool = False
) -> None:
    """What is packed inside ``roots`` (transitively unless not ``deep``): the tree of
    children, and the kind, GTIN, batch and parent of each key not read in full; with
    ``grouped``, the items (not the containers) as counts per parent, GTIN and batch."""
    connection = run.session.connection()
    key_of: Any = ItemState.item
    if grouped:
        key_of = case((ItemState.kind == literal_column("'container'"), ItemState.item))
    columns = (ItemState.kind, ItemState.gtin, ItemState.batch_id, ItemState.parent)
    frontier = set(roots)
    expanded: set[str] = set()
    while frontier:
        expanded |= frontier
        found: set[str] = set()
        for batch in sql.batches(frontier):
            query = select(key_of, *columns, func.count() if grouped else literal(1)).where(
                ItemState.tenant_id == run.tenant_id,
                sql.one_of(run.session, ItemState.parent, batch),
            )
            if grouped:
                query = query.group_by(key_of, *columns)
            for key, kind, gtin, batch_id, parent, count in connection.execute(query):
                if key is None:
                    group = _Group(str(parent), gtin, batch_id, int(count))
                    run.groups.setdefault(group.parent, []).append(group)
                    continue
                run.children.setdefault(str(parent), []).append(key)
                if key not in run.states:
                    run.contents[key] = (kind, gtin, batch_id, parent)
                if kind == "container":
                    found.add(key)
        frontier = found - expanded if deep else set()


def _uniform(run: _Capture, containers: set[str]) -> set[str]:
    """Those of ``containers`` whose goods need not be read to be judged: every key inside
    gets the container's own verdict, because no party has a product scope (the GTIN does
    not matter), the container's allocation (its own or an outer container's) is every
    item's (no item allocations, and no allocated container inside it), and holder,
    pending shipment and status are the container's."""
    if run.view.scopes or not run.grants or len(run.grants) > UNIFORM_GRANTS_UP_TO:
        return set()
    allocated = set(run.grants)
    parents = _parents(run, allocated)
    inside: set[str] = set()  # containers with an allocated container somewhere inside
    for key in allocated:
        parent, hops = parents.get(key), 0
        while parent is not None and parent not in inside and hops < paths.MAX_DEPTH:
            inside.add(parent)
            parent, hops = parents.get(parent), hops + 1
    return {
        key
        for key in containers - inside
        if _grant(run, key, run.states[key][PARENT], None) is not None
    }


UNIFORM_GRANTS_UP_TO = 5_000  # container allocations whose places are read to find _uniform


def _parents(run: _Capture, keys: set[str]) -> dict[str, str | None]:
    """The parent of each of ``keys`` and of their containers, up to the outermost."""
    found: dict[str, str | None] = {}
    wanted = set(keys)
    connection = run.session.connection()
    while wanted:
        for batch in sql.batches(wanted):
            found.update(
                (key, parent)
                for key, parent in connection.execute(
                    select(ItemState.item, ItemState.parent).where(
                        ItemState.tenant_id == run.tenant_id,
                        sql.one_of(run.session, ItemState.item, batch),
                    )
                )
            )
        wanted = {p for p in found.values() if p is not None} - found.keys()
    return found


def _items_inside(run: _Capture, container: str) -> int:
    """How many items are inside ``container``, transitively (for an alert's count)."""
    connection = run.session.connection()
    total, frontier, seen = 0, {container}, {container}
    while frontier:
        found: set[str] = set()
        for batch in sql.batches(frontier):
            for key, kind in connection.execute(
                select(ItemState.item, ItemState.kind).where(
                    ItemState.tenant_id == run.tenant_id,
                    sql.one_of(run.session, ItemState.parent, batch),
                )
            ):
                if kind == "container":
                    found.add(key)
                else:
                    total += 1
        frontier = found - seen
        seen |= found
    return total


def _facts(run: _Capture, key: str) -> tuple[str, str | None, str | None, str | None]:
    """Kind, GTIN, batch and parent of a key read in full or as contents."""
    state = run.states.get(key)
    if state is not None:
        return state[KIND], state[GTIN], state[BATCH], state[PARENT]
    return run.contents.get(key, ("item", None, None, None))


def _resolve(run: _Capture, key: str) -> list[Any]:
    """The key's state with what its containers did since (paths.take_moves), in place:
    the key is named by an event, so its own row is about to be written."""
    state = run.states[key]
    chain: list[list[Any]] = []
    parent = state[PARENT]
    while parent is not None and parent != key and len(chain) < paths.MAX_DEPTH:
        above = run.states.get(parent)
        if above is None or any(above is c for c in chain):
            break
        chain.append(above)
        parent = above[PARENT]
    paths.take_moves(state, chain)
    return state


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


_Target = tuple[str | _Group, str | None]


def _targets(run: _Capture, prepared: PreparedEvent, step: str) -> list[_Target]:
    """Every key the event moves, with the container it moved in (None: named itself).

    An AggregationEvent moves the children it names (and what is inside them) and its
    parent, not the parent's other children. The goods inside named containers are listed
    (each after its own container) only with route checks on: they move with their
    container, and only the rules look at them one by one.
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
    out: list[_Target] = []
    seen: set[str] = {parent} if parent else set()
    for key in named:
        if key in seen:
            continue
        seen.add(key)
        out.append((key, None))
        if not run.checks:
            continue
        stack = [key]
        while stack:
            container = stack.pop()
            out.extend((group, key) for group in run.groups.get(container, ()))
            for child in run.children.get(container, ()):
                if child not in seen:
                    seen.add(child)
                    out.append((child, key))
                    stack.append(child)
    if parent is not None:
        out.append((parent, None))
    return out


def _grant(run: _Capture, key: str, parent: str | None, batch: str | None) -> Grant | None:
    """The most specific current allocation: item, containers innermost first, batch."""
    if run.grants:
        found = run.grants.get(key)
        if found is None and parent is not None:
            found = _container_grant(run, parent)
        if found is not None:
            return found
    return run.view.batch_grants.get(batch) if batch else None


def _container_grant(run: _Capture, container: str) -> Grant | None:
    """The allocation of the innermost allocated container from ``container`` up (memoised
    per capture until something is packed or unpacked)."""
    if container in run.container_grants:
        return run.container_grants[container]
    found: Grant | None = None
    parent: str | None = container
    hops = 0
    while found is None and parent is not None and hops < paths.MAX_DEPTH:
        found = run.grants.get(parent)
        parent = _facts(run, parent)[3]
        hops += 1
    run.container_grants[container] = found
    return found


@dataclass(frozen=True, slots=True)
class _Before:
    """A named key's state before the step: what the goods inside it move from."""

    holder: str | None
    shipped_to: str | None
    status: str | None
    last: int | None


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
    before: dict[str, _Before] = {}
    final: dict[str, str] = {}  # each key's verdict, to tell goods that differ from theirs

    def judge(gtin: str | None, grant: Grant | None, was: _Before) -> rules.Verdict:
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
        if isinstance(key, _Group):  # items alike inside a container named (checks on)
            assert via is not None
            was = before[via]
            verdict = judge(key.gtin, _grant(run, "", key.parent, key.batch), was)
            verdict_text = _verdict_text(verdict)
            keys = _group_keys(run, key) if verdict_text != final[key.parent] else []
            for item in keys:
                movement(item, via, was.holder, verdict_text)
            if verdict:
                representative = keys[0] if keys else via
                _note_breach(run, subjects, representative, via, "item", was, verdict, key.count)
            continue
        if via is not None:  # inside a named container: moves with it (checks on only)
            kind, gtin, batch, parent = _facts(run, key)
            was = before[via]
            verdict = judge(gtin, _grant(run, key, parent, batch), was)
            verdict_text = _verdict_text(verdict)
            if verdict:
                _note_breach(run, subjects, key, via, kind, was, verdict)
            final[key] = verdict_text
            if verdict_text != final.get(parent or via, final[via]):
                movement(key, via, was.holder, verdict_text)
            continue
        state = _resolve(run, key)  # named keys were read or created
        if step in ("pack", "unpack") and key == parent_key:
            state[KIND] = "container"
        holder = state[HOLDER]
        was = before[key] = _Before(holder, state[SHIPPED_TO], state[STATUS_], state[LAST])
        verdict_text = "unchecked"
        if run.checks:
            verdict = judge(state[GTIN], _grant(run, key, state[PARENT], state[BATCH]), was)
            verdict_text = _verdict_text(verdict)
            if verdict:
                _note_breach(run, subjects, key, None, state[KIND], was, verdict)
                if key in run.uniform and key not in subjects[key].counted:
                    subjects[key].counted.add(key)
                    subjects[key].items += _items_inside(run, key)
        final[key] = verdict_text
        movement(key, None, holder, verdict_text)
        if state[UPDATED] is not None and when < state[UPDATED]:
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
        if state[HOLDER] != holder and verdict_text != "alert":
            run.authorised[key] = state[HOLDER]
    if subjects:
        _alerts_for(run, stored, subjects, by_pk)


def _verdict_text(verdict: rules.Verdict) -> str:
    if verdict:
        return "alert"
    return "unchecked" if verdict is None else "ok"


def _group_keys(run: _Capture, group: _Group) -> list[str]:
    """The items of a group (read when they need rows of their own)."""
    return sorted(
        run.session.connection().scalars(
            select(ItemState.item).where(
                ItemState.tenant_id == run.tenant_id,
                ItemState.parent == group.parent,
                ItemState.kind == "item",
                ItemState.gtin.is_(None) if group.gtin is None else ItemState.gtin == group.gtin,
                ItemState.batch_id.is_(None)
                if group.batch is None
                else ItemState.batch_id == group.batch,
            )
        )
    )


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
    kind: str,
    was: _Before,
    breaches: list[rules.Breach],
    count: int = 1,
) -> None:
    subject_key = via or key
    subject = subjects.get(subject_key)
    if subject is None:
        subject_kind = _facts(run, subject_key)[0] if via else kind
        subject = _Subject(
            subject=subject_key,
            kind="container" if subject_kind == "container" else "item",
            representative=key,
            breaches=list(breaches),
            items=0,
            authorised_before=run.authorised.get(key, run.authorised.get(subject_key, _UNKNOWN)),
            holder_before=was.holder,
            shipment_pk=run.last_shipment.get(key)
            or run.last_shipment.get(subject_key)
            or (was.last if was.status == "in_transit" else None),
        )
        subjects[subject_key] = subject
    else:
        subject.breaches.extend(b for b in breaches if b not in subject.breaches)
    if kind != "container":
        subject.items += count


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
