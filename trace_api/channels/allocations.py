"""Allocations: goods (items, cases/pallets, whole batches) allocated to a party, optionally
for one division inside its territory. A change is a new row and ``replaced_at`` on the old
one; both the creation and the change are audit-log entries that name the goods.

Services never commit: the caller owns the transaction (one per request or job).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, String, and_, bindparam, func, or_, select, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from crypto.errors import InvalidSerial
from crypto.serials import validate_serial
from trace_api.audit import log as audit_log
from trace_api.channels import divisions
from trace_api.channels import service as channel_service
from trace_api.codes import service as codes_service
from trace_api.cursors import decode_cursor, encode_cursor
from trace_api.epcis import bulk, identifiers
from trace_api.errors import Forbidden, InvalidInput, NotFound
from trace_api.models import Allocation, Batch, Code, CodeIssuance, Product, new_id, utcnow
from trace_api.owned import get_owned
from trace_api.tenancy import service as tenancy_service

ALLOCATION_CREATED = "allocation.created"
ALLOCATION_CHANGED = "allocation.changed"
CHUNK = 5000  # identifiers per IN (...) query: well under SQLite's and PostgreSQL's limits
ENTRY_ITEMS = 10_000  # targets per audit entry, so one entry stays a few hundred kB
SHOWN = 1000  # a result lists its rows up to this many targets
ANALYZE_AFTER = 10_000  # rows written in one call that make it a bulk load
_ITEM_KEY = re.compile(re.escape(identifiers.CANONICAL_BASE) + r"/01/\d{14}/21/[^/?#]+")
_T = TypeVar("_T")
_S = TypeVar("_S", bound="Select[*tuple[Any, ...]]")


@dataclass(frozen=True)
class AllocationSummary:
    """What one allocation call did."""

    target_kind: str
    organisation_id: str
    division_code: str | None
    created: int
    changed: int
    unchanged: int
    rows: list[dict[str, Any]]


def chunks(values: Sequence[_T], size: int = CHUNK) -> Iterator[Sequence[_T]]:
    """``values`` in slices of at most ``size``."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def among(session: Session, query: _S, column: Any, values: Sequence[str]) -> _S:
    """``query`` limited to rows whose ``column`` is one of ``values``.

    On PostgreSQL the values are one array parameter, joined as a table: an ``IN`` list (or
    ``= ANY``) turns into a per-row scan of the list under a generic plan of a prepared
    statement, and a join stays a hash or index lookup under any plan.
    """
    if _postgres(session):
        array = bindparam(None, list(values), type_=postgresql.ARRAY(String))
        keys = func.unnest(array).table_valued("key").render_derived(name="wanted")
        return query.join(keys, column == keys.c.key)
    return query.where(column.in_(values))


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def plan_each_lookup(session: Session) -> None:
    """Make PostgreSQL plan each chunked lookup for its own values, for this transaction.

    The same statement run chunk after chunk is prepared by the driver, and a generic plan
    made without statistics (a freshly loaded table) can scan the table once per value.
    """
    if _postgres(session):
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


def item_key(gtin: str, serial: str) -> str:
    """The canonical key of one of our items."""
    return f"{identifiers.CANONICAL_BASE}/01/{gtin}/21/{serial}"


def container_key(code: str) -> str:
    """The canonical key of a case or pallet; InvalidInput says why ``code`` is not one."""
    key = identifiers.sscc_key(code)
    if key is None:
        raise InvalidInput(
            "not a container: give an 18-digit SSCC, a /00/ Digital Link or an SSCC EPC URN"
        )
    return key


def item_keys(*, session: Session, tenant_id: str, codes: Sequence[str]) -> list[str]:
    """Canonical keys of items given as our serials, Digital Links or SGTIN URNs.

    InvalidInput lists every code that is malformed or, as a serial, not one of the tenant's.
    """
    keys: list[str] = []
    serials: dict[str, str] = {}  # normalised serial -> as given
    invalid: list[dict[str, str]] = []
    for code in codes:
        value = code.strip()
        if value.startswith(("urn:", "http://", "https://")):
            key = identifiers.canonical(value)
            if _ITEM_KEY.fullmatch(key):
                keys.append(key)
            else:
                invalid.append({"code": code, "reason": "not an item (GTIN with serial)"})
            continue
        try:
            serials[validate_serial(value)] = code
        except InvalidSerial as exc:
            invalid.append({"code": code, "reason": str(exc)})
    found: dict[str, str] = {}
    plan_each_lookup(session)
    for chunk in chunks(list(serials)):
        query = (
            select(Code.serial, Product.gtin)
            .join(CodeIssuance, CodeIssuance.id == Code.issuance_id)
            .join(Batch, Batch.id == CodeIssuance.batch_id)
            .join(Product, Product.id == Batch.product_id)
            .where(CodeIssuance.tenant_id == tenant_id)
        )
        rows = session.execute(among(session, query, Code.serial, chunk))
        found.update((serial, gtin) for serial, gtin in rows)
    unknown = [given for serial, given in serials.items() if serial not in found]
    if invalid or unknown:
        named = [i["code"] for i in invalid] + unknown
        shown = ", ".join(repr(c) for c in named[:20]) + (" ..." if len(named) > 20 else "")
        raise InvalidInput(
            f"{len(unknown)} unknown and {len(invalid)} malformed item codes: {shown}",
            unknown=unknown,
            invalid=invalid,
        )
    keys.extend(item_key(gtin, serial) for serial, gtin in found.items())
    return list(dict.fromkeys(keys))


