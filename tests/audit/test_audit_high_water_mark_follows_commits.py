"""A log's high-water mark follows what committed through the service, never what a rolled
back transaction or savepoint appended: a mark too high would be a false alarm."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from fixtures.app import TenantKeys
from trace_api.audit import log as audit_log
from trace_api.components import Components
from trace_api.db import transaction


def _append(session, tenant_id: str, n: int = 1) -> range:
    return audit_log.append_many(
        session=session,
        tenant_id=tenant_id,
        changes=[audit_log.Change("test.mark", {"n": i}) for i in range(n)],
    )


def test_the_mark_follows_commits_only(app: FastAPI, tenant: TenantKeys) -> None:
    integrity, tenant_id = Components.of(app).log_integrity, tenant.tenant_id
    start = integrity.high_water_mark(tenant_id)
    with transaction(Components.of(app).sessions) as session:
        size = audit_log.log_size(session=session, tenant_id=tenant_id)
    assert start == size  # tenant creation committed through these sessions

    with pytest.raises(RuntimeError), transaction(Components.of(app).sessions) as session:
        _append(session, tenant_id, 3)
        raise RuntimeError("the request fails: nothing commits")
    assert integrity.high_water_mark(tenant_id) == size

    with transaction(Components.of(app).sessions) as session:
        _append(session, tenant_id, 2)
        with session.begin_nested():
            _append(session, tenant_id)
        assert integrity.high_water_mark(tenant_id) == size  # a savepoint is not a commit
        try:
            with session.begin_nested():
                _append(session, tenant_id, 5)
                raise RuntimeError("this part is given up")
        except RuntimeError:
            pass
    with transaction(Components.of(app).sessions) as session:
        committed = audit_log.log_size(session=session, tenant_id=tenant_id)
    assert committed == size + 3
    # the savepoint's rollback made the mark forget this transaction's appends: lower
    # than it could be, never higher than the log
    assert integrity.high_water_mark(tenant_id) <= committed

    with transaction(Components.of(app).sessions) as session:
        _append(session, tenant_id, 4)
    assert integrity.high_water_mark(tenant_id) == committed + 4
