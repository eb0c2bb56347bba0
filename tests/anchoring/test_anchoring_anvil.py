"""Anchoring against a real anvil node: node down and back, and reorgs."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from chain import verify_anchor_on_chain
from fixtures.anchoring import chain_app, jobs, queue_jobs, root_of
from fixtures.anvil import AnvilNode
from trace_api.components import Components


def test_node_down_then_back_loses_nothing(
    tmp_path: Path, db_url: str, engine: Engine, anvil_factory
) -> None:
    state = tmp_path / "anvil-state.json"
    node: AnvilNode = anvil_factory("--state", str(state))
    port = node.port
    app = chain_app(tmp_path, db_url, engine, node.url, node.private_keys[0])
    tenant = queue_jobs(app, 2)
    assert Components.of(app).worker.run_until_idle().confirmed == 2

    node.stop()
    with TestClient(app) as client:
        created = client.post(
            "/v1/organisations",
            json={"name": "Suzhou dealer", "kind": "dealer"},
            headers=tenant.auth("admin"),
        )
        assert created.status_code == 201  # writes keep working while the chain is down
        globex = queue_jobs(app, 3, tenant_name="globex")
        report = Components.of(app).worker.run_once()
        assert report.errors
        waiting = [job for job in jobs(app) if job.status == "pending"]
        assert len(waiting) == 3
        assert all(job.last_error for job in waiting)
        health = client.get("/healthz").json()
        assert health["status"] == "degraded"
        assert health["chain"]["last_error"]
        assert health["chain"]["jobs"]["pending"] == 3
        job_view = client.get(f"/v1/anchor-jobs/{waiting[0].id}", headers=globex.auth("admin"))
        assert job_view.json()["status"] == "pending"
        assert job_view.json()["last_error"]

    anvil_factory("--state", str(state), port=port)
    for job in waiting:  # no waiting out the backoff in a test
        _make_due(app, job.id)
    report = Components.of(app).worker.run_until_idle()
    assert report.confirmed == 3, report
    contract, _ = Components.of(app).gateway.contract()
    for job in jobs(app):
        assert job.status == "confirmed"
        assert contract.get_anchor(bytes.fromhex(job.anchor_id[2:])).root == root_of(job.subject)


def test_reorg_dropping_the_anchor_is_noticed_and_reanchored(
    tmp_path: Path, db_url: str, engine: Engine, anvil_snapshot: AnvilNode
) -> None:
    node = anvil_snapshot
    app = chain_app(tmp_path, db_url, engine, node.url, node.private_keys[0])
    queue_jobs(app, 1)
    contract, _ = Components.of(app).gateway.contract()  # deployed before the snapshot
    before_anchor = node.snapshot()
    assert Components.of(app).worker.run_until_idle().confirmed == 1
    first = jobs(app)[0]
    anchor_id = bytes.fromhex(first.anchor_id[2:])
    assert contract.get_anchor(anchor_id) is not None

    node.revert(before_anchor)  # the anchoring block is undone
    node.rpc("anvil_mine", 3)  # and the chain moves on without it
    assert contract.get_anchor(anchor_id) is None

    report = Components.of(app).worker.run_until_idle()
    assert report.requeued == 1
    assert report.confirmed == 1
    again = jobs(app)[0]
    assert again.status == "confirmed"
    assert again.times_anchored == 2
    assert again.block_hash != first.block_hash
    check = verify_anchor_on_chain(
        contract.client,
        contract.address,
        anchor_id,
        root_of(again.subject),
        again.size,
        min_confirmations=1,
    )
    assert check.ok, check.describe()


def _make_due(app, job_id: int) -> None:
    from trace_api.db import transaction
    from trace_api.models import AnchorJob, utcnow

    with transaction(Components.of(app).sessions) as session:
        session.get(AnchorJob, job_id).next_attempt_at = utcnow()


def test_node_on_another_chain_than_the_database_recorded_is_refused(
    tmp_path: Path, db_url: str, engine: Engine, anvil: AnvilNode
) -> None:
    from chain import ChainIdMismatch
    from trace_api.db import transaction
    from trace_api.models import ChainDeployment

    app = chain_app(tmp_path, db_url, engine, anvil.url, anvil.private_keys[0])
    with transaction(Components.of(app).sessions) as session:
        session.add(
            ChainDeployment(
                chain_id=1,
                contract_address="0x" + "11" * 20,
                is_embedded=False,
                network_label="mainnet via geth",
                active=True,
            )
        )
    queue_jobs(app, 1)
    report = Components.of(app).worker.run_once()
    assert report.errors and "31337" in report.errors[0] and "1" in report.errors[0]
    assert isinstance(_raises(app), ChainIdMismatch)
    assert jobs(app)[0].status == "pending"
    assert "ChainIdMismatch" in (jobs(app)[0].last_error or "")


def _raises(app) -> BaseException:
    try:
        Components.of(app).gateway.contract()
    except BaseException as exc:
        return exc
    raise AssertionError("connecting to the wrong chain succeeded")
