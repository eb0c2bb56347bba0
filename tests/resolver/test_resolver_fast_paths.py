"""The resolver's fast paths change nothing a client or the database can see.

Direct statements on SQLite read and write exactly what SQLAlchemy would, and cached
checks follow the data key's state.
"""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from fixtures.app import TenantKeys
from fixtures.codes import JSON, issue_batch
from trace_api.components import Components
from trace_api.db import transaction
from trace_api.models import utcnow
from trace_api.resolver.lookup import _LOOKUP
from trace_api.resolver.scans import _SCAN_KEYS, _SCAN_ROWS
from trace_api.resolver.statements import STATEMENTS
from trace_api.tenancy import service as tenancy_service


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # other databases: SQLAlchemy
def test_direct_statements_read_and_write_what_sqlalchemy_does(
    client: TestClient, engine: Engine, tenant: TenantKeys
) -> None:
    issued = issue_batch(client, tenant, count=2)
    first = client.get(f"{issued.path(0)}?lat=30.25&lon=120.17", headers=JSON).json()
    assert first["scans"]["count"] == 1
    serial = issued.codes[0]["serial"]
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        direct = STATEMENTS.get(_LOOKUP, conn.dialect, ("serial",)).first(raw, {"serial": serial})
        through = conn.execute(_LOOKUP, {"serial": serial}).first()
        assert through is not None and tuple(direct) == tuple(through)
        assert through.first_scan_at.tzinfo is not None  # aware UTC, as SQLAlchemy reads it
        row = {
            "code_id": through[0],
            "seq": 100,
            "scanned_at": utcnow(),
            "region": "330106",
            "lat": 30.25,
            "lon": 120.17,
            "client_hash": bytes(16),
            "warnings": "",
        }
        statement = _SCAN_ROWS["sqlite"]
        assert STATEMENTS.get(statement, conn.dialect, _SCAN_KEYS).first(raw, row) is not None
        assert conn.execute(statement, {**row, "seq": 101}).first() is not None
        assert STATEMENTS.get(statement, conn.dialect, _SCAN_KEYS).first(raw, row) is None
        stored = conn.exec_driver_sql(
            "SELECT code_id, scanned_at, region, lat, lon, client_hash, warnings"
            " FROM code_scans ORDER BY id DESC LIMIT 2"
        ).all()
        conn.rollback()
    assert stored[0] == stored[1]  # byte for byte the same stored values


def test_a_shredded_key_erases_the_payload_even_after_a_checked_scan(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    issued = issue_batch(client, tenant, count=1)
    assert client.get(issued.path(0), headers=JSON).json()["payload"] == "decrypted"
    with transaction(Components.of(app).sessions) as session:
        for key in tenancy_service.list_data_keys(session=session, tenant_id=tenant.tenant_id):
            tenancy_service.shred_data_key(
                session=session, tenant_id=tenant.tenant_id, key_id=key.key_id
            )
    body = client.get(issued.path(0), headers=JSON).json()
    assert body["payload"] == "erased"
    assert body["product"]["name"] == "龙井绿茶 250 g"  # from the product record now
    assert body["scans"]["count"] == 2
