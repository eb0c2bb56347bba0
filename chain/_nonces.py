"""Nonce allocation for one sending account, safe across process restarts."""

from __future__ import annotations

import threading
from collections.abc import Callable


class NonceAllocator:
    """Hands out consecutive nonces for one account.

    The first nonce comes from the node (``eth_getTransactionCount(account, "pending")``), so a
    restarted process continues after every transaction its predecessor got into the pool.
    After any send error the cached value is forgotten and re-read, because a transaction that
    failed in transit may or may not have reached the node. Callers hold :attr:`lock` across
    "take a nonce, sign, send, confirm" so two threads never sign with the same nonce.
    """

    def __init__(self, read_pending_count: Callable[[], int]) -> None:
        self._read_pending_count = read_pending_count
        self._next: int | None = None
        self.lock = threading.RLock()

    def peek(self) -> int:
        """The nonce the next transaction will use (reads the node if nothing is cached)."""
        with self.lock:
            if self._next is None:
                self._next = self._read_pending_count()
            return self._next

    def confirm(self, nonce: int) -> None:
        """Record that a transaction with ``nonce`` was accepted by the node."""
        with self.lock:
            self._next = nonce + 1

    def forget(self) -> None:
        """Drop the cached nonce; the next :meth:`peek` asks the node again."""
        with self.lock:
            self._next = None
