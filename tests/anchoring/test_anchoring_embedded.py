"""Anchoring on the embedded chain: the outbox, the worker, proofs, restarts."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from fixtures.anchoring import chain_app, jobs, queue_jobs, root_of
from fixtures.app import make_tenant
from trace_api.anchoring import service as anchoring_service
from trace_api.components import Components
from trace_api.db import transaction
from trace_api.errors import Conflict, InvalidInput


def test_worker_anchors_queued_roots_and_records_where(
    tmp_path: Path, db_url: str, engine: Engine
) -> None:
    app = chain_app(tmp_path, db_url, engine)
    queue_jobs(app, 3)
    report = Components.of(app).worker.run_until_idle()
    assert report.confirmed == 3
    contract, _ = Components.of(app).gateway.contract()
    for job in jobs(app):
        assert job.status == "confirmed"
        assert job.tx_hash and job.block_hash and job.block_number
        onchain = contract.get_anchor(bytes.fromhex(job.anchor_id[2:]))
        assert onchain is not None
        assert onchain.root == root_of(job.subject)
        assert onchain.size == job.size
        assert contract.block_hash_at(job.block_number) == job.block_hash


def test_outbox_row_shares_the_data_transaction(
    tmp_path: Path, db_url: str, engine: Engine
) -> None:
    app = chain_app(tmp_path, db_url, engine)
    tenant = make_tenant(app, "acme")
    with pytest.raises(RuntimeError), transaction(Components.of(app).sessions) as session:
        anchoring_service.enqueue_anchor(
            session=session,
            tenant_id=tenant.tenant_id,
            kind="codes",
            subject="rolled-back",
            root=root_of("x"),
            size=1,
        )
        raise RuntimeError("the data write failed after the job was queued")
    assert jobs(app) == []


def test_bad_anchor_requests_are_refused(tmp_path: Path, db_url: str, engine: Engine) -> None:
    app = chain_app(tmp_path, db_url, engine)
    queue_jobs(app, 1)
    tenant_id = jobs(app)[0].tenant_id
    with transaction(Components.of(app).sessions) as session:
        with pytest.raises(InvalidInput):
            anchoring_service.enqueue_anchor(
                session=session,
                tenant_id=tenant_id,
                kind="nope",
                subject="s",
                root=bytes(32),
                size=1,
            )
        with pytest.raises(InvalidInput):
            anchoring_service.enqueue_anchor(
                session=session,
                tenant_id=tenant_id,
                kind="codes",
                subject="s",
                root=b"short",
                size=1,
            )
        with pytest.raises(Conflict):
            anchoring_service.enqueue_anchor(
                session=session,
                tenant_id=tenant_id,
                kind="codes",
                subject="batch-0",
                root=bytes(32),
                size=1,
            )


def test_restart_on_a_fresh_embedded_chain_reanchors_everything(
    tmp_path: Path, db_url: str, engine: Engine
) -> None:
    first = chain_app(tmp_path, db_url, engine)
    queue_jobs(first, 2)
    assert Components.of(first).worker.run_until_idle().confirmed == 2
    Components.of(first).gateway.close()

    second = chain_app(tmp_path, db_url, engine)  # a new process: a new, empty dev chain
    report = Components.of(second).worker.run_until_idle()
    assert report.confirmed == 2
    assert "re-anchoring 2 root(s)" in (Components.of(second).gateway.state.reanchor_notice or "")
    contract, _ = Components.of(second).gateway.contract()
    for job in jobs(second):
        assert job.status == "confirmed"
        assert job.times_anchored == 2
        assert contract.get_anchor(bytes.fromhex(job.anchor_id[2:])).root == root_of(job.subject)


def test_job_status_api_is_per_tenant(tmp_path: Path, db_url: str, engine: Engine) -> None:
    app = chain_app(tmp_path, db_url, engine)
    tenant = queue_jobs(app, 1)
    job_id = jobs(app)[0].id
    other = make_tenant(app, "globex")
    with TestClient(app) as client:
        mine = client.get(f"/v1/anchor-jobs/{job_id}", headers=tenant.auth("operator"))
        assert mine.status_code == 200
        assert mine.json()["status"] == "pending"
        theirs = client.get(f"/v1/anchor-jobs/{job_id}", headers=other.auth("operator"))
        assert theirs.status_code == 404
        Components.of(app).worker.run_until_idle()
        confirmed = client.get(f"/v1/anchor-jobs/{job_id}", headers=tenant.auth("operator")).json()
        assert confirmed["status"] == "confirmed"
        health = client.get("/healthz").json()
        assert health["chain"]["jobs"] == {"confirmed": 1}
        assert health["chain"]["connected"] is True
