"""The data directory and everything the service writes into it are its owner's alone."""

from __future__ import annotations

import stat
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from trace_api.app import create_app
from trace_api.components import Components
from trace_api.settings import Settings


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_sqlite_file_keys_and_folders_are_0600_and_0700(tmp_path: Path) -> None:
    data = tmp_path / "state" / "trace"
    settings = Settings(env="test", data_dir=data, worker_in_process=False)
    app: FastAPI = create_app(settings)
    try:
        with TestClient(app) as client:
            assert client.get("/healthz").status_code == 200
        assert _mode(data) == 0o700
        assert _mode(data.parent) == 0o700  # a parent it had to make, too
        for name in ("trace.db", "master.key", "signing.key"):
            assert _mode(data / name) == 0o600, name
        for sidecar in data.glob("trace.db-*"):  # SQLite's -wal and -shm copy the file's mode
            assert _mode(sidecar) == 0o600, sidecar.name
    finally:
        Components.of(app).engine.dispose()


def test_a_world_readable_database_file_is_closed_up(tmp_path: Path) -> None:
    data = tmp_path / "trace"
    data.mkdir(mode=0o755)
    (data / "trace.db").touch(mode=0o644)
    settings = Settings(
        env="test",
        data_dir=data,
        master_key=SecretStr("000102030405060708090a0b0c0d0e0f"),
        worker_in_process=False,
    )
    app = create_app(settings)
    try:
        assert _mode(data) == 0o700
        assert _mode(data / "trace.db") == 0o600
    finally:
        Components.of(app).engine.dispose()
