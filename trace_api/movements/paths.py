"""An item's state and path, worked out through the containers it is or was in.

Moving a container writes the container's state and one movement row for it, not one per
item inside (docs/channels.md, "Movements and state"). So:

- an item's state is the newest of its own row and the rows of the containers it is in
  (its parent, the parent's parent, ...): the item's own row is rewritten whenever the
  item is named by an event (packed, unpacked, moved on its own), so a container's row
  only wins while the container has moved since;
- an item's path is its own movement rows plus, for each time it was inside a container
  (from its own pack to its own unpack, both taken from its own rows), the container's
  path in between, less the container's packing and unpacking of other goods. A row of
  its own for an event (a verdict that differed from its container's) wins.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from trace_api.models import EpcisEventEpc, ItemMovement, ItemState
from trace_api.movements.item_state import COLUMNS, State

MAX_DEPTH = 32  # containers inside containers, at most (a guard against a cycle)

Reader = Session | Connection


def take_moves(state: State, containers: Iterable[State]) -> None:
    """Give ``state`` what the newest of ``containers`` did after it (in place)."""
    newest = state
    for container in containers:
        if container.is_newer(newest):
            newest = container
    if newest is state:
        return
    state.status = newest.status
    state.holder_org = newest.holder_org
    state.shipped_to_org = newest.shipped_to_org
    state.last_event_pk = newest.last_event_pk
    state.updated_at = newest.updated_at
    # An event without a place leaves the last one.
    if newest.location is not None:
        state.location = newest.location
    if newest.division_code is not None:
        state.division_code = newest.division_code


def _row(reader: Reader, tenant_id: str, key: str) -> State | None:
    found = reader.execute(
        select(*(getattr(ItemState, name) for name in COLUMNS)).where(
            ItemState.tenant_id == tenant_id, ItemState.item == key
        )
    ).one_or_none()
    return State(*found) if found is not None else None


def state_values(reader: Reader, tenant_id: str, key: str) -> tuple[State, list[str]] | None:
    """The key's state and its containers, innermost first."""
    own = _row(reader, tenant_id, key)
    if own is None:
        return None
    chain: list[str] = []
    rows: list[State] = []
    parent = own.parent
    while parent is not None and parent not in chain and parent != key and len(chain) < MAX_DEPTH:
        row = _row(reader, tenant_id, parent)
        chain.append(parent)
        if row is None:
            break
        rows.append(row)
        parent = row.parent
    take_moves(own, rows)
    return own, chain


def item_state(reader: Reader, tenant_id: str, key: str) -> ItemState | None:
    """The key's state as a detached ItemState (never added to a session)."""
    found = state_values(reader, tenant_id, key)
    if found is None:
        return None
    return ItemState(tenant_id=tenant_id, item=key, **found[0].columns())


@dataclass(frozen=True, slots=True)
class PathStep:
    """One step of a path: an item_movements row, seen from the item."""

    event_pk: int
    at: datetime
    step: str
    from_org: str | None
    to_org: str | None
    division_code: str | None
    via: str | None
    verdict: str

    @property
    def order(self) -> tuple[datetime, int]:
        return self.at, self.event_pk


def _own_steps(reader: Reader, tenant_id: str, key: str) -> list[PathStep]:
    rows = reader.execute(
        select(
            ItemMovement.event_pk,
            ItemMovement.at,
            ItemMovement.step,
            ItemMovement.from_org,
            ItemMovement.to_org,
            ItemMovement.division_code,
            ItemMovement.via,
            ItemMovement.verdict,
        ).where(ItemMovement.tenant_id == tenant_id, ItemMovement.item == key)
    ).all()
    return [PathStep(*row) for row in rows]


def _roles(reader: Reader, tenant_id: str, key: str) -> tuple[set[int], set[int]]:
    """The events naming ``key`` as a parent, and those naming it as a child."""
    parent_of: set[int] = set()
    child_of: set[int] = set()
    for event_pk, role in reader.execute(
        select(EpcisEventEpc.event_pk, EpcisEventEpc.role).where(
            EpcisEventEpc.tenant_id == tenant_id,
            EpcisEventEpc.epc == key,
            EpcisEventEpc.role.in_(("p", "c")),
        )
    ):
        (parent_of if role == "p" else child_of).add(int(event_pk))
    return parent_of, child_of


def _parents_of(reader: Reader, tenant_id: str, events: set[int]) -> dict[int, str]:
    if not events:
        return {}
    return {
        int(event_pk): epc
        for event_pk, epc in reader.execute(
            select(EpcisEventEpc.event_pk, EpcisEventEpc.epc).where(
                EpcisEventEpc.tenant_id == tenant_id,
                EpcisEventEpc.role == "p",
                EpcisEventEpc.event_pk.in_(sorted(events)),
            )
        )
    }


Window = tuple[str, tuple[datetime, int], tuple[datetime, int] | None]


def _windows(
    reader: Reader, tenant_id: str, own: list[PathStep], child_of: set[int], parent_of: set[int]
) -> list[Window]:
    """The containers the key was in, each from its packing to its unpacking (exclusive)."""
    moves = [s for s in own if s.via is None and s.step in ("pack", "unpack")]
    packs = {s.event_pk for s in moves if s.step == "pack" and s.event_pk in child_of}
    parents = _parents_of(reader, tenant_id, packs)
    windows: list[Window] = []
    current: tuple[str, tuple[datetime, int]] | None = None
    for s in sorted(moves, key=lambda m: m.order):
        if s.event_pk in parent_of:
            continue  # the key is the container of this packing, not its goods
        if current is not None:
            windows.append((current[0], current[1], s.order))
            current = None
        if s.step == "pack" and s.event_pk in parents:
            current = (parents[s.event_pk], s.order)
    if current is not None:
        windows.append((current[0], current[1], None))
    return windows


def path(reader: Reader, tenant_id: str, key: str, depth: int = 0) -> list[PathStep]:
    """Every step of ``key``'s path (see the module docstring), in order."""
    own = _own_steps(reader, tenant_id, key)
    if not own:
        return []  # a key any event named has rows of its own (packing included)
    steps = {s.event_pk: s for s in own}
    parent_of, child_of = _roles(reader, tenant_id, key)
    if depth < MAX_DEPTH:
        for container, start, end in _windows(reader, tenant_id, own, child_of, parent_of):
            others, _ = _roles(reader, tenant_id, container)
            for s in path(reader, tenant_id, container, depth + 1):
                if s.event_pk in steps or s.event_pk in others:
                    continue
                if s.order <= start or (end is not None and s.order >= end):
                    continue
                steps[s.event_pk] = replace(s, via=s.via or container)
    return sorted(steps.values(), key=lambda s: s.order)