def container_keys(codes: Sequence[str]) -> list[str]:
    """Canonical keys of containers; InvalidInput lists each malformed one and why."""
    keys, invalid = [], []
    for code in codes:
        try:
            keys.append(container_key(code))
        except InvalidInput as exc:
            invalid.append({"code": code, "reason": exc.detail})
    if invalid:
        raise InvalidInput(
            "invalid containers: " + "; ".join(f"{i['code']!r} ({i['reason']})" for i in invalid),
            invalid=invalid,
        )
    return list(dict.fromkeys(keys))


def target_key(*, session: Session, tenant_id: str, code: str) -> str:
    """The stored key of a target given in any accepted form (unknown forms as given)."""
    value = code.strip()
    if value.startswith(("urn:", "http://", "https://")):
        return identifiers.canonical(value)
    if value.isdigit() and len(value) == 18:
        return f"{identifiers.CANONICAL_BASE}/00/{value}"
    try:
        return item_keys(session=session, tenant_id=tenant_id, codes=[value])[0]
    except InvalidInput:
        return value  # a batch id, or nothing we know: it simply matches no allocation


def check_division_in_territory(
    *, session: Session, tenant_id: str, organisation_id: str, division_code: str
) -> None:
    """InvalidInput unless the division lies inside the organisation's effective territory."""
    channel_service.check_division(division_code)
    territory = channel_service.effective_territories(
        session=session, tenant_id=tenant_id, organisation_id=organisation_id
    )
    if not divisions.covered_by_any(territory.values, division_code):
        held = ", ".join(territory.values) or "none"
        raise InvalidInput(
            f"division {division_code} is outside the organisation's territory ({held})"
        )


