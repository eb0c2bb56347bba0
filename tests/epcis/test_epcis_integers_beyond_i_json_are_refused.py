"""An integer RFC 8785 cannot canonicalise (|n| >= 2**53) is a 400 problem, never a 500."""

from __future__ import annotations

from epcis_support import capture, document, object_event
from fastapi.testclient import TestClient

from fixtures.app import TenantKeys

QUANTITY = [{"epcClass": "urn:epc:class:lgtin:0614141.107346.LOT1", "quantity": 2**53 + 1}]


def test_a_capture_with_a_huge_quantity_reports_that_event_and_stores_nothing(
    client: TestClient, tenant: TenantKeys
) -> None:
    bad = object_event(2, eventID="urn:uuid:huge", quantityList=QUANTITY)
    job = capture(client, tenant, document(object_event(1), bad))
    assert job["success"] is False and job["storedCount"] == 0
    assert "RFC 8785" in job["errors"][0]["detail"]
    assert job["errors"][0]["type"] == "epcisException:ValidationException"


def test_a_single_event_with_a_huge_integer_is_a_400_problem(
    client: TestClient, tenant: TenantKeys
) -> None:
    for value in (2**53 + 1, -(2**60), 10**400):
        event = object_event(3, eventID=f"urn:uuid:n{value % 97}", quantityList=[
            {"epcClass": "urn:epc:class:lgtin:0614141.107346.LOT1", "quantity": value}
        ])  # fmt: skip
        answer = client.post("/epcis/events", json=event, headers=tenant.auth("operator"))
        assert answer.status_code == 400, (value, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
