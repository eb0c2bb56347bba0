"""Bad values (entry numbers, times with no UTC value, NUL characters) are 4xx problems on
both databases, and store nothing.
"""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from movements.channel_setup import Channel, build_channel, last_seq
from sqlalchemy import func, select

from fixtures.app import TenantKeys
from trace_api.components import Components
from trace_api.db import transaction
from trace_api.models import AuditEntry


@pytest.fixture
def channel(app: FastAPI, client: TestClient, tenant: TenantKeys) -> Channel:
    return build_channel(app, client, tenant, codes=4)


@pytest.mark.parametrize("seq", ["9223372036854775808", "99999999999999999999999", "-1"])
def test_an_impossible_entry_number_is_a_4xx(channel: Channel, seq: str) -> None:
    answer = channel.client.get(f"/v1/audit/entries/{seq}/proof", headers=channel.auth("admin"))
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("at", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_time_without_a_utc_value_is_a_4xx_and_stores_nothing(channel: Channel, at: str) -> None:
    before = last_seq(channel, "organisation.created")
    answer = channel.client.post(
        "/v1/scans/receive",
        json={"codes": [channel.serial(0)], "at": at},
        headers=channel.auth("zj_dist"),
    )
    assert answer.status_code == 422 and "UTC" in answer.text
    listing = channel.client.get("/v1/alerts", params={"since": at}, headers=channel.auth("admin"))
    assert listing.status_code == 422
    with transaction(Components.of(channel.app).sessions) as session:
        newest = session.scalar(
            select(func.max(AuditEntry.seq)).where(AuditEntry.tenant_id == channel.tenant.tenant_id)
        )
    assert newest is not None and newest >= before
    assert channel.state(channel.key(0)) is None  # the scan recorded nothing


@pytest.mark.parametrize(
    "path",
    [
        "/v1/allocations?target=urn:x%00y",
        "/v1/alerts?subject=urn:x%00y",
        "/v1/alerts?rule=a%00b",
        "/v1/allocations/a%00b",
        "/v1/alerts/a%00b",
        "/v1/organisations/a%00b/territories",
        "/epcis/events/a%00b",
    ],
)
def test_a_nul_character_is_a_4xx_on_both_databases(channel: Channel, path: str) -> None:
    answer = channel.client.get(path, headers=channel.auth("admin"))
    assert 400 <= answer.status_code < 500, (path, answer.status_code, answer.text)
