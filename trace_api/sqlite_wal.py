"""SQLite: copy the write-ahead log into the database file in the background.

By default SQLite checkpoints inside the commit that grows the log past 1,000 pages, so
that commit's caller waits while the whole log is copied and synced: after issuing a
million codes (about 430 MB of log) that is 3 to 5 seconds, and an API request that
happens to commit next pays the same. Our connections turn that off
(``wal_autocheckpoint=0``, `trace_api.db`) and a checkpointer thread does the copy
instead, started when a connection goes back to the pool with the log past a threshold.

A PASSIVE checkpoint runs beside readers and writers, so nobody waits for the copy; a
TRUNCATE afterwards, with a short busy timeout, empties the log file when no reader still
needs it (its size is how the next look decides). Committed data is in the log either
way: a process that exits mid-copy leaves a log that the next connection uses or copies.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path

_log = logging.getLogger(__name__)

THRESHOLD = 16 << 20  # bytes of log before a checkpoint starts
RETRY_SECONDS = 1.0  # least time between two checkpoints while the log stays large


class WalCheckpointer:
    """Checkpoints one SQLite database file off the committing threads."""

    def __init__(self, database: Path, threshold: int | None = None) -> None:
        self._database = database
        self._wal = Path(f"{database}-wal")
        self._threshold = THRESHOLD if threshold is None else threshold
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._last_start = 0.0
        self.completed = 0  # checkpoints that copied and emptied the log (for tests and benches)

    def nudge(self) -> None:
        """Start a checkpoint in the background if the log is past the threshold."""
        try:
            if self._wal.stat().st_size < self._threshold:
                return
        except OSError:
            return
        with self._lock:
            running = self._thread is not None and self._thread.is_alive()
            if running or time.monotonic() - self._last_start < RETRY_SECONDS:
                return
            self._last_start = time.monotonic()
            self._thread = threading.Thread(
                target=self._checkpoint, name="sqlite-wal-checkpoint", daemon=True
            )
            self._thread.start()

    def wait(self, timeout: float | None = None) -> None:
        """Wait for a running checkpoint to finish."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _checkpoint(self) -> None:
        try:
            connection = sqlite3.connect(self._database, timeout=30, isolation_level=None)
            try:
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                connection.execute("PRAGMA busy_timeout=100")
                busy = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            finally:
                connection.close()
            if busy:  # a reader still needs part of the log; a later nudge tries again
                _log.info(
                    "WAL of %s copied but not emptied: a reader still uses it", self._database
                )
                return
            self.completed += 1
        except sqlite3.Error as exc:  # the next nudge tries again
            _log.warning("background WAL checkpoint of %s failed: %s", self._database, exc)
