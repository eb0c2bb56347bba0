"""A channel for movement tests: organisations, territories, keys, codes and allocations.

The channel configuration is written as ORM rows (the configuration API is another
module's); the goods move through the HTTP API only.

    brand (no territory: everywhere)
    ├── zj_dist   330000 Zhejiang
    │   ├── hz_dealer   330100 Hangzhou
    │   │   └── hz_retail   (inherits Hangzhou)
    │   └── nb_dealer   330200 Ningbo
    └── js_dist   320000 Jiangsu
        └── js_dealer   320100 Nanjing
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from fixtures.app import TenantKeys
from fixtures.codes import IssuedBatch, issue_batch
from trace_api.components import Components
from trace_api.db import transaction
from trace_api.models import (
    Allocation,
    AuditEntry,
    ChannelCrossEdge,
    ChannelProductScope,
    ChannelTerritory,
    DiversionAlert,
    EpcisEvent,
    ItemMovement,
    ItemState,
)
from trace_api.movements import paths
from trace_api.tenancy import service as tenancy_service

TREE: list[tuple[str, str, str | None, str | None]] = [
    ("brand", "brand", None, None),
    ("zj_dist", "distributor", "brand", "330000"),
    ("hz_dealer", "dealer", "zj_dist", "330100"),
    ("hz_retail", "retailer", "hz_dealer", None),
    ("nb_dealer", "dealer", "zj_dist", "330200"),
    ("js_dist", "distributor", "brand", "320000"),
    ("js_dealer", "dealer", "js_dist", "320100"),
]
HANGZHOU_WEST_LAKE = "330106"
NANJING_XUANWU = "320102"


@dataclass
class Channel:
    app: FastAPI
    client: TestClient
    tenant: TenantKeys
    orgs: dict[str, str] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    batch: IssuedBatch | None = None

    def auth(self, org: str) -> dict[str, str]:
        """The headers of ``org``'s dealer key (or a tenant role: operator, admin, ...)."""
        if org in self.tenant.keys:
            return self.tenant.auth(org)
        return {"Authorization": f"Bearer {self.keys[org]}"}

    def serial(self, n: int) -> str:
        assert self.batch is not None
        return str(self.batch.codes[n]["serial"])

    def key(self, n: int) -> str:
        assert self.batch is not None
        return f"https://id.gs1.org/01/{gtin_of(self.batch)}/21/{self.serial(n)}"

    def scan(self, org: str, action: str, expect: int = 201, **body: Any) -> dict[str, Any]:
        """POST /v1/scans/{action} as ``org``; asserts the status and returns the body."""
        response = self.client.post(f"/v1/scans/{action}", json=body, headers=self.auth(org))
        assert response.status_code == expect, response.text
        return dict(response.json())

    def move(self, sender: str, receiver: str, codes: list[str], **extra: Any) -> None:
        """A shipment and its receipt, both expected to raise nothing."""
        shipped = self.scan(sender, "ship", codes=codes, to=self.orgs[receiver], **extra)
        assert shipped["alerts"] == [], shipped
        received = self.scan(receiver, "receive", codes=codes, **extra)
        assert received["alerts"] == [], received

    def alerts(self) -> list[DiversionAlert]:
        with transaction(Components.of(self.app).sessions) as session:
            return list(
                session.scalars(
                    select(DiversionAlert)
                    .where(DiversionAlert.tenant_id == self.tenant.tenant_id)
                    .order_by(DiversionAlert.created_at)
                )
            )

    def state(self, key: str) -> ItemState | None:
        """The key's state as the API shows it (through its containers), detached."""
        with transaction(Components.of(self.app).sessions) as session:
            return paths.item_state(session, self.tenant.tenant_id, key)

    def path(self, key: str) -> list[paths.PathStep]:
        with transaction(Components.of(self.app).sessions) as session:
            return paths.path(session, self.tenant.tenant_id, key)

    def counts(self) -> tuple[int, int, int, int]:
        """Events, item states, movements and alerts stored for the tenant."""
        with transaction(Components.of(self.app).sessions) as session:
            return tuple(  # type: ignore[return-value]
                int(
                    session.scalar(
                        select(func.count())
                        .select_from(model)
                        .where(model.tenant_id == self.tenant.tenant_id)
                    )
                    or 0
                )
                for model in (EpcisEvent, ItemState, ItemMovement, DiversionAlert)
            )

    def add(self, *rows: Any) -> None:
        with transaction(Components.of(self.app).sessions) as session:
            session.add_all(rows)

    def allocate(
        self, target_kind: str, target: str, org: str, division: str | None = None
    ) -> None:
        self.add(
            Allocation(
                tenant_id=self.tenant.tenant_id,
                target_kind=target_kind,
                target=target,
                organisation_id=self.orgs[org],
                division_code=division,
                created_by="test",
            )
        )

    def cross_edge(self, source: str, destination: str) -> None:
        self.add(
            ChannelCrossEdge(
                tenant_id=self.tenant.tenant_id,
                from_org=self.orgs[source],
                to_org=self.orgs[destination],
                reason="sanctioned transfer",
            )
        )

    def scope(self, org: str, scope: str) -> None:
        self.add(
            ChannelProductScope(
                tenant_id=self.tenant.tenant_id, organisation_id=self.orgs[org], scope=scope
            )
        )


def build_channel(app: FastAPI, client: TestClient, tenant: TenantKeys, codes: int = 10) -> Channel:
    """The channel above, a dealer key per organisation, ``codes`` codes of one batch
    allocated to the Zhejiang distributor."""
    channel = Channel(app, client, tenant)
    with transaction(Components.of(app).sessions) as session:
        for name, kind, parent, territory in TREE:
            org = tenancy_service.create_organisation(
                session=session,
                tenant_id=tenant.tenant_id,
                name=name,
                kind=kind,
                parent_id=channel.orgs[parent] if parent else None,
            )
            channel.orgs[name] = org.id
            if territory:
                session.add(
                    ChannelTerritory(
                        tenant_id=tenant.tenant_id, organisation_id=org.id, division_code=territory
                    )
                )
            channel.keys[name] = tenancy_service.issue_api_key(
                session=session, tenant_id=tenant.tenant_id, role="dealer", organisation_id=org.id
            ).text
    if codes:
        channel.batch = issue_batch(client, tenant, count=codes)
        channel.allocate("batch", channel.batch.batch_id, "zj_dist")
    return channel


def gtin_of(batch: IssuedBatch) -> str:
    """The GTIN-14 of a batch's codes (from their Digital Link URIs)."""
    uri = str(batch.codes[0]["uri"])
    return uri.split("/01/", 1)[1].split("/", 1)[0]


def sscc(n: int) -> str:
    """An SSCC (18 digits, check digit computed) for container ``n``."""
    body = f"0614141{n:010d}"
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str(-total % 10)


def last_seq(channel: Channel, kind: str) -> int:
    """The number of the tenant's newest audit log entry of ``kind``."""
    with transaction(Components.of(channel.app).sessions) as session:
        seq = session.scalar(
            select(func.max(AuditEntry.seq)).where(
                AuditEntry.tenant_id == channel.tenant.tenant_id, AuditEntry.kind == kind
            )
        )
    assert seq is not None, kind
    return int(seq)
