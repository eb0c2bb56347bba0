"""What is inside the containers a capture names, read once per capture.

A scan of a pallet moves every case and item inside it. The engine needs the states of
the keys named and of the containers they are in (to resolve theirs), and, with route
checks on, what is packed inside the containers named (as packed by earlier
AggregationEvents, transitively): items alike inside a container are read as counts
(:class:`~trace_api.movements.capture_run.Group`) unless they need judging one by one.
Everything is bulk: a fixed number of statements per chunk of keys, none per item.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import String, case, func, literal, literal_column, select, type_coerce

from trace_api.epcis import sql
from trace_api.epcis.events import PreparedEvent
from trace_api.epcis.stored import StoredEvent
from trace_api.models import ItemState
from trace_api.movements import paths
from trace_api.movements.capture_run import CaptureRun, Group
from trace_api.movements.channel_view import Grant
from trace_api.movements.item_state import COLUMNS, State

MOVED_ROLES = ("e", "p", "c", "i", "o")  # the roles of keys an event moves


def _columns() -> list[Any]:
    # updated_at comes as stored (SQLite: text) and is converted once per distinct value
    # in _keep: the goods of one pallet share it, and parsing it row by row is the
    # dearest part of reading a state.
    columns: list[Any] = [getattr(ItemState, name) for name in COLUMNS]
    columns[COLUMNS.index("updated_at")] = type_coerce(ItemState.updated_at, String())
    return columns


def _keep(run: CaptureRun, rows: Iterable[Any]) -> list[str]:
    found = []
    times = run.times
    for item, *values in rows:
        if item not in run.states:
            state = run.states[item] = State(*values)
            stamp: Any = state.updated_at
            if isinstance(stamp, str):
                converted = times.get(stamp)
                if converted is None:
                    converted = times[stamp] = run.read_time(stamp)
                state.updated_at = converted
            run.originals[item] = state.values()
            found.append(item)
    return found


def load_states(run: CaptureRun, keys: set[str]) -> None:
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
        wanted = {p for k in found if (p := run.states[k].parent)}
        wanted -= run.states.keys()


def emptied(events: Iterable[StoredEvent]) -> set[str]:
    """The containers of unpacking events that name no children (all of them come out)."""
    found: set[str] = set()
    for stored in events:
        prepared = stored.prepared
        if prepared.event_type == "AggregationEvent" and prepared.action == "DELETE":
            roles = {role for _, role in prepared.epcs}
            if "c" not in roles:
                found.update(k for k, role in prepared.epcs if role == "p")
    return found


def load_contents(
    run: CaptureRun, roots: set[str], *, deep: bool = True, grouped: bool = False
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
                    group = Group(str(parent), gtin, batch_id, int(count))
                    run.groups.setdefault(group.parent, []).append(group)
                    continue
                run.children.setdefault(str(parent), []).append(key)
                if key not in run.states:
                    run.contents[key] = (kind, gtin, batch_id, parent)
                if kind == "container":
                    found.add(key)
        frontier = found - expanded if deep else set()


def uniform(run: CaptureRun, containers: set[str]) -> set[str]:
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
        if grant(run, key, run.states[key].parent, None) is not None
    }


UNIFORM_GRANTS_UP_TO = 5_000  # container allocations whose places are read to find uniform


def _parents(run: CaptureRun, keys: set[str]) -> dict[str, str | None]:
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


def items_inside(run: CaptureRun, container: str) -> int:
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


def facts(run: CaptureRun, key: str) -> tuple[str, str | None, str | None, str | None]:
    """Kind, GTIN, batch and parent of a key read in full or as contents."""
    state = run.states.get(key)
    if state is not None:
        return state.kind, state.gtin, state.batch_id, state.parent
    return run.contents.get(key, ("item", None, None, None))


def resolve(run: CaptureRun, key: str) -> State:
    """The key's state with what its containers did since (paths.take_moves), in place:
    the key is named by an event, so its own row is about to be written."""
    state = run.states[key]
    chain: list[State] = []
    parent = state.parent
    while parent is not None and parent != key and len(chain) < paths.MAX_DEPTH:
        above = run.states.get(parent)
        if above is None or any(above is c for c in chain):
            break
        chain.append(above)
        parent = above.parent
    paths.take_moves(state, chain)
    return state


Target = tuple[str | Group, str | None]


def targets(run: CaptureRun, prepared: PreparedEvent, step: str) -> list[Target]:
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
        named = sorted(k for k, role in prepared.epcs if role in MOVED_ROLES)
    out: list[Target] = []
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


def grant(run: CaptureRun, key: str, parent: str | None, batch: str | None) -> Grant | None:
    """The most specific current allocation: item, containers innermost first, batch."""
    if run.grants:
        found = run.grants.get(key)
        if found is None and parent is not None:
            found = _container_grant(run, parent)
        if found is not None:
            return found
    return run.view.batch_grants.get(batch) if batch else None


def _container_grant(run: CaptureRun, container: str) -> Grant | None:
    """The allocation of the innermost allocated container from ``container`` up (memoised
    per capture until something is packed or unpacked)."""
    if container in run.container_grants:
        return run.container_grants[container]
    found: Grant | None = None
    parent: str | None = container
    hops = 0
    while found is None and parent is not None and hops < paths.MAX_DEPTH:
        found = run.grants.get(parent)
        parent = facts(run, parent)[3]
        hops += 1
    run.container_grants[container] = found
    return found


def group_keys(run: CaptureRun, group: Group) -> list[str]:
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
