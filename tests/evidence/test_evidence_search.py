"""Lists and search of the tenant's proofs: by kind, party, linked object, status and time,
a page at a time; links only to objects the tenant owns."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from submission_support import (
    add_signer,
    post_signature,
    proof_body,
    submit,
    written,
)

from compliance.evidence.certificate import batch_subject
from fixtures.app import TenantKeys
from fixtures.codes import make_batch, make_product
from trace_api.components import Components
from trace_api.db import transaction
from trace_api.models import AnchorJob, EpcisEvent, Evidence, EvidenceBatch

EVENT_ID = "urn:uuid:6d1b7f3e-3a4c-4e2b-9f7a-2c1d0e9b8a77"


def _ids(client: TestClient, tenant: TenantKeys, role: str = "compliance", **query: Any) -> list:
    response = client.get("/v1/evidence", params=query, headers=tenant.auth(role))
    assert response.status_code == 200, response.text
    return [p["id"] for p in response.json()["evidence"]]


def _capture_event(client: TestClient, tenant: TenantKeys) -> None:
    event = {
        "type": "ObjectEvent",
        "eventID": EVENT_ID,
        "eventTime": "2026-11-01T10:00:00.000+08:00",
        "eventTimeZoneOffset": "+08:00",
        "epcList": ["urn:epc:id:sgtin:0614141.107346.1"],
        "action": "OBSERVE",
        "bizStep": "shipping",
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


def test_links_to_the_tenants_objects_are_kept_and_searchable(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    product = make_product(client, tenant)
    batch = make_batch(client, tenant, product["id"])
    territories = client.put(
        f"/v1/organisations/{tenant.dealer_org_id}/territories",
        json={"division_codes": ["330100"]},
        headers=tenant.auth("admin"),
    )
    assert territories.status_code == 200, territories.text
    _capture_event(client, tenant)
    with transaction(Components.of(app).sessions) as session:
        digest = bytes(session.scalars(select(EpcisEvent.digest)).one()).hex()
    links = [
        {"type": "organisation", "id": tenant.dealer_org_id},
        {"type": "product", "id": product["id"]},
        {"type": "batch", "id": batch["id"]},
        {"type": "channel_authorisation", "id": f"territory:{tenant.dealer_org_id}:330100"},
        {"type": "epcis_event", "id": EVENT_ID},
    ]
    proof = submit(client, tenant, proof_body(links=links))
    stored = [{"type": t["type"], "id": t["id"]} for t in proof["links"]]
    assert stored[:4] == links[:4]
    assert stored[4] == {"type": "epcis_event", "id": f"sha256:{digest}"}
    assert proof["statement"]["links"] == stored
    other = submit(client, tenant, proof_body(title="unlinked"))
    for link in (*links, {"type": "epcis_event", "id": f"sha256:{digest}"}):
        assert _ids(client, tenant, link_type=link["type"], link_id=link["id"]) == [proof["id"]]
    assert _ids(client, tenant, link_type="epcis_event", link_id="urn:uuid:nothing") == []
    assert set(_ids(client, tenant)) == {proof["id"], other["id"]}


@pytest.mark.parametrize(
    "link",
    [
        {"type": "organisation", "id": "no-such-organisation"},
        {"type": "product", "id": "no-such-product"},
        {"type": "batch", "id": "no-such-batch"},
        {"type": "channel_authorisation", "id": "territory:nobody:330100"},
        {"type": "channel_authorisation", "id": "allocation:anything"},
        {"type": "epcis_event", "id": "urn:uuid:00000000-0000-4000-8000-000000000000"},
        {"type": "epcis_event", "id": "sha256:" + "00" * 32},
    ],
)
def test_a_link_to_an_object_the_tenant_does_not_have_is_refused(
    app: FastAPI, client: TestClient, tenant: TenantKeys, link: dict[str, str]
) -> None:
    before = written(app)
    response = client.post(
        "/v1/evidence", json=proof_body(links=[link]), headers=tenant.auth("operator")
    )
    assert response.status_code == 422, response.text
    assert "links[0]" in response.json()["detail"]
    assert written(app) == before


def test_another_tenants_organisation_and_product_cannot_be_linked(
    app: FastAPI, client: TestClient, tenant: TenantKeys, other_tenant: TenantKeys
) -> None:
    theirs = make_product(client, other_tenant)
    before = written(app)
    for link in (
        {"type": "organisation", "id": other_tenant.dealer_org_id},
        {"type": "product", "id": theirs["id"]},
    ):
        response = client.post(
            "/v1/evidence", json=proof_body(links=[link]), headers=tenant.auth("operator")
        )
        assert response.status_code == 422, response.text
    assert written(app) == before


def test_search_by_kind_party_status_and_time_pages_newest_first(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    brand, dealer = add_signer(client, tenant), add_signer(client, tenant)
    recall = submit(client, tenant, proof_body(kind="recall_notice"))
    pending = submit(client, tenant, proof_body([brand, dealer], kind="contract"))
    signed = submit(client, tenant, proof_body([brand], kind="contract"))
    assert post_signature(client, tenant, signed, brand).json()["status"] == "complete"
    anchored = submit(client, tenant, proof_body(kind="quality_report"))
    _anchor(app, tenant.tenant_id, anchored["id"])
    assert _ids(client, tenant, kind="contract") == [signed["id"], pending["id"]]
    assert _ids(client, tenant, party=dealer.party) == [pending["id"]]
    assert _ids(client, tenant, party=brand.party) == [signed["id"], pending["id"]]
    assert _ids(client, tenant, status="pending_signatures") == [pending["id"]]
    assert _ids(client, tenant, status="complete") == [signed["id"], recall["id"]]
    assert _ids(client, tenant, status="anchored") == [anchored["id"]]
    shown = client.get(f"/v1/evidence/{anchored['id']}", headers=tenant.auth("operator"))
    assert shown.json()["status"] == "anchored"
    now = datetime.now(UTC)
    later = (now + timedelta(hours=1)).isoformat()
    assert _ids(client, tenant, created_from=later) == []
    assert len(_ids(client, tenant, created_to=later)) == 4
    assert _ids(client, tenant, created_to=recall["created_at"]) == []
    assert _ids(client, tenant, created_from=anchored["created_at"]) == [anchored["id"]]
    pages, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/evidence", params=params, headers=tenant.auth("admin")).json()
        pages += [p["id"] for p in page["evidence"]]
        if not (cursor := page["next_cursor"]):
            break
    assert pages == [anchored["id"], signed["id"], pending["id"], recall["id"]]


def test_bad_search_parameters_are_problems(client: TestClient, tenant: TenantKeys) -> None:
    for query in (
        {"status": "lost"},
        {"kind": "poem"},
        {"link_type": "product"},
        {"cursor": "not-a-cursor"},
        {"created_from": "2026-12-01T00:00:00"},  # no offset
        {"limit": 0},
    ):
        response = client.get("/v1/evidence", params=query, headers=tenant.auth("admin"))
        assert response.status_code == 422, (query, response.text)
        assert response.headers["content-type"] == "application/problem+json"


def _anchor(app: FastAPI, tenant_id: str, evidence_id: str) -> None:
    """Put the proof in a batch whose anchor job is confirmed (what batching and the
    anchoring worker do, trace_api/evidence/batches.py)."""
    with transaction(Components.of(app).sessions) as session:
        row = session.get(Evidence, evidence_id)
        assert row is not None and row.leaf_hash is not None
        batch = EvidenceBatch(
            tenant_id=tenant_id, size=1, root=bytes(row.leaf_hash).hex(), leaf_hashes=row.leaf_hash
        )
        session.add(batch)
        session.flush()
        row.batch_id, row.leaf_index = batch.id, 0
        session.add(
            AnchorJob(
                tenant_id=tenant_id,
                kind="evidence",
                subject=batch_subject(batch.id),
                anchor_id="0x" + "11" * 32,
                root="0x" + batch.root,
                size=1,
                meta="0x" + "00" * 32,
                status="confirmed",
            )
        )
