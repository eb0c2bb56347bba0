"""SQLite's write-ahead log is copied into the database file in the background, not in commits."""

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from trace_api import sqlite_wal
from trace_api.db import create_db_engine, wal_checkpointer
from trace_api.sqlite_wal import WalCheckpointer

ROWS = 2000
BLOB = 1000


def _fill(url: str) -> None:
    engine = create_db_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)"))
        conn.execute(
            text("INSERT INTO t (body) VALUES (:body)"),
            [{"body": bytes([i % 256]) * BLOB} for i in range(ROWS)],
        )
    engine.dispose()


def test_commits_never_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_wal, "THRESHOLD", 1 << 40)  # no background checkpoint either
    db = tmp_path / "t.db"
    engine = create_db_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        assert conn.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 0
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)"))
    for _ in range(10):  # 20 MB, past the 4 MB at which SQLite itself would checkpoint
        with engine.begin() as conn:
            conn.execute(
                text("INSERT INTO t (body) VALUES (:body)"), [{"body": bytes(BLOB)}] * ROWS
            )
    wal = Path(f"{db}-wal")
    assert wal.stat().st_size > 10 * ROWS * BLOB  # everything is still in the log
    checkpointer = wal_checkpointer(engine)
    assert checkpointer is not None and checkpointer.completed == 0
    engine.dispose()


def test_a_large_log_is_copied_and_emptied_after_the_connection_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_wal, "THRESHOLD", 1 << 20)
    db = tmp_path / "t.db"
    engine = create_db_engine(f"sqlite:///{db}")
    checkpointer = wal_checkpointer(engine)
    assert checkpointer is not None
    with engine.begin() as conn:  # the connection goes back to the pool at the end
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)"))
        conn.execute(
            text("INSERT INTO t (body) VALUES (:body)"),
            [{"body": bytes([i % 256]) * BLOB} for i in range(ROWS)],
        )
    checkpointer.wait(30)
    assert checkpointer.completed == 1
    assert Path(f"{db}-wal").stat().st_size == 0
    # The rows are in the database file itself: read it with the log gone.
    engine.dispose()
    Path(f"{db}-wal").unlink(missing_ok=True)
    Path(f"{db}-shm").unlink(missing_ok=True)
    plain = sqlite3.connect(db)
    assert plain.execute("SELECT count(*), sum(length(body)) FROM t").fetchone() == (
        ROWS,
        ROWS * BLOB,
    )
    assert plain.execute("SELECT body FROM t WHERE id = 300").fetchone()[0] == bytes([43]) * BLOB
    plain.close()


def test_a_reader_on_an_old_snapshot_delays_only_the_truncation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "t.db"
    _fill(f"sqlite:///{db}")
    engine = create_db_engine(f"sqlite:///{db}")
    reader = sqlite3.connect(db, isolation_level=None)
    reader.execute("BEGIN")
    assert reader.execute("SELECT count(*) FROM t").fetchone() == (ROWS,)
    with engine.begin() as conn:  # a commit the reader's snapshot does not see
        conn.execute(text("INSERT INTO t (body) VALUES (x'00')"))

    monkeypatch.setattr(sqlite_wal, "RETRY_SECONDS", 0.001)
    checkpointer = WalCheckpointer(db, threshold=1)
    tries: list[bool] = []
    retried = threading.Event()
    real = checkpointer._checkpoint

    def counted() -> bool:
        tries.append(real())
        if len(tries) >= 3:
            retried.set()
        return tries[-1]

    monkeypatch.setattr(checkpointer, "_checkpoint", counted)
    checkpointer.nudge()
    assert retried.wait(30)  # it keeps trying while the reader holds its snapshot
    assert Path(f"{db}-wal").stat().st_size > 0 and checkpointer.completed == 0
    assert reader.execute("SELECT count(*) FROM t").fetchone() == (ROWS,)
    reader.execute("COMMIT")
    reader.close()
    checkpointer.wait(30)  # and empties the log once the reader is gone
    assert checkpointer.completed == 1 and tries[-1] and not any(tries[:3])
    assert Path(f"{db}-wal").stat().st_size == 0
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == ROWS + 1
    engine.dispose()


def test_disposing_the_engine_stops_the_retries(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    _fill(f"sqlite:///{db}")
    engine = create_db_engine(f"sqlite:///{db}")
    reader = sqlite3.connect(db, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM t").fetchone()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t (body) VALUES (x'00')"))
    checkpointer = wal_checkpointer(engine)
    assert checkpointer is not None
    checkpointer._threshold = 1
    checkpointer.nudge()
    engine.dispose()  # returns although the reader still blocks the truncation
    thread = checkpointer._thread
    assert thread is not None and not thread.is_alive() and checkpointer.completed == 0
    reader.close()


def test_nudges_below_the_threshold_start_nothing(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    _fill(f"sqlite:///{db}")
    checkpointer = WalCheckpointer(db, threshold=1 << 30)
    checkpointer.nudge()
    checkpointer.wait(30)
    assert checkpointer.completed == 0
    WalCheckpointer(tmp_path / "missing.db").nudge()  # no log at all: nothing to do


def test_a_removed_database_is_not_created_again(tmp_path: Path) -> None:
    db = tmp_path / "gone.db"
    Path(f"{db}-wal").write_bytes(bytes(4096))  # a log left behind, its database removed
    checkpointer = WalCheckpointer(db, threshold=1)
    checkpointer.nudge()
    checkpointer.wait(30)
    assert not db.exists() and checkpointer.completed == 0


def test_uri_urls_keep_sqlites_own_checkpoints(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///file:{tmp_path / 'u.db'}?mode=rwc&uri=true")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 1000
    assert wal_checkpointer(engine) is None
    engine.dispose()
