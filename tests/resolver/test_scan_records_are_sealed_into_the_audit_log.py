"""Scan records are sealed into the tenant's audit log: ranges that tile the id line, each
with its count and Merkle root, signed by the next checkpoint; never past a record that can
still appear."""

from __future__ import annotations

import json

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from scan_support import scan, unlimited

from crypto.merkle import MerkleTree
from fixtures.app import TenantKeys
from fixtures.audit import log_entries
from fixtures.codes import issue_batch
from trace_api.audit.checkpoints import create_checkpoint
from trace_api.codes.gs1 import parse_item_link
from trace_api.components import Components
from trace_api.db import transaction
from trace_api.resolver.recount import recount
from trace_api.resolver.seals import RECORDS, ScanSealer, record_bytes


def _seals(app: FastAPI, tenant_id: str) -> list[dict]:
    return [
        {**e["data"], "seq": e["seq"]}
        for e in log_entries(app, tenant_id)
        if e["kind"] == "scans.sealed"
    ]


def test_seals_tile_the_records_of_each_tenant_and_a_checkpoint_signs_them(
    client: TestClient, app: FastAPI, tenant: TenantKeys, other_tenant: TenantKeys
) -> None:
    unlimited(app)
    ours = issue_batch(client, tenant, count=2)
    theirs = issue_batch(client, other_tenant, count=1)
    scan(client, ours, 3)
    scan(client, theirs, 2)
    scan(client, ours, 1, n=1)
    sealer = ScanSealer(sessions=Components.of(app).sessions)
    assert sorted(s.count for s in sealer.run_once()) == [2, 4]
    assert sealer.run_once() == []  # nothing new
    scan(client, ours, 2)
    (later,) = sealer.run_once()
    first, second = _seals(app, tenant.tenant_id)
    assert first["from_id"] == 0 and second["from_id"] == first["to_id"] == later.from_id
    assert (first["count"], second["count"]) == (4, 2) and first["hash"] == "sm3"
    with transaction(
        Components.of(app).sessions
    ) as session:  # the root is over the canonical bytes
        rows = session.execute(
            RECORDS, {"tenant_id": tenant.tenant_id, "after": 0, "upto": first["to_id"]}
        ).all()
        tree = MerkleTree()
        for row in rows:
            tree.append(record_bytes(row))
            assert json.loads(record_bytes(row))["serial"] in {c["serial"] for c in ours.codes}
        assert tree.root().hex() == first["root"]
        checkpoint = create_checkpoint(
            session=session,
            tenant_id=tenant.tenant_id,
            signing_key=Components.of(app).signing_key,
            trees=Components.of(app).log_trees,
        )
        assert checkpoint is not None and checkpoint.checkpoint.size > second["seq"]
        found = recount(session=session, tenant_id=tenant.tenant_id)
    assert found.ok and found.seals == 2 and found.sealed_records == 6
    assert found.unsealed_records == 0 and found.codes_checked == 2


def test_sealers_of_two_processes_do_not_overlap(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    issued = issue_batch(client, tenant, count=1)
    scan(client, issued, 2)
    one, two = (
        ScanSealer(sessions=Components.of(app).sessions),
        ScanSealer(sessions=Components.of(app).sessions),
    )
    assert len(one.run_once()) == 1
    assert two.run_once() == []  # it finds the seal the other appended
    scan(client, issued, 1)
    assert [s.count for s in two.run_once()] == [1]
    assert [s.count for s in one.run_once()] == []
    with transaction(Components.of(app).sessions) as session:
        assert recount(session=session, tenant_id=tenant.tenant_id).ok


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # SQLite: one writer
def test_no_seal_passes_a_record_whose_transaction_is_still_open(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    issued = issue_batch(client, tenant, count=2)
    scan(client, issued, 1)  # first scans append to the log: the open one must not
    scan(client, issued, 1, n=1)
    ScanSealer(sessions=Components.of(app).sessions).run_once()
    resolver = Components.of(app).resolver
    open_scan = Components.of(app).sessions()
    try:  # draws a record id and does not commit yet
        resolver.resolve(
            session=open_scan, link=parse_item_link(issued.path(0)), scan=resolver.scan_of("a")
        )
        scan(client, issued, 1, n=1)  # a larger id, committed
        sealer = ScanSealer(sessions=Components.of(app).sessions)
        assert sealer.run_once() == []  # the smaller id could still appear
        open_scan.commit()
    finally:
        open_scan.close()
    (seal,) = sealer.run_once()
    assert seal.count == 2
    with transaction(Components.of(app).sessions) as session:
        assert recount(session=session, tenant_id=tenant.tenant_id).ok
