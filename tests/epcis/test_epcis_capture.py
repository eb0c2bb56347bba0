"""Capture: 202 and a job at once, all or nothing by default, limits, the audit log."""

from __future__ import annotations

import json

from epcis_support import JSONLD, capture, document, object_event, post_capture, query
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, func, select

from fixtures.app import TEST_MASTER_KEY, TenantKeys, make_tenant
from fixtures.audit import log_entries
from trace_api.app import create_app
from trace_api.components import Components
from trace_api.db import transaction
from trace_api.epcis import identifiers
from trace_api.models import EpcisEvent
from trace_api.settings import Settings


def _stored(app: FastAPI, tenant: TenantKeys) -> int:
    with transaction(Components.of(app).sessions) as session:
        count = session.scalar(select(func.count()).where(EpcisEvent.tenant_id == tenant.tenant_id))
    return int(count or 0)


def test_capture_answers_202_with_the_job_in_location(
    client: TestClient, tenant: TenantKeys
) -> None:
    response = post_capture(client, tenant, document(object_event(1), object_event(2)))
    assert response.status_code == 202
    assert response.headers["location"].startswith("/epcis/capture/")
    assert response.headers["gs1-epcis-version"] == "2.0.0"
    job = client.get(response.headers["location"], headers=tenant.auth("operator")).json()
    assert job["running"] is False and job["success"] is True
    assert job["captureErrorBehaviour"] == "rollback"
    assert job["storedCount"] == 2 and job["errors"] == []
    listed = client.get("/epcis/capture", headers=tenant.auth("compliance")).json()
    assert [j["captureID"] for j in listed] == [job["captureID"]]


