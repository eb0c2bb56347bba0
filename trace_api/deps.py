"""Typed FastAPI dependencies: the request's session, the settings and the calling API key.

The app's other parts are dependencies of trace_api/components.py."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from trace_api.components import AuthFailuresDep, Components, SessionsDep
from trace_api.db import transaction
from trace_api.errors import RateLimited, Unauthenticated
from trace_api.principal import Principal
from trace_api.ratelimit import TokenBuckets
from trace_api.settings import Settings
from trace_api.tenancy import service as tenancy_service


def get_session(sessions: SessionsDep) -> Iterator[Session]:
    """One transaction per request: committed after the route returns, before the response."""
    with transaction(sessions) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


async def get_settings(request: Request) -> Settings:
    return Components.of(request.app).settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def require_key(request: Request, session: SessionDep, failures: AuthFailuresDep) -> Principal:
    """The principal behind the ``Authorization: Bearer`` key; 401 without a valid one.

    Routes take their caller as a role set of trace_api/roles.py, which builds on this."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("send an API key as 'Authorization: Bearer <key>'")
    principal = authenticate_throttled(failures, client_of(request), session, token.strip())
    request.state.principal = principal
    return principal


class WrongKeysThrottled(RateLimited):
    """A client sent too many wrong API keys; says when to come back."""

    def __init__(self, retry_after: float) -> None:
        seconds = max(1, math.ceil(retry_after))
        super().__init__(
            "too many wrong API keys from this client; try again later", retry_after=seconds
        )
        self.headers = {"Retry-After": str(seconds)}


def client_of(request: Request) -> str:
    """The client a budget is kept for: its address (as the trusted proxies give it)."""
    return request.client.host if request.client else "unknown"


def authenticate_throttled(
    failures: TokenBuckets, client: str, session: Session, key_text: str
) -> Principal:
    """The principal behind ``key_text``; each wrong key costs ``client`` from its budget
    in ``failures`` (``TRACE_AUTH_FAILURE_RATE``/``_BURST``), and an empty budget is a 429
    before the key is even looked at, so keys cannot be guessed at speed. The cost is
    taken before the lookup and given back for a right key, so a burst of concurrent
    guesses gets no more lookups than the budget holds."""
    wait = failures.take(client)
    if wait:
        raise WrongKeysThrottled(wait)
    principal = tenancy_service.authenticate(session=session, key_text=key_text)
    failures.give_back(client)
    return principal


CurrentKey = Annotated[Principal, Depends(require_key)]
