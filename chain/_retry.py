"""Retries with exponential backoff for transient node failures (never for reverts)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import requests
from web3.exceptions import (
    ProviderConnectionError,
    RequestTimedOut,
    TimeExhausted,
    TooManyRequests,
)

from chain.errors import ChainUnavailable

T = TypeVar("T")

_log = logging.getLogger(__name__)

_TRANSIENT_HTTP_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry a request that failed for a transient reason.

    The n-th retry waits ``min(max_delay, base_delay * 2**n)`` seconds. ``sleep`` is injectable
    so tests can observe the backoff (or act between attempts) without waiting.
    """

    attempts: int = 4
    base_delay: float = 0.25
    max_delay: float = 4.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (0-based)."""
        return float(min(self.max_delay, self.base_delay * 2**retry))


NO_RETRY = RetryPolicy(attempts=1)


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` says the node was unreachable or overloaded, not that a request was wrong."""
    if isinstance(exc, requests.HTTPError):
        status = exc.response.status_code if exc.response is not None else None
        return status in _TRANSIENT_HTTP_STATUS
    return isinstance(
        exc,
        (
            requests.ConnectionError,
            requests.Timeout,
            ConnectionError,
            TimeoutError,
            ProviderConnectionError,
            RequestTimedOut,
            TimeExhausted,
            TooManyRequests,
        ),
    )


def with_retries(
    fn: Callable[[], T],
    policy: RetryPolicy,
    *,
    what: str,
    on_transient: Callable[[BaseException], None] | None = None,
) -> T:
    """Run ``fn``, retrying transient failures per ``policy``; raise ChainUnavailable at the end.

    ``on_transient`` runs after each transient failure, before the backoff (the nonce allocator
    uses it to forget its cached nonce). Non-transient errors propagate unchanged at once.
    """
    last: BaseException | None = None
    for attempt in range(max(1, policy.attempts)):
        if attempt:
            delay = policy.delay(attempt - 1)
            _log.info("retrying %s in %.2f s after: %s", what, delay, last)
            policy.sleep(delay)
        try:
            return fn()
        except Exception as exc:
            if not is_transient(exc):
                raise
            last = exc
            if on_transient is not None:
                on_transient(exc)
    raise ChainUnavailable(
        f"{what} failed after {max(1, policy.attempts)} attempt(s): {last}"
    ) from last
