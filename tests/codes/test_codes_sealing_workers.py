"""Sealing workers leave signals to the server that runs them."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path

import pytest

from trace_api.codes.issuing import SealerPool


def _ignored_signals(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(
        next(line for line in status.splitlines() if line.startswith("SigIgn:")).split()[1], 16
    )


def test_every_worker_ignores_the_group_signals_once_the_pool_has_started() -> None:
    # A worker still starting when SIGTERM reached the group died, and the broken pool
    # then waited for ever on a worker writing its chunk back: the server never stopped.
    sealers = SealerPool(2)
    try:
        sealers.start()
        workers = [child.pid for child in multiprocessing.active_children()]
        assert len(workers) == 2
        for pid in workers:
            assert pid is not None
            ignored = _ignored_signals(pid)
            assert ignored & (1 << (signal.SIGTERM - 1)), f"worker {pid} dies of SIGTERM"
            assert ignored & (1 << (signal.SIGINT - 1)), f"worker {pid} dies of SIGINT"
    finally:
        sealers.close()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_the_process_group_leaves_the_workers_sealing(signum: int) -> None:
    sealers = SealerPool(1)
    try:
        pool = sealers.start()
        assert pool is not None
        worker = pool.submit(os.getpid).result(timeout=60)
        os.kill(worker, signum)
        time.sleep(0.5)  # a worker that took the signal is dead by now
        assert pool.submit(os.getpid).result(timeout=60) == worker
    finally:
        sealers.close()
