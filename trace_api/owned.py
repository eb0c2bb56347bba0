"""Rows looked up on behalf of a tenant, where another tenant's row does not exist."""

from __future__ import annotations

from typing import Protocol, TypeVar

from sqlalchemy.orm import Session

from trace_api.errors import NotFound


class TenantOwned(Protocol):
    @property
    def tenant_id(self) -> str: ...


_Row = TypeVar("_Row", bound=TenantOwned)


def get_owned(
    session: Session,
    model: type[_Row],
    key: str | int,
    *,
    tenant_id: str,
    noun: str,
    missing: type[NotFound] = NotFound,
) -> _Row:
    """The ``model`` row at ``key`` if ``tenant_id`` owns it; ``missing`` ("no {noun} {key}")
    otherwise.

    Another tenant's row is missing rather than forbidden, so ids of other tenants cannot be
    probed for existence.
    """
    record = session.get(model, key)
    if record is None or record.tenant_id != tenant_id:
        raise missing(f"no {noun} {key}")
    return record