def test_a_failed_all_or_nothing_capture_stores_nothing(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    capture(client, tenant, document(object_event(1, eventID="urn:uuid:a")))
    before, log_before = _stored(app, tenant), len(log_entries(app, tenant.tenant_id))
    clash = object_event(2, eventID="urn:uuid:a")  # same eventID, other content
    job = capture(client, tenant, document(object_event(3), clash, object_event(4)))
    assert job["success"] is False and job["storedCount"] == 0
    assert "event 1 (urn:uuid:a)" in job["errors"][0]["detail"]
    assert job["errors"][0]["type"] == "epcisException:ValidationException"
    assert _stored(app, tenant) == before
    assert len(log_entries(app, tenant.tenant_id)) == log_before


def test_proceed_stores_the_good_events_and_reports_the_bad(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    capture(client, tenant, document(object_event(1, eventID="urn:uuid:a")))
    clash = object_event(2, eventID="urn:uuid:a")
    job = capture(
        client,
        tenant,
        document(object_event(3), clash, object_event(4)),
        headers={"GS1-Capture-Error-Behaviour": "proceed"},
    )
    assert job["captureErrorBehaviour"] == "proceed"
    assert job["success"] is False and job["storedCount"] == 2
    assert len(job["errors"]) == 1
    assert _stored(app, tenant) == 3


def test_capturing_the_same_event_again_is_harmless(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    doc = document(object_event(1, eventID="urn:uuid:a"), object_event(2))
    capture(client, tenant, doc)
    again = capture(client, tenant, doc)
    assert again["success"] is True and again["storedCount"] == 0
    assert _stored(app, tenant) == 2


def test_every_captured_event_is_an_audit_log_leaf_about_its_items(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    dl = "https://brand.example/01/10614141073464/10/L1/21/77"
    job = capture(client, tenant, document(object_event(5), object_event(6, epcList=[dl])))
    entries = [e for e in log_entries(app, tenant.tenant_id) if e["kind"] == "epcis.event_captured"]
    assert len(entries) == 2
    first = entries[0]
    assert first["data"]["captureID"] == job["captureID"]
    assert first["data"]["type"] == "ObjectEvent"
    assert first["data"]["hash"].startswith("sha256:")
    assert first["data"]["eventID"].startswith("ni:///sha-256;")
    assert first["items"] == [identifiers.canonical("urn:epc:id:sgtin:0614141.107346.5")]
    assert entries[1]["items"] == ["https://id.gs1.org/01/10614141073464/21/77"]
    # a signed checkpoint covers the entries: they carry proofs like every other leaf
    checkpoint = client.post("/v1/audit/checkpoints", headers=tenant.auth("compliance"))
    assert checkpoint.status_code == 201, checkpoint.text
    assert checkpoint.json()["size"] > entries[1]["seq"]


def test_limits_answer_413_with_the_limit(tmp_path: object, db_url: str, engine: Engine) -> None:
    settings = Settings(
        env="test",
        data_dir=tmp_path / "trace",  # type: ignore[operator]
        database_url=db_url,
        master_key=SecretStr(TEST_MASTER_KEY),
        worker_in_process=False,
        epcis_capture_limit=3,
        epcis_capture_file_size_limit=4096,
    )
    app = create_app(settings, engine=engine)
    tenant = make_tenant(app, "small")
    with TestClient(app) as client:
        too_many = post_capture(client, tenant, document(*(object_event(n) for n in range(4))))
        assert too_many.status_code == 413
        assert too_many.headers["gs1-epcis-capture-limit"] == "3"
        assert too_many.json()["type"] == "epcisException:CaptureLimitExceededException"
        assert "at most 3" in too_many.json()["detail"]
        big = document(
            object_event(1, **{"example:note": "x" * 5000}),
            context=[
                "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
                {"example": "https://example.com/"},
            ],
        )
        too_big = post_capture(client, tenant, big)
        assert too_big.status_code == 413
        assert too_big.headers["gs1-epcis-capture-file-size-limit"] == "4096"
        assert query(client, tenant) == []


def test_large_documents_are_stored_after_the_answer(
    tmp_path: object, db_url: str, engine: Engine
) -> None:
    settings = Settings(
        env="test",
        data_dir=tmp_path / "trace",  # type: ignore[operator]
        database_url=db_url,
        master_key=SecretStr(TEST_MASTER_KEY),
        worker_in_process=False,
        epcis_capture_sync_limit=2,
    )
    app = create_app(settings, engine=engine)
    tenant = make_tenant(app, "big")
    with TestClient(app) as client:
        # 600 events: stored after the answer, and through COPY on PostgreSQL
        job = capture(client, tenant, document(*(object_event(n) for n in range(600))))
        assert job["success"] is True and job["storedCount"] == 600
        assert len(query(client, tenant, perPage=1000)) == 600
        assert len(query(client, tenant, MATCH_epc="urn:epc:id:sgtin:0614141.107346.599")) == 1


def test_media_type_role_and_header_are_checked(client: TestClient, tenant: TenantKeys) -> None:
    body = json.dumps(document(object_event(1))).encode()
    text = client.post(
        "/epcis/capture",
        content=body,
        headers={**tenant.auth("operator"), "Content-Type": "text/plain"},
    )
    assert text.status_code == 415
    assert text.json()["type"] == "epcisException:UnsupportedMediaTypeException"
    compliance = client.post(
        "/epcis/capture", content=body, headers={**tenant.auth("compliance"), **JSONLD}
    )
    assert compliance.status_code == 403
    assert compliance.json()["type"] == "epcisException:SecurityException"
    anonymous = client.post("/epcis/capture", content=body, headers=JSONLD)
    assert anonymous.status_code == 401
    bad = post_capture(
        client,
        tenant,
        document(object_event(1)),
        headers={"GS1-Capture-Error-Behaviour": "sometimes"},
    )
    assert bad.status_code == 400


def test_post_events_captures_one_event_and_refuses_a_taken_id(
    client: TestClient, tenant: TenantKeys
) -> None:
    event = object_event(9, eventID="urn:uuid:single")
    created = client.post("/epcis/events", json=event, headers=tenant.auth("dealer"))
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/epcis/events/urn%3Auuid%3Asingle"
    assert created.json()["eventID"] == "urn:uuid:single"
    taken = client.post(
        "/epcis/events", json={**event, "bizStep": "receiving"}, headers=tenant.auth("operator")
    )
    assert taken.status_code == 409
    assert taken.json()["type"] == "epcisException:ResourceAlreadyExistsException"


def test_another_tenants_jobs_and_events_are_not_found(
    client: TestClient, tenant: TenantKeys, other_tenant: TenantKeys
) -> None:
    job = capture(client, tenant, document(object_event(1, eventID="urn:uuid:mine")))
    assert (
        client.get(
            f"/epcis/capture/{job['captureID']}", headers=other_tenant.auth("operator")
        ).status_code
        == 404
    )
    assert (
        client.get("/epcis/events/urn:uuid:mine", headers=other_tenant.auth("operator")).status_code
        == 404
    )
    assert query(client, other_tenant) == []
