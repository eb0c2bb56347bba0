"""The custody steps a consumer sees on the scan page: shipped, received, sold, returned.

Taken from the item's path (trace_api/movements/paths.py), which includes the steps of the
cases and pallets it travelled in. Parties are shown by name; places by division name.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, select

from trace_api.channels import divisions
from trace_api.instants import iso
from trace_api.models import ItemMovement, Organisation
from trace_api.movements import paths
from trace_api.movements.steps import ITEM_PREFIX
from trace_api.resolver.statements import first_row

_SHOWN = {"ship": "shipped", "receive": "received", "sell": "sold", "return": "returned"}
# Most scanned items never moved through the channel: one direct lookup says so.
_MOVED = (
    select(ItemMovement.event_pk)
    .where(ItemMovement.tenant_id == bindparam("tenant_id"), ItemMovement.item == bindparam("item"))
    .limit(1)
)
_MOVED_KEYS = ("tenant_id", "item")


def _moved(connection: Connection, tenant_id: str, item: str) -> bool:
    params = {"tenant_id": tenant_id, "item": item}
    return first_row(connection, _MOVED, _MOVED_KEYS, params) is not None


def custody_events(
    connection: Connection, tenant_id: str, gtin: str, serial: str
) -> list[dict[str, Any]]:
    """The item's custody steps in order, as timeline entries."""
    item = f"{ITEM_PREFIX}{gtin}/21/{serial}"
    if not _moved(connection, tenant_id, item):
        return []
    steps = [s for s in paths.path(connection, tenant_id, item) if s.step in _SHOWN]
    if not steps:
        return []
    ids = {org for s in steps for org in (s.from_org, s.to_org) if org}
    names = dict(
        connection.execute(
            select(Organisation.id, Organisation.name).where(
                Organisation.tenant_id == tenant_id, Organisation.id.in_(sorted(ids))
            )
        ).all()
    )
    events = []
    for s in steps:
        party = s.to_org if s.step == "receive" else s.from_org
        entry: dict[str, Any] = {"at": iso(s.at), "kind": _SHOWN[s.step]}
        entry["party"] = names.get(party) if party else None
        if s.step == "ship" and s.to_org:
            entry["to"] = names.get(s.to_org)
        if s.division_code:
            entry["region"] = s.division_code
            entry["region_name"] = _place(s.division_code)
        events.append(entry)
    return events


def _place(code: str) -> str | None:
    try:
        return divisions.display_name(code)
    except divisions.InvalidDivision:
        return None
