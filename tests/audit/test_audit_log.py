"""Every state change is an entry of the tenant's append-only log."""

from __future__ import annotations

import threading

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from compliance.entry import entry_leaf_hash
from fixtures.app import TenantKeys
from fixtures.audit import log_entries
from trace_api.audit import log as audit_log
from trace_api.components import Components
from trace_api.db import transaction
from trace_api.models import AuditEntry


def test_tenant_creation_and_key_issuing_are_logged_in_order(
    app: FastAPI, tenant: TenantKeys
) -> None:
    entries = log_entries(app, tenant.tenant_id)
    assert [e["seq"] for e in entries] == list(range(len(entries)))
    kinds = [e["kind"] for e in entries]
    assert kinds[:3] == ["tenant.created", "data_key.rotated", "api_key.created"]
    assert kinds.count("api_key.created") == 4
    assert "organisation.created" in kinds
    assert all(e["tenant"] == tenant.tenant_id for e in entries)


def test_api_actions_name_their_actor(client: TestClient, app: FastAPI, tenant: TenantKeys) -> None:
    admin_id = client.get("/v1/whoami", headers=tenant.auth("admin")).json()["key_id"]
    created = client.post(
        "/v1/organisations", json={"name": "Ningbo", "kind": "dealer"}, headers=tenant.auth("admin")
    ).json()
    client.post("/v1/data-keys", headers=tenant.auth("admin"))
    last = log_entries(app, tenant.tenant_id)[-2:]
    assert [e["kind"] for e in last] == ["organisation.created", "data_key.rotated"]
    assert all(e["actor"] == admin_id for e in last)
    assert last[0]["org"] == created["id"]
    assert last[0]["data"]["name"] == "Ningbo"


def test_a_refused_request_logs_nothing(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    before = log_entries(app, tenant.tenant_id)
    client.post(
        "/v1/organisations", json={"name": "x", "kind": "bad"}, headers=tenant.auth("admin")
    )
    client.post("/v1/api-keys", json={"role": "dealer"}, headers=tenant.auth("admin"))
    assert log_entries(app, tenant.tenant_id) == before


def test_entries_are_canonical_and_hash_to_their_leaf(app: FastAPI, tenant: TenantKeys) -> None:
    import rfc8785

    with transaction(Components.of(app).sessions) as session:
        for row in session.query(AuditEntry).filter_by(tenant_id=tenant.tenant_id):
            assert rfc8785.dumps(__import__("json").loads(row.body)) == row.body
            assert entry_leaf_hash(row.body) == row.leaf_hash


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_entries SET kind = 'x'", "DELETE FROM audit_entries"]
)
def test_database_refuses_changing_entries(
    engine: Engine, app: FastAPI, tenant: TenantKeys, statement: str
) -> None:
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text(statement))
    assert len(log_entries(app, tenant.tenant_id)) > 0


def test_concurrent_appends_stay_gapless(app: FastAPI, tenant: TenantKeys) -> None:
    start = len(log_entries(app, tenant.tenant_id))
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(10):
                with transaction(Components.of(app).sessions) as session:
                    audit_log.append(
                        session=session,
                        tenant_id=tenant.tenant_id,
                        kind="test.concurrent",
                        data={"writer": n, "i": i},
                    )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    seqs = [e["seq"] for e in log_entries(app, tenant.tenant_id)]
    assert seqs == list(range(start + 40))


def test_append_many_writes_item_refs(app: FastAPI, tenant: TenantKeys) -> None:
    with transaction(Components.of(app).sessions) as session:
        seqs = audit_log.append_many(
            session=session,
            tenant_id=tenant.tenant_id,
            changes=[
                audit_log.Change("event.captured", {"n": n}, items=[f"item-{n}", "case-1"])
                for n in range(3)
            ],
        )
    entries = log_entries(app, tenant.tenant_id)
    assert [entries[s]["items"] for s in seqs] == [
        ["item-0", "case-1"],
        ["item-1", "case-1"],
        ["item-2", "case-1"],
    ]
