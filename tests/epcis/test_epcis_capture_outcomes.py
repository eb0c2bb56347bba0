"""Capture names the kind of each event it rejects, and says which events it stored.

Callers branch on the kind (a 409 for a duplicate eventID, a 400 otherwise), so a kind
misreported here would turn into the wrong answer over HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from epcis_support import object_event
from fastapi import FastAPI

from fixtures.app import TenantKeys
from trace_api.components import Components
from trace_api.db import transaction
from trace_api.epcis import capture
from trace_api.epcis import service as epcis_service
from trace_api.epcis.stored import Capturer, StoredEvent
from trace_api.tenancy import service as tenancy_service

OTHER_GLN = "urn:epc:id:pgln:0614141.00002"  # registered to another organisation
CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]


class Heard:
    """An on-stored hook that remembers what it was told."""

    def __init__(self) -> None:
        self.calls: list[tuple[Capturer, list[str]]] = []

    def __call__(self, *, session: Any, capturer: Capturer, events: Sequence[StoredEvent]) -> None:
        self.calls.append((capturer, [e.prepared.event_id for e in events]))


@dataclass(frozen=True)
class Finished:
    """What a capture returned and what its job row says, read in its transaction."""

    rejected: list[capture.Rejection]
    stored_count: int
    success: bool
    errors: list[dict[str, Any]]


def _capture(
    app: FastAPI, capturer: Capturer, events: list[dict[str, Any]], hook: Heard, behaviour: str
) -> Finished:
    with transaction(Components.of(app).sessions) as session:
        job = capture.start_job(
            session=session, capturer=capturer, behaviour=behaviour, event_count=len(events)
        )
        outcome = capture.run(
            session=session,
            job=job,
            capturer=capturer,
            events=events,
            context=CONTEXT,
            on_stored=hook,
        )
        job = outcome.job
        return Finished(outcome.rejected, job.stored_count, job.success, json.loads(job.errors))


def test_each_rejected_event_has_its_kind_and_index(app: FastAPI, tenant: TenantKeys) -> None:
    with transaction(Components.of(app).sessions) as session:
        other = tenancy_service.create_organisation(
            session=session, tenant_id=tenant.tenant_id, name="rival", kind="dealer"
        )
        epcis_service.register_party(
            session=session,
            tenant_id=tenant.tenant_id,
            organisation_id=other.id,
            identifier=OTHER_GLN,
            actor="test",
        )
    operator = Capturer(tenant.tenant_id, "operator-key", None, route_checks=False)
    dealer = Capturer(tenant.tenant_id, "dealer-key", tenant.dealer_org_id, route_checks=False)
    first = Heard()
    _capture(app, operator, [object_event(1, eventID="urn:uuid:taken")], first, "rollback")
    assert first.calls == [(operator, ["urn:uuid:taken"])]

    events = [
        object_event(2, eventID="urn:uuid:fine"),
        object_event(3, eventID="urn:uuid:taken"),  # the same eventID, other content
        object_event(4, eventID="urn:uuid:no-zone", eventTime="2026-11-01T10:00:00"),
        object_event(  # the dealer records a shipment by another organisation
            5,
            eventID="urn:uuid:not-mine",
            sourceList=[{"type": "owning_party", "source": OTHER_GLN}],
        ),
        object_event(1, eventID="urn:uuid:taken"),  # an exact repeat: skipped, not rejected
    ]
    heard = Heard()
    outcome = _capture(app, dealer, events, heard, "proceed")

    assert {(r.index, r.kind) for r in outcome.rejected} == {
        (1, "duplicate"),
        (2, "invalid"),
        (3, "foreign"),
    }
    assert (outcome.stored_count, outcome.success) == (1, False)
    assert heard.calls == [(dealer, ["urn:uuid:fine"])]
    # The job's problem list, which the API shows, is the same rejections in the same order.
    assert outcome.errors == [r.problem() for r in outcome.rejected]
    assert [e["detail"] for e in outcome.errors] == sorted(r.detail for r in outcome.rejected)
    assert all(e["status"] == 400 for e in outcome.errors)


def test_with_rollback_nothing_is_stored_and_the_hook_is_not_called(
    app: FastAPI, tenant: TenantKeys
) -> None:
    operator = Capturer(tenant.tenant_id, "operator-key", None, route_checks=False)
    events = [
        object_event(1, eventID="urn:uuid:a"),
        object_event(2, eventID="urn:uuid:b", eventTime="2026-11-01T10:00:00"),
    ]
    heard = Heard()
    outcome = _capture(app, operator, events, heard, "rollback")
    assert [(r.index, r.kind) for r in outcome.rejected] == [(1, "invalid")]
    assert (outcome.stored_count, outcome.success) == (0, False)
    assert heard.calls == []
