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
empty the file. While a writer is still in its transaction (a nudge from its own commit
comes just before the commit) or a reader holds an old snapshot, that fails at once; the
thread then tries again every second for as long as the log stays past the threshold.
Committed data is in the log either way: a process that exits mid-copy leaves a log that
the next connection uses or copies. With ``synchronous=NORMAL`` the log is synced at each
checkpoint, so a power cut loses the commits since the last one, as with SQLite's own
checkpoints: about the same amount of data, plus what was committed while one ran.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path
from urllib.parse import quote

_log = logging.getLogger(__name__)

THRESHOLD = 4 << 20  # bytes of log before a checkpoint: 1,000 pages, as SQLite itself
RETRY_SECONDS = 1.0  # between two tries while the log cannot be emptied
_BUSY = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


class WalCheckpointer:
    """Checkpoints one SQLite database file off the committing threads."""

    def __init__(self, database: Path, threshold: int | None = None) -> None:
        self._database = database
        self._wal = Path(f"{database}-wal")
        self._threshold = THRESHOLD if threshold is None else threshold
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.completed = 0  # checkpoints that copied and emptied the log (for tests and benches)

    def nudge(self) -> None:
        """Start checkpointing in the background if the log is past the threshold."""
        if not self._large():
            return
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            thread = threading.Thread(target=self._run, name="sqlite-wal-checkpoint", daemon=True)
            try:
                thread.start()
            except RuntimeError as exc:  # interpreter shutting down, or no threads left
                _log.warning("cannot start a WAL checkpoint of %s: %s", self._database, exc)
                return
            self._thread = thread

    def wait(self, timeout: float | None = None) -> None:
        """Wait until the running checkpoint thread has emptied the log (or given up)."""
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def close(self) -> None:
        """Stop retrying and wait for the thread (the engine's pool is disposed of)."""
        self._stop.set()
        self.wait()
        self._stop.clear()  # an engine may be used again after `dispose()`

    def _large(self) -> bool:
        try:
            return self._wal.stat().st_size >= self._threshold
        except OSError:
            return False

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                emptied = self._checkpoint()
            except sqlite3.Error as exc:
                if getattr(exc, "sqlite_errorcode", 0) & 0xFF not in _BUSY:  # extended codes too
                    _log.warning("background WAL checkpoint of %s failed: %s", self._database, exc)
                    return  # the next nudge starts again
                emptied = False  # another connection held a lock this moment
            if emptied:
                self.completed += 1
                return
            if self._stop.wait(RETRY_SECONDS) or not self._large():
                return

    def _checkpoint(self) -> bool:
        """Copy what the log holds; empty it if nobody needs it. True if it was emptied."""
        # mode=rw: a database removed in the meantime is not created anew.
        uri = f"file:{quote(str(self._database))}?mode=rw"
        connection = sqlite3.connect(uri, uri=True, timeout=0, isolation_level=None)
        try:
            _, logged, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if logged < 0 or logged != copied:  # not in WAL mode, or a reader needs the rest
                return False
            busy = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            return bool(busy == 0)
        finally:
            connection.close()
