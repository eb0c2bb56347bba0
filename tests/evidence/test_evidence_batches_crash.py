"""A worker SIGKILLed while it anchors evidence batches: each proof ends anchored once.

Proofs are batched (several batches), then `trace worker` is killed at random points
of its work against a real anvil and restarted; at the end every batch's anchor id has
exactly one ``Anchored`` event on chain, and every proof's certificate verifies against
the chain over JSON-RPC, as a third party would check it.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, func, select
from web3 import Web3

from compliance.evidence.certificate import certificate_bytes
from compliance.evidence.verify import verify_certificate
from fixtures.anvil import AnvilNode
from fixtures.app import TEST_MASTER_KEY
from fixtures.evidence import add_party, add_proof
from trace_api.anchoring.gateway import ChainGateway
from trace_api.db import migrate, session_factory, transaction
from trace_api.evidence.batches import EvidenceBatcher
from trace_api.evidence.certificates import BatchTrees, certificate_document, load_proof
from trace_api.models import AnchorJob, Evidence
from trace_api.settings import Settings
from trace_api.tenancy import service as tenancy_service

PROOFS = 60
PER_BATCH = 2
BATCHES = PROOFS // PER_BATCH
KILLS = 8


@pytest.mark.slow
def test_sigkilled_worker_anchors_each_proof_exactly_once(
    tmp_path: Path, db_url: str, engine: Engine, anvil_factory
) -> None:
    node: AnvilNode = anvil_factory()
    migrate(engine)
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        tenant, _ = tenancy_service.create_tenant(
            session=session, master_key=bytes.fromhex(TEST_MASTER_KEY), name="acme"
        )
        parties = [add_party(session, tenant.id, f"p{k}") for k in range(3)]
        ids = [add_proof(session, tenant.id, parties).id for _ in range(PROOFS)]
    assert EvidenceBatcher(sessions=sessions, max_batch=PER_BATCH).run_once().batches == BATCHES
    settings = Settings(
        env="test",
        data_dir=tmp_path / "trace",
        database_url=db_url,
        master_key=SecretStr(TEST_MASTER_KEY),
        chain_url=node.url,
        chain_private_key=SecretStr(node.private_keys[0]),
        chain_confirmations=1,
        worker_in_process=False,
    )
    gateway = ChainGateway(settings, sessions)
    contract, _ = gateway.contract()  # deployed once and recorded, as `trace serve` does
    gateway.close()

    def moved() -> int:
        with transaction(sessions) as session:
            return int(
                session.scalar(
                    select(func.count()).select_from(AnchorJob).where(AnchorJob.status != "pending")
                )
            )

    env = {
        **os.environ,
        "TRACE_DATABASE_URL": db_url,
        "TRACE_DATA_DIR": str(tmp_path / "trace"),
        "TRACE_MASTER_KEY": TEST_MASTER_KEY,
        "TRACE_CHAIN_URL": node.url,
        "TRACE_CHAIN_PRIVATE_KEY": node.private_keys[0],
        "TRACE_CHAIN_CONFIRMATIONS": "1",
    }
    command = [sys.executable, "-m", "trace_api.cli", "worker", "--interval", "0.05"]
    rng = random.Random(20261206)
    kills_midway = 0
    for _ in range(KILLS):
        before = moved()
        worker = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        assert worker.stdout is not None
        started = worker.stdout.readline()
        assert b"worker started" in started, started + worker.stdout.read()
        deadline = time.monotonic() + 5
        while moved() == before and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.1))
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        worker.stdout.close()
        with transaction(sessions) as session:
            unconfirmed = session.scalar(
                select(func.count()).select_from(AnchorJob).where(AnchorJob.status != "confirmed")
            )
        kills_midway += moved() > before and unconfirmed > 0
    assert kills_midway >= 2  # the kills fell on work in progress, not on an idle worker
    finish = subprocess.run(
        [*command[:-2], "--once"], env=env, capture_output=True, text=True, timeout=300
    )
    assert finish.returncode == 0, finish.stdout + finish.stderr
    EvidenceBatcher(sessions=sessions).run_once()  # logs the anchors

    w3 = Web3(Web3.HTTPProvider(node.url))
    topic = contract.contract.events.Anchored().topic
    logs = w3.eth.get_logs(
        {"address": contract.address, "fromBlock": 0, "toBlock": "latest", "topics": [topic]}
    )
    events: dict[str, int] = {}
    for log in logs:
        anchor_id = "0x" + bytes(log["topics"][1]).hex()
        events[anchor_id] = events.get(anchor_id, 0) + 1
    with transaction(sessions) as session:
        batch_jobs = list(session.scalars(select(AnchorJob).where(AnchorJob.kind == "evidence")))
        assert len(batch_jobs) == BATCHES
        assert all(job.status == "confirmed" for job in batch_jobs)
        assert {job.anchor_id: events.get(job.anchor_id) for job in batch_jobs} == {
            job.anchor_id: 1 for job in batch_jobs
        }
        assert session.scalar(select(func.count()).where(Evidence.batch_id.is_(None))) == 0
        trees = BatchTrees()
        for evidence_id in ids:
            proof = load_proof(session, evidence_id, tenant.id)
            document = certificate_document(
                session, proof, trees=trees, public_base_url="https://trace.example"
            )
            verdict = verify_certificate(certificate_bytes(document), rpc_url=node.url)
            assert verdict.ok and verdict.chain_checked, (evidence_id, verdict.failures)