def _one_allocation_at_a_time(session: Session, tenant_id: str) -> None:
    """Serialise a tenant's allocations, so two calls can't both find a target free and
    each leave a current allocation. PostgreSQL: a transaction-scoped advisory lock;
    SQLite: the database's write lock, taken now rather than at the first insert."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"allocations/{tenant_id}"},
        )
    else:
        session.execute(
            update(Allocation).where(Allocation.id == "").values(note="")
        )  # a write that matches nothing: it takes the write lock


def allocate(
    *,
    session: Session,
    tenant_id: str,
    organisation_id: str,
    target_kind: str,
    targets: Sequence[str],
    division_code: str | None,
    note: str,
    actor: str,
) -> AllocationSummary:
    """Allocate canonical ``targets`` of one kind; replace current allocations that differ."""
    _one_allocation_at_a_time(session, tenant_id)
    tenancy_service.get_organisation(
        session=session, tenant_id=tenant_id, organisation_id=organisation_id
    )
    if division_code is not None:
        check_division_in_territory(
            session=session,
            tenant_id=tenant_id,
            organisation_id=organisation_id,
            division_code=division_code,
        )
    current: dict[str, tuple[str, str, str | None]] = {}
    plan_each_lookup(session)
    for chunk in chunks(targets):
        query = select(
            Allocation.target, Allocation.id, Allocation.organisation_id, Allocation.division_code
        ).where(Allocation.tenant_id == tenant_id, Allocation.replaced_at.is_(None))
        found = session.execute(among(session, query, Allocation.target, chunk))
        current.update((target, (row_id, org, div)) for target, row_id, org, div in found)
    new = (organisation_id, division_code)
    fresh = [t for t in targets if t not in current]
    changed = [t for t in targets if t in current and current[t][1:] != new]
    now = utcnow()
    for chunk in chunks([current[t][0] for t in changed]):
        # The primary key's index serves an IN list under any plan.
        session.execute(update(Allocation).where(Allocation.id.in_(chunk)).values(replaced_at=now))
    rows = [
        {
            "id": new_id(),
            "tenant_id": tenant_id,
            "target_kind": target_kind,
            "target": target,
            "organisation_id": organisation_id,
            "division_code": division_code,
            "note": note,
            "created_by": actor,
            "created_at": now,
            "replaced_at": None,
        }
        for target in fresh + changed
    ]
    bulk.insert_rows(session, Allocation, rows)  # COPY on PostgreSQL for many rows
    if _postgres(session) and len(rows) >= ANALYZE_AFTER:
        # A bulk load: give the planner statistics now rather than at autovacuum's next pass.
        session.execute(text("ANALYZE allocations"))
    _log(session, tenant_id, target_kind, new, note, fresh, changed, current, actor, now)
    return AllocationSummary(
        target_kind=target_kind,
        organisation_id=organisation_id,
        division_code=division_code,
        created=len(fresh),
        changed=len(changed),
        unchanged=len(targets) - len(fresh) - len(changed),
        rows=rows if len(targets) <= SHOWN else [],
    )


def _log(
    session: Session,
    tenant_id: str,
    target_kind: str,
    new: tuple[str, str | None],
    note: str,
    fresh: list[str],
    changed: list[str],
    current: dict[str, tuple[str, str, str | None]],
    actor: str,
    at: datetime,
) -> None:
    to = {"organisation_id": new[0], "division_code": new[1]}
    changes = [
        audit_log.Change(
            ALLOCATION_CREATED,
            {"target_kind": target_kind, **to, "note": note, "count": len(chunk)},
            actor=actor,
            organisation_id=new[0],
            items=chunk,
        )
        for chunk in chunks(fresh, ENTRY_ITEMS)
    ]
    by_old: dict[tuple[str, str | None], list[str]] = {}
    for target in changed:
        by_old.setdefault(current[target][1:], []).append(target)
    for (old_org, old_division), moved in sorted(by_old.items(), key=lambda kv: str(kv[0])):
        changes.extend(
            audit_log.Change(
                ALLOCATION_CHANGED,
                {
                    "target_kind": target_kind,
                    "from": {"organisation_id": old_org, "division_code": old_division},
                    "to": to,
                    "note": note,
                    "count": len(chunk),
                },
                actor=actor,
                organisation_id=new[0],
                items=chunk,
            )
            for chunk in chunks(moved, ENTRY_ITEMS)
        )
    audit_log.append_many(session=session, tenant_id=tenant_id, changes=changes, at=at)


def batch_target(*, session: Session, tenant_id: str, batch_id: str) -> str:
    """The target of a whole batch: its id, once it is known to be the tenant's."""
    return codes_service.get_batch(session=session, tenant_id=tenant_id, batch_id=batch_id).id


def get_allocation(
    *, session: Session, tenant_id: str, allocation_id: str, viewer_org: str | None = None
) -> Allocation:
    """One of the tenant's allocations (current or replaced); a dealer (``viewer_org``)
    finds only its own organisation's."""
    record = get_owned(session, Allocation, allocation_id, tenant_id=tenant_id, noun="allocation")
    if viewer_org is not None and record.organisation_id != viewer_org:
        raise NotFound(f"no allocation {allocation_id}")
    return record


def list_allocations(
    *,
    session: Session,
    tenant_id: str,
    organisation_id: str | None = None,
    target: str | None = None,
    include_replaced: bool = False,
    limit: int = 100,
    cursor: str | None = None,
    viewer_org: str | None = None,
) -> tuple[list[Allocation], str | None]:
    """A page of allocations, oldest first, and the cursor of the next page (or None).

    A dealer (``viewer_org``) reads only its own organisation's."""
    if viewer_org is not None:
        if organisation_id not in (None, viewer_org):
            raise Forbidden("a dealer key reads only its own organisation's allocations")
        organisation_id = viewer_org
    query = select(Allocation).where(Allocation.tenant_id == tenant_id)
    if organisation_id is not None:
        query = query.where(Allocation.organisation_id == organisation_id)
    if target is not None:
        key = target_key(session=session, tenant_id=tenant_id, code=target)
        query = query.where(Allocation.target == key)
    if not include_replaced:
        query = query.where(Allocation.replaced_at.is_(None))
    if cursor is not None:
        at, last_id = decode_cursor(cursor)
        query = query.where(
            or_(
                Allocation.created_at > at,
                and_(Allocation.created_at == at, Allocation.id > last_id),
            )
        )
    query = query.order_by(Allocation.created_at, Allocation.id).limit(limit + 1)
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None
