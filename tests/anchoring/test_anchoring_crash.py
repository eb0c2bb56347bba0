"""Crash safety: `trace worker` killed with SIGKILL at random points, 20 times over.

Every job must end anchored exactly once on chain (one Anchored event per id) and marked
confirmed in the database with that event's transaction.
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
from sqlalchemy import Engine, func, select
from web3 import Web3

from fixtures.anchoring import chain_app, jobs, queue_jobs
from fixtures.anvil import AnvilNode
from fixtures.app import TEST_MASTER_KEY
from trace_api.components import Components
from trace_api.db import transaction
from trace_api.models import AnchorJob

KILLS = 20
JOBS = 120


def _progress(app) -> int:
    with transaction(Components.of(app).sessions) as session:
        return int(
            session.scalar(
                select(func.count()).select_from(AnchorJob).where(AnchorJob.status != "pending")
            )
        )


@pytest.mark.slow
def test_sigkilled_worker_anchors_every_job_exactly_once(
    tmp_path: Path, db_url: str, engine: Engine, anvil_factory
) -> None:
    node: AnvilNode = anvil_factory()
    app = chain_app(tmp_path, db_url, engine, node.url, node.private_keys[0])
    queue_jobs(app, JOBS)
    contract, _ = Components.of(app).gateway.contract()  # deploy once, recorded for the worker
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
    rng = random.Random(20261125)
    kills_during_work = 0
    for _ in range(KILLS):
        before = _progress(app)
        worker = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        assert worker.stdout is not None
        started = worker.stdout.readline()  # printed once the worker is about to start work
        assert b"worker started" in started, started + worker.stdout.read()
        # Kill at a random point of the work, not of the start-up (which a loaded machine
        # can stretch past any fixed delay): once a job has moved, or after 5 s.
        deadline = time.monotonic() + 5
        while _progress(app) == before and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.15))
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        worker.stdout.close()
        after = _progress(app)
        kills_during_work += after > before
    assert kills_during_work >= KILLS // 2

    finish = subprocess.run(
        [*command[:-2], "--once"], env=env, capture_output=True, text=True, timeout=300
    )
    assert finish.returncode == 0, finish.stdout + finish.stderr

    w3 = Web3(Web3.HTTPProvider(node.url))
    topic = contract.contract.events.Anchored().topic
    logs = w3.eth.get_logs(
        {"address": contract.address, "fromBlock": 0, "toBlock": "latest", "topics": [topic]}
    )
    anchored: dict[str, list[str]] = {}
    for log in logs:
        anchored.setdefault("0x" + bytes(log["topics"][1]).hex(), []).append(
            "0x" + bytes(log["transactionHash"]).hex()
        )
    final = jobs(app)
    assert len(final) == JOBS
    for job in final:
        assert job.status == "confirmed", (job.id, job.status, job.last_error)
        assert anchored.get(job.anchor_id) == [job.tx_hash], job.anchor_id
    assert len(anchored) == JOBS
