"""Consumer scans with a location: is the item where its allocation says it may be sold?

Called by the resolver only when the client gave a region or coordinates. It reads the
item's state with an indexed look-up (one more per container it is in) and its
allocations with one more; only goods with an allocation go on to the territory rule
(docs/channels.md,
``consumer_scan_outside_territory``), and an alert is raised at most once while one is
open for the item.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from trace_api.alerts import service as alerts_service
from trace_api.models import Allocation, DiversionAlert
from trace_api.movements import channel_view, evidence, paths, rules
from trace_api.movements.channel_view import Grant
from trace_api.movements.steps import ITEM_PREFIX

ACTOR = "consumer-scan"
RULE = "consumer_scan_outside_territory"


def check_scan(
    *,
    connection: Connection,
    session: Any,
    tenant_id: str,
    gtin: str,
    serial: str,
    batch_id: str,
    region: str | None,
    lat: float | None,
    lon: float | None,
    at: datetime,
) -> str | None:
    """Raise an alert if this located scan is outside the item's territory; its id if so.

    ``session`` is a callable giving an ORM session in the same transaction (opened only
    when an alert has to be written or the channel read).
    """
    key = f"{ITEM_PREFIX}{gtin}/21/{quote(serial, safe='')}"
    known = paths.state_values(connection, tenant_id, key)  # through its containers
    status, holder, parent = (
        (known[0].status, known[0].holder_org, known[0].parent)
        if known is not None
        else (None, None, None)
    )
    targets = [key, batch_id] + ([parent] if parent else [])
    grants = {
        target: Grant(grant_id, org, division)
        for grant_id, target, kind, org, division in connection.execute(
            select(
                Allocation.id,
                Allocation.target,
                Allocation.target_kind,
                Allocation.organisation_id,
                Allocation.division_code,
            ).where(
                Allocation.tenant_id == tenant_id,
                Allocation.target.in_(targets),
                Allocation.replaced_at.is_(None),
            )
        )
        if (kind == "batch") == (target == batch_id)
    }
    grant = grants.get(key) or (grants.get(parent) if parent else None) or grants.get(batch_id)
    if grant is None:
        return None
    orm: Session = session()
    view = channel_view.load(orm, tenant_id)
    goods = rules.Goods(grant, gtin, holder, None, status)
    step = rules.Step("scan", None, None, region, lat, lon)
    found = rules.territory_breach(view, step, goods, None, rule=RULE, never_sold_severity="medium")
    if not found:
        return None
    open_already = orm.scalar(
        select(DiversionAlert.id).where(
            DiversionAlert.tenant_id == tenant_id,
            DiversionAlert.subject == key,
            DiversionAlert.rule == RULE,
            DiversionAlert.status.in_(("open", "acknowledged")),
        )
    )
    if open_already is not None:
        return None
    alert = evidence.build_alert(
        session=orm,
        tenant_id=tenant_id,
        subject=key,
        subject_kind="item",
        item_count=1,
        breaches=found,
        blamed=evidence.authorised_holder(orm, tenant_id, key, holder),
        event=None,
        shipment_pk=evidence.last_shipment(orm, tenant_id, key),
        known={},
        scan={
            "at": at.isoformat().replace("+00:00", "Z"),
            "region": region,
            "lat": lat,
            "lon": lon,
        },
    )
    return alerts_service.raise_alerts(
        session=orm, tenant_id=tenant_id, alerts=[alert], actor=ACTOR
    )[0]
