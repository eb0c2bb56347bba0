"""A 100 MiB document is uploaded, hashed, sealed and downloaded again by a real server
process whose peak memory grows by far less than the document: it is streamed, never
held whole. The figure is the server's peak RSS (VmHWM, reset before each transfer)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from crypto.sm3 import SM3Hasher
from fixtures.anvil import free_port
from fixtures.app import TEST_MASTER_KEY

SIZE = 100 * 1024 * 1024
BLOCK = hashlib.sha256(b"block").digest() * (1024 * 1024 // 32)  # 1 MiB, repeated
BOUND = 40 * 1024 * 1024  # what the server's peak may grow by, far below SIZE

_SERVER = """
import json, sys
import uvicorn
from pydantic import SecretStr
from trace_api.app import create_app
from trace_api.components import Components
from trace_api.db import transaction
from trace_api.settings import Settings
from trace_api.tenancy import service as tenancy_service

data_dir, url, key, port = sys.argv[1:]
settings = Settings(env="test", data_dir=data_dir, database_url=url,
                    master_key=SecretStr(key), chain_url="embedded", worker_in_process=False)
app = create_app(settings)
parts = Components.of(app)
with transaction(parts.sessions) as session:
    _, admin = tenancy_service.create_tenant(
        session=session, master_key=parts.master_key, name="memory")
print(json.dumps({"key": admin.text}), flush=True)
uvicorn.run(app, host="127.0.0.1", port=int(port), log_level="warning")
"""


def _peak_since_reset(pid: int) -> tuple[int, int]:
    """(resident now, peak since the last reset) of process ``pid``, in bytes."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return (int(fields["VmRSS"].split()[0]) * 1024, int(fields["VmHWM"].split()[0]) * 1024)


def _reset_peak(pid: int) -> int:
    """Reset the process's peak RSS to its RSS now (Linux clear_refs 5); that RSS."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    return _peak_since_reset(pid)[0]


def _multipart(metadata: dict) -> tuple[bytes, bytes, bytes]:
    boundary = b"tracechain-memory-test"
    head = (
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n'
        + json.dumps(metadata).encode() + b"\r\n--" + boundary
        + b'\r\nContent-Disposition: form-data; name="keep"\r\n\r\ntrue\r\n--' + boundary
        + b'\r\nContent-Disposition: form-data; name="document"; filename="big.bin"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n"
    )  # fmt: skip
    return boundary, head, b"\r\n--" + boundary + b"--\r\n"


def _body(head: bytes, tail: bytes) -> Iterator[bytes]:
    yield head
    for _ in range(SIZE // len(BLOCK)):
        yield BLOCK
    yield tail


@pytest.fixture
def server(tmp_path: Path, db_url: str) -> Iterator[tuple[subprocess.Popen[str], str, str]]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _SERVER,
            str(tmp_path / "trace"),
            db_url,
            TEST_MASTER_KEY,
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=(tmp_path / "server.log").open("w"),
        text=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    try:
        assert process.stdout is not None
        key = json.loads(process.stdout.readline())["key"]
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield process, base, key
    finally:
        process.kill()
        process.wait(timeout=30)


@pytest.mark.slow
def test_a_100_mib_upload_and_download_stay_within_bounded_memory(
    server: tuple[subprocess.Popen[str], str, str],
) -> None:
    process, base, key = server
    auth = {"Authorization": f"Bearer {key}"}
    metadata = {"title": "a large contract", "kind": "contract"}
    with httpx.Client(base_url=base, headers=auth, timeout=300) as client:
        warm = client.post(  # the first upload loads what every later one uses
            "/v1/evidence",
            data={"metadata": json.dumps(metadata), "keep": "true"},
            files={"document": ("small.bin", BLOCK * 3)},
        )
        assert warm.status_code == 201, warm.text
        boundary, head, tail = _multipart(metadata)
        headers = {
            "Content-Type": f"multipart/form-data; boundary={boundary.decode()}",
            "Content-Length": str(len(head) + SIZE + len(tail)),
        }
        before = _reset_peak(process.pid)
        response = client.post("/v1/evidence", content=_body(head, tail), headers=headers)
        upload_growth = _peak_since_reset(process.pid)[1] - before
        assert response.status_code == 201, response.text
        proof = response.json()
        sm3, sha256 = SM3Hasher(), hashlib.sha256()
        for _ in range(SIZE // len(BLOCK)):
            sm3.update(BLOCK)
            sha256.update(BLOCK)
        assert proof["size"] == SIZE
        assert proof["digests"] == {"sm3": sm3.hexdigest(), "sha256": sha256.hexdigest()}
        before = _reset_peak(process.pid)
        received, check = 0, hashlib.sha256()
        with client.stream("GET", f"/v1/evidence/{proof['id']}/document") as download:
            assert download.status_code == 200
            for part in download.iter_bytes():
                received += len(part)
                check.update(part)
        download_growth = _peak_since_reset(process.pid)[1] - before
    assert (received, check.hexdigest()) == (SIZE, proof["digests"]["sha256"])
    print(
        f"\n100 MiB document: server peak RSS grew {upload_growth / 2**20:.1f} MiB on upload, "
        f"{download_growth / 2**20:.1f} MiB on download (bound {BOUND / 2**20:.0f} MiB)"
    )
    assert upload_growth < BOUND, f"upload grew the server's peak by {upload_growth} bytes"
    assert download_growth < BOUND, f"download grew the server's peak by {download_growth} bytes"
