"""The diversion alerts API: filters and paging, dealer visibility, evidence with proofs,
and the status workflow with its history and audit entries."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from fixtures.app import TenantKeys
from fixtures.audit import log_entries
from fixtures.channels import Channel, audit_kinds, make_channel, problem, rows
from fixtures.codes import issue_batch
from trace_api.alerts.service import NewAlert, raise_alerts
from trace_api.components import Components
from trace_api.db import transaction
from trace_api.epcis.capture import EVENT_CAPTURED
from trace_api.models import DiversionAlert, DiversionAlertChange, EpcisEvent

ITEM = "https://id.gs1.org/01/09506000134352/21/{}"
PALLET = "https://id.gs1.org/00/306141410000000013"


def captured_event(client: TestClient, app: FastAPI, tenant: TenantKeys) -> tuple[int, str, int]:
    """An event captured over the API (a step no route rule looks at): its pk, eventID and
    the audit entry that recorded it, which the event row points to as its proof."""
    event = {
        "type": "ObjectEvent",
        "eventID": "urn:uuid:6f1d1c6e-8e0b-4a43-9d0e-1b2c3d4e5f60",
        "eventTime": "2026-11-20T10:00:00.000+08:00",
        "eventTimeZoneOffset": "+08:00",
        "epcList": ["urn:epc:id:sgtin:9506000.013435.S1"],
        "action": "OBSERVE",
        "bizStep": "inspecting",
    }
    doc = {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-25T10:00:00Z",
        "epcisBody": {"eventList": [event]},
    }
    response = client.post(
        "/epcis/capture",
        content=json.dumps(doc).encode(),
        headers={**tenant.auth("operator"), "Content-Type": "application/ld+json"},
    )
    assert response.status_code == 202, response.text
    seq = next(
        e["seq"]
        for e in log_entries(app, tenant.tenant_id)
        if e["kind"] == EVENT_CAPTURED and e["data"]["eventID"] == event["eventID"]
    )
    with transaction(Components.of(app).sessions) as session:
        pk = session.scalar(select(EpcisEvent.id).where(EpcisEvent.event_id == event["eventID"]))
        assert pk is not None
        session.execute(update(EpcisEvent).where(EpcisEvent.id == pk).values(audit_seq=seq))
    return pk, event["eventID"], seq


def raise_three(
    app: FastAPI, tenant: TenantKeys, ch: Channel, serial: str, event_pk: int, event_id: str
) -> list[str]:
    alerts = [
        NewAlert(
            subject=ITEM.format(serial),
            subject_kind="item",
            rule="outside_allocation",
            severity="high",
            detail="allocated to Zhejiang, received by a Nanjing dealer",
            expected_org=ch.zj,
            expected_division="330000",
            observed_org=ch.nj_dealer,
            observed_division="320106",
            blamed_org=ch.zj,
            event_pk=event_pk,
            evidence=(
                {"event_pk": event_pk, "eventID": event_id, "role": "deviation"},
                {"eventID": "urn:uuid:not-stored", "role": "shipment"},
            ),
        ),
        NewAlert(
            subject=PALLET,
            subject_kind="container",
            item_count=1000,
            rule="unauthorised_edge",
            severity="medium",
            detail="shipped from Jiangsu to Zhejiang",
            expected_org=ch.js,
            observed_org=ch.zj,
            blamed_org=ch.js,
        ),
        NewAlert(
            subject=ITEM.format("OTHER"),
            subject_kind="item",
            rule="product_scope",
            severity="low",
            detail="sold a product outside its scope",
            expected_org=ch.hz_dealer,
            observed_org=ch.hz_dealer,
            blamed_org=ch.hz_dealer,
        ),
    ]
    with transaction(Components.of(app).sessions) as session:
        return raise_alerts(
            session=session, tenant_id=tenant.tenant_id, alerts=alerts, actor="system"
        )


def ids(response) -> list[str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.text
    return [a["id"] for a in response.json()["alerts"]]


def test_alerts_are_filtered_and_paged(
    client: TestClient, app: FastAPI, tenant: TenantKeys, other_tenant: TenantKeys
) -> None:
    ch = make_channel(client, tenant)
    serial = issue_batch(client, tenant, count=1).codes[0]["serial"]
    pk, event_id, _ = captured_event(client, app, tenant)
    a, b, c = raise_three(app, tenant, ch, serial, pk, event_id)
    auth = tenant.auth("compliance")

    def listed(**params: str) -> list[str]:
        return ids(client.get("/v1/alerts", params=params, headers=auth))

    assert set(listed()) == {a, b, c}
    assert listed(severity="high") == [a]
    assert listed(rule="unauthorised_edge") == [b]
    assert listed(status="open", severity="low") == [c]
    assert listed(status="resolved") == []
    assert set(listed(organisation_id=ch.zj)) == {a, b}  # blamed for a, observed in b
    assert listed(organisation_id=ch.nj_dealer) == [a]
    assert listed(blamed_organisation_id=ch.zj) == [a]
    # The subject in any accepted form: our serial, its Digital Link, its EPC URN.
    assert listed(subject=serial) == [a]
    assert listed(subject=f"urn:epc:id:sgtin:9506000.013435.{serial}") == [a]
    assert listed(subject="306141410000000013") == [b]
    assert listed(subject="urn:epc:id:sscc:0614141.3000000001") == [b]
    now = datetime.now(UTC)
    assert set(listed(since=(now - timedelta(hours=1)).isoformat())) == {a, b, c}
    assert listed(until=(now - timedelta(hours=1)).isoformat()) == []
    problem(client.get("/v1/alerts", params={"since": "2026-11-25T10:00:00"}, headers=auth), 422)
    problem(client.get("/v1/alerts", params={"severity": "huge"}, headers=auth), 422)
    problem(client.get("/v1/alerts", params={"cursor": "nonsense"}, headers=auth), 422)

    paged: list[str] = []
    cursor = None
    for _ in range(5):
        params = {"limit": "1", **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/alerts", params=params, headers=auth).json()
        paged.extend(x["id"] for x in page["alerts"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert paged == listed()
    assert ids(client.get("/v1/alerts", headers=other_tenant.auth("admin"))) == []
    problem(client.get(f"/v1/alerts/{a}", headers=other_tenant.auth("admin")), 404)


def test_alert_detail_lists_evidence_with_proofs(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    ch = make_channel(client, tenant)
    pk, event_id, seq = captured_event(client, app, tenant)
    a, _, _ = raise_three(app, tenant, ch, "S1", pk, event_id)
    detail = client.get(f"/v1/alerts/{a}", headers=tenant.auth("operator")).json()
    assert detail["subject"] == ITEM.format("S1")
    assert (detail["expected_org"], detail["observed_org"], detail["blamed_org"]) == (
        ch.zj,
        ch.nj_dealer,
        ch.zj,
    )
    assert detail["evidence"] == [
        {
            "event_id": event_id,
            "role": "deviation",
            "audit_seq": seq,
            "proof": f"/v1/audit/entries/{seq}/proof",
        },
        {"event_id": "urn:uuid:not-stored", "role": "shipment", "audit_seq": None, "proof": None},
    ]
    assert detail["history"] == []
    raised = [
        e for e in log_entries(app, tenant.tenant_id) if e["kind"] == "diversion.alert_raised"
    ]
    assert (raised[0]["data"]["id"], raised[0]["items"]) == (a, [ITEM.format("S1")])


def test_dealers_see_only_alerts_they_are_part_of_and_cannot_change_them(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    ch = make_channel(client, tenant)
    pk, event_id, _ = captured_event(client, app, tenant)
    a, b, c = raise_three(app, tenant, ch, "S1", pk, event_id)
    dealer = tenant.auth("dealer")  # the Hangzhou dealer: only in alert c
    assert ids(client.get("/v1/alerts", headers=dealer)) == [c]
    assert ids(client.get("/v1/alerts", params={"organisation_id": ch.zj}, headers=dealer)) == []
    assert client.get(f"/v1/alerts/{c}", headers=dealer).status_code == 200
    for other in (a, b):
        problem(client.get(f"/v1/alerts/{other}", headers=dealer), 404)
    before = (rows(app, DiversionAlertChange), audit_kinds(app, tenant.tenant_id))
    for alert in (a, c):
        response = client.post(
            f"/v1/alerts/{alert}/status", json={"status": "acknowledged"}, headers=dealer
        )
        problem(response, 403)
    assert (rows(app, DiversionAlertChange), audit_kinds(app, tenant.tenant_id)) == before


def test_status_workflow_with_history_and_audit(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    ch = make_channel(client, tenant)
    pk, event_id, _ = captured_event(client, app, tenant)
    a, b, _ = raise_three(app, tenant, ch, "S1", pk, event_id)

    def change(alert: str, role: str = "compliance", **body: str):  # type: ignore[no-untyped-def]
        return client.post(f"/v1/alerts/{alert}/status", json=body, headers=tenant.auth(role))

    def unchanged() -> tuple[object, ...]:
        return (
            rows(app, DiversionAlert),
            rows(app, DiversionAlertChange),
            audit_kinds(app, tenant.tenant_id),
        )

    before = unchanged()
    conflict = problem(change(a, status="resolved"), 409)
    assert (conflict["from"], conflict["to"]) == ("open", "resolved")
    assert "open" in conflict["detail"] and "resolved" in conflict["detail"]
    problem(change(a, status="closed"), 422)
    problem(change(a, status="dismissed"), 422)  # no reason
    problem(change(a, status="dismissed", reason="   "), 422)
    problem(change("no-such-alert", status="acknowledged"), 404)
    assert unchanged() == before

    acknowledged = change(a, role="operator", status="acknowledged", reason="looking into it")
    assert acknowledged.status_code == 200, acknowledged.text
    assert acknowledged.json()["status"] == "acknowledged"
    problem(change(a, status="acknowledged"), 409)
    resolved = change(a, role="admin", status="resolved", reason="distributor fined")
    assert resolved.json()["status"] == "resolved"
    assert resolved.json()["status_reason"] == "distributor fined"
    assert [
        (h["from_status"], h["to_status"], h["reason"]) for h in resolved.json()["history"]
    ] == [
        ("open", "acknowledged", "looking into it"),
        ("acknowledged", "resolved", "distributor fined"),
    ]
    final = problem(change(a, status="dismissed", reason="x"), 409)
    assert (final["from"], final["to"]) == ("resolved", "dismissed")

    dismissed = change(b, status="dismissed", reason="sanctioned by phone")
    assert dismissed.json()["status"] == "dismissed"
    problem(change(b, status="open"), 409)
    problem(change(b, status="acknowledged"), 409)

    entries = [
        e
        for e in log_entries(app, tenant.tenant_id)
        if e["kind"] == "diversion.alert_status_changed"
    ]
    assert [(e["data"]["id"], e["data"]["from"], e["data"]["to"]) for e in entries] == [
        (a, "open", "acknowledged"),
        (a, "acknowledged", "resolved"),
        (b, "open", "dismissed"),
    ]
    assert entries[2]["data"]["reason"] == "sanctioned by phone"
    assert entries[0]["items"] == [ITEM.format("S1")]
    assert entries[0]["org"] == ch.zj
    assert entries[1]["actor"] != entries[0]["actor"]  # the admin key, then the operator key
    listed = client.get("/v1/alerts", params={"status": "dismissed"}, headers=tenant.auth("admin"))
    assert ids(listed) == [b]
    assert listed.json()["alerts"][0]["status_reason"] == "sanctioned by phone"
