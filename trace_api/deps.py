"""Typed FastAPI dependencies: the request's session and the calling API key."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from trace_api.errors import Forbidden, Unauthenticated
from trace_api.settings import Settings
from trace_api.tenancy import service as tenancy_service
from trace_api.tenancy.service import Principal


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed after the route returns, before the response."""
    session: Session = request.app.state.sessions()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def require_key(request: Request, session: SessionDep) -> Principal:
    """The principal behind the ``Authorization: Bearer`` key; 401 without a valid one."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("send an API key as 'Authorization: Bearer <key>'")
    principal = tenancy_service.authenticate(session=session, key_text=token.strip())
    request.state.principal = principal
    return principal


CurrentKey = Annotated[Principal, Depends(require_key)]


def require_role(*roles: str) -> Callable[[Principal], Principal]:
    """A dependency that lets only the given roles through (403 for the others)."""

    def check(principal: CurrentKey) -> Principal:
        if principal.role not in roles:
            raise Forbidden(
                f"this needs the {' or '.join(roles)} role; the key has {principal.role}"
            )
        return principal

    return check


AdminKey = Annotated[Principal, Depends(require_role("admin"))]
