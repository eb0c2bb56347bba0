"""Per-client token buckets, in process (one per server process; see README)."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict

from starlette.requests import Request

from trace_api.errors import RateLimited


class TokenBuckets:
    """``rate`` tokens per second up to ``burst``, per key; least recently seen keys expire."""

    def __init__(self, rate: float, burst: float, max_keys: int = 100_000) -> None:
        self.rate = rate
        self.burst = burst
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def _level(self, key: str, now: float) -> float:
        tokens, stamp = self._buckets.get(key, (self.burst, now))
        return min(self.burst, tokens + (now - stamp) * self.rate)

    def wait_needed(self, key: str, cost: float = 1.0, now: float | None = None) -> float:
        """Seconds until ``cost`` tokens are there (0 if they are), without taking any."""
        now = time.monotonic() if now is None else now
        with self._lock:
            level = self._level(key, now)
        return 0.0 if level >= cost else (cost - level) / self.rate

    def take(self, key: str, cost: float = 1.0, now: float | None = None) -> float:
        """Take ``cost`` tokens: 0 if granted, else the seconds to wait (nothing taken)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            level = self._level(key, now)
            if level < cost:
                self._buckets[key] = (level, now)
                self._buckets.move_to_end(key)
                return (cost - level) / self.rate
            self._buckets[key] = (level - cost, now)
            self._buckets.move_to_end(key)
            while len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
            return 0.0

    def give_back(self, key: str, cost: float = 1.0, now: float | None = None) -> None:
        """Return ``cost`` tokens taken for something that turned out to be free."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if key in self._buckets:
                self._buckets[key] = (min(self.burst, self._level(key, now) + cost), now)


class ClientThrottled(RateLimited):
    """A client over its budget of some public request; says when to come back."""

    def __init__(self, what: str, wait: float) -> None:
        seconds = max(1, math.ceil(wait))
        super().__init__(f"too many {what} from this client", retry_after=seconds)
        self.headers = {"Retry-After": str(seconds)}


def admit_client(buckets: TokenBuckets, request: Request, what: str, cost: float = 1.0) -> None:
    """Take ``cost`` from the requesting client's budget, or raise ClientThrottled (429,
    Retry-After) naming ``what`` it asked for too many of."""
    wait = buckets.take(request.client.host if request.client else "unknown", cost)
    if wait:
        raise ClientThrottled(what, wait)
