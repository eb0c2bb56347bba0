"""The real server process: it stops promptly on a signal, and believes only trusted proxies."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
import pytest

from fixtures.server import ServerProcess, start_server

pytestmark = pytest.mark.slow

UNKNOWN = "/01/06901234567892/10/L1/21/0000000000000000X"


def _start_issuance(server: ServerProcess, count: int) -> int:
    with server.client() as client:
        products = client.get("/v1/products").json()
        batch = client.post(
            "/v1/batches",
            json={
                "product_id": products[0]["id"],
                "lot": f"L{time.time_ns() % 10**9}",
                "production_date": "2026-01-01",
                "factory": "杭州二厂",
            },
        ).json()
        issued = client.post(f"/v1/batches/{batch['id']}/codes", json={"count": count})
        assert issued.status_code == 202, issued.text
        return int(issued.json()["id"])


def _wait_running(server: ServerProcess, issuance_id: int) -> None:
    with server.client() as client:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            state = client.get(f"/v1/code-issuances/{issuance_id}").json()
            if state["status"] == "running" and state["issued"] > 0:
                return
            assert state["status"] != "failed", state
            time.sleep(0.1)
    raise AssertionError("the issuance never got going")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_an_issuance_stops_the_server_and_the_job_resumes(
    tmp_path: Path, signum: int
) -> None:
    # SIGTERM to the process group left the server at "Waiting for application shutdown".
    data = tmp_path / "trace"
    env = {"TRACE_CODES_SYNC_LIMIT": "10", "TRACE_CODES_ISSUE_WORKERS": "2"}
    server = start_server(data, **env)
    try:
        issuance = _start_issuance(server, 2_000_000)
        _wait_running(server, issuance)
        began = time.monotonic()
        server.signal_group(signum)
        server.process.wait(timeout=20)
        assert time.monotonic() - began < 15
    finally:
        server.stop()
    again = start_server(data, **env)
    try:
        with again.client() as client:
            state = client.get(f"/v1/code-issuances/{issuance}").json()
            assert state["status"] in ("pending", "running", "done"), state
            assert state["error"] is None or "interrupted by a shutdown" in state["error"]
    finally:
        again.signal_group(signal.SIGTERM)
        again.process.wait(timeout=20)
        again.stop()


def test_a_finished_issuance_does_not_keep_the_server_up(tmp_path: Path) -> None:
    server = start_server(tmp_path / "trace", TRACE_CODES_SYNC_LIMIT="10")
    try:
        issuance = _start_issuance(server, 50_000)
        with server.client() as client:
            deadline = time.monotonic() + 60
            while client.get(f"/v1/code-issuances/{issuance}").json()["status"] != "done":
                assert time.monotonic() < deadline
                time.sleep(0.2)
        server.signal_group(signal.SIGTERM)
        server.process.wait(timeout=20)
    finally:
        server.stop()


def _misses_from_forwarded_clients(server: ServerProcess, budget: int) -> list[int]:
    answers = []
    for n in range(budget + 2):
        headers = {"X-Forwarded-For": f"203.0.113.{n + 1}", "Accept": "application/json"}
        answers.append(httpx.get(server.base + UNKNOWN, headers=headers).status_code)
    return answers


def test_forwarded_headers_are_ignored_unless_the_peer_is_a_trusted_proxy(
    tmp_path: Path,
) -> None:
    budget = 10  # TRACE_RESOLVER_MISS_BURST's default
    server = start_server(tmp_path / "plain")
    try:
        answers = _misses_from_forwarded_clients(server, budget)
        assert 429 in answers  # every request is the one loopback client, whatever it claims
    finally:
        server.stop()
    proxied = start_server(tmp_path / "proxied", TRACE_TRUSTED_PROXIES="127.0.0.1")
    try:
        answers = _misses_from_forwarded_clients(proxied, budget)
        assert 429 not in answers  # each forwarded client has a budget of its own
    finally:
        proxied.stop()


def test_the_demo_scan_pages_it_prints_point_at_this_server(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    try:
        printed = server.log.read_text().split("demo scan pages", 1)[1].split()
        pages = [word for word in printed if "/01/" in word]
        assert len(pages) == 3 and all(page.startswith(server.base + "/01/") for page in pages)
        answer = httpx.get(pages[0], timeout=30)
        assert answer.status_code == 200 and answer.headers["x-trace-verdict"] == "genuine"
    finally:
        server.stop()
