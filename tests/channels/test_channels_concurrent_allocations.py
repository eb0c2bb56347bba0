"""Two allocations of one item at once leave exactly one current allocation.

Allocations of a tenant are serialised (an advisory lock on PostgreSQL, the write lock on
SQLite: trace_api/channels/allocations.py). The test holds the first allocation's
transaction open until the second has reached that serialising statement, so the two
really overlap, and then checks the second got through only after the first committed.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from movements.channel_setup import Channel, build_channel
from sqlalchemy import event, select

from fixtures.app import TenantKeys
from trace_api.channels import allocations
from trace_api.components import Components
from trace_api.db import transaction
from trace_api.models import Allocation


@pytest.fixture
def channel(app: FastAPI, client: TestClient, tenant: TenantKeys) -> Channel:
    return build_channel(app, client, tenant, codes=4)


def _serialises(statement: str) -> bool:
    """Whether ``statement`` may be the one that makes an allocation wait for another (the
    first such statement of an allocation is)."""
    text = " ".join(statement.split()).lower()
    return "pg_advisory_xact_lock" in text or text.startswith("update allocations")


def test_concurrent_allocations_of_one_item_leave_one_current(channel: Channel) -> None:
    key = channel.key(0)
    first_holds, release = threading.Event(), threading.Event()
    second_waits, first_commits = threading.Event(), threading.Event()
    second_through: list[bool] = []  # whether the first was committing when the second got in
    errors: list[BaseException] = []
    second_thread: list[threading.Thread] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if threading.current_thread() in second_thread and _serialises(statement):
            second_waits.set()  # it now blocks in this statement until the first commits

    def after(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        second = threading.current_thread() in second_thread
        if second and not second_through and _serialises(statement):  # its first: the lock
            second_through.append(first_commits.is_set())

    def allocate(org: str, hold: bool) -> None:
        session = Components.of(channel.app).sessions()
        try:
            allocations.allocate(
                session=session,
                tenant_id=channel.tenant.tenant_id,
                organisation_id=channel.orgs[org],
                target_kind="item",
                targets=[key],
                division_code=None,
                note="",
                actor="test",
            )
            if hold:
                first_holds.set()
                assert release.wait(10)
                first_commits.set()  # before the commit: the second cannot get in sooner
            session.commit()
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)
        finally:
            session.close()

    engine = Components.of(channel.app).engine
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        first = threading.Thread(target=allocate, args=("hz_dealer", True))
        first.start()
        assert first_holds.wait(10)
        second = threading.Thread(target=allocate, args=("nb_dealer", False))
        second_thread.append(second)
        second.start()
        assert second_waits.wait(10), "the second allocation never reached the lock"
        release.set()
        first.join(30)
        second.join(30)
    finally:
        release.set()
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    assert errors == []
    assert second_through == [True]  # it waited for the first and got in only at its commit
    with transaction(Components.of(channel.app).sessions) as session:
        current = session.scalars(
            select(Allocation.organisation_id).where(
                Allocation.target == key, Allocation.replaced_at.is_(None)
            )
        ).all()
    assert current == [channel.orgs["nb_dealer"]]
