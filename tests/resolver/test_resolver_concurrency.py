"""Concurrent scans of one code give an exact count, on SQLite and on PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from fastapi import FastAPI
from fastapi.testclient import TestClient

from fixtures.app import TenantKeys
from fixtures.codes import JSON, issue_batch
from trace_api.codes.gs1 import parse_item_link
from trace_api.components import Components
from trace_api.ratelimit import TokenBuckets
from trace_api.resolver.service import Resolver

THREADS = 8
SCANS = 25


def test_concurrent_scans_over_http_count_exactly(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    issued = issue_batch(client, tenant, count=1)
    Components.of(app).resolver.requests = TokenBuckets(
        rate=1e6, burst=1e6
    )  # not what is tested here

    def scan(_: int) -> int:
        return int(client.get(issued.path(0), headers=JSON).json()["scans"]["count"])

    with ThreadPoolExecutor(THREADS) as pool:
        counts = list(pool.map(scan, range(THREADS * SCANS)))
    assert sorted(counts) == list(range(1, THREADS * SCANS + 1))  # each count seen once
    assert (
        client.get(f"/v1/codes/{issued.codes[0]['serial']}", headers=tenant.auth("admin")).json()[
            "scan_count"
        ]
        == THREADS * SCANS
    )


def test_concurrent_scans_from_separate_resolvers_count_exactly(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    """As from several server processes: no shared lock, only the database's atomicity."""
    issued = issue_batch(client, tenant, count=1)
    link = parse_item_link(issued.path(0))
    resolvers = [
        Resolver(
            settings=Components.of(app).settings,
            master_key=Components.of(app).master_key,
            gateway=Components.of(app).gateway,
        )
        for _ in range(THREADS)
    ]

    def scan_many(resolver: Resolver) -> list[int]:
        counts = []
        for _ in range(SCANS):
            with resolver.scan_transaction(
                Components.of(app).sessions, Components.of(app).engine
            ) as session:
                result = resolver.resolve(
                    session=session, link=link, scan=resolver.scan_of("10.0.0.1")
                )
            counts.append(result.scans["count"])
        return counts

    with ThreadPoolExecutor(THREADS) as pool:
        counts = [c for chunk in pool.map(scan_many, resolvers) for c in chunk]
    assert sorted(counts) == list(range(1, THREADS * SCANS + 1))
