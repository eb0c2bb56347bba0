"""SQLite: copy the write-ahead log into the database file in the background.

By default SQLite checkpoints inside the commit that grows the log past 1,000 pages, so
that commit's caller waits while the whole log is copied and synced: after issuing a
million codes (about 430 MB of log) that is 3 to 5 seconds, and an API request that
happens to commit next pays the same. Our connections turn that off
(``wal_autocheckpoint=0``, `trace_api.db`) and a checkpointer thread does the copy
instead, started on a commit or when a connection goes back to the pool, once the log is
past a threshold (SQLite's own: 1,000 pages of 4 KiB).

A PASSIVE checkpoint runs beside readers and writers, so nobody waits for the copy. Only
when it copied the whole log does a TRUNCATE follow, without waiting (busy timeout 0), to
empty the file; while a reader still holds an old snapshot that fails at once and a later
nudge, at most one a second, tries again. Committed data is in the log either way: a
process that exits mid-copy leaves a log that the next connection uses or copies. With
``synchronous=NORMAL`` the log is synced at each checkpoint, so a power cut loses the
commits since the last one, as with SQLite's own checkpoints: about the same amount of
data, plus what was committed during a checkpoint that was running.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path
from urllib.parse import quote

_log = logging.getLogger(__name__)

THRESHOLD = 4 << 20  # bytes of log before a checkpoint: 1,000 pages, as SQLite itself
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
            thread = threading.Thread(
                target=self._checkpoint, name="sqlite-wal-checkpoint", daemon=True
            )
            try:
                thread.start()
            except RuntimeError as exc:  # interpreter shutting down, or no threads left
                _log.warning("cannot start a WAL checkpoint of %s: %s", self._database, exc)
                return
            self._thread = thread

    def wait(self, timeout: float | None = None) -> None:
        """Wait for a running checkpoint to finish."""
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _checkpoint(self) -> None:
        # mode=rw: a database removed in the meantime is not created anew.
        uri = f"file:{quote(str(self._database))}?mode=rw"
        try:
            connection = sqlite3.connect(uri, uri=True, timeout=0, isolation_level=None)
            try:
                _, logged, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                emptied = False
                if logged >= 0 and logged == copied:
                    emptied = (
                        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
                    )
            finally:
                connection.close()
        except sqlite3.Error as exc:  # the next nudge tries again
            _log.warning("background WAL checkpoint of %s failed: %s", self._database, exc)
            return
        if emptied:
            self.completed += 1
        else:  # a reader still needs part of the log
            _log.debug("WAL of %s not emptied yet: a reader still uses it", self._database)
