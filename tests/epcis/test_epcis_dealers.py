"""A dealer reads only events about items that are or were in its custody."""

from __future__ import annotations

from typing import Any

from epcis_support import capture, document, object_event, query
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fixtures.app import TenantKeys
from trace_api.components import Components
from trace_api.db import transaction
from trace_api.tenancy import service as tenancy_service

DEALER_GLN = "urn:epc:id:pgln:0614141.00001"  # registered to the dealer's organisation
SSCC = "urn:epc:id:sscc:0614141.1234567890"


def _item(n: int) -> str:
    return f"urn:epc:id:sgtin:0614141.107346.{n}"


def _ids(events: list[dict[str, Any]]) -> set[str]:
    return {e["eventID"] for e in events}


def _to_dealer(n: int, epcs: list[str], gln: str = DEALER_GLN) -> dict[str, Any]:
    return object_event(
        n,
        eventID=f"urn:uuid:ship-{n}",
        epcList=epcs,
        destinationList=[{"type": "owning_party", "destination": gln}],
    )


def _history(client: TestClient, tenant: TenantKeys) -> None:
    packing = {
        "type": "AggregationEvent",
        "eventID": "urn:uuid:pack",
        "eventTime": "2026-11-01T09:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        "parentID": SSCC,
        "childEPCs": [_item(20), _item(21)],
        "action": "ADD",
        "bizStep": "packing",
    }
    capture(
        client,
        tenant,
        document(
            object_event(1, eventID="urn:uuid:made-1", bizStep="commissioning", action="ADD"),
            _to_dealer(2, [_item(1), "https://id.gs1.org/01/10614141073464/21/2"]),
            object_event(3, eventID="urn:uuid:elsewhere"),
            packing,
            _to_dealer(5, [SSCC]),
            object_event(21, eventID="urn:uuid:sold-21", bizStep="retail_selling"),
        ),
    )


def _register(client: TestClient, tenant: TenantKeys, gln: str = DEALER_GLN) -> None:
    response = client.post(
        "/v1/epcis/parties",
        json={"organisation_id": tenant.dealer_org_id, "identifier": gln},
        headers=tenant.auth("admin"),
    )
    assert response.status_code == 201, response.text


def test_a_dealer_sees_the_history_of_what_it_holds_or_held(
    client: TestClient, tenant: TenantKeys
) -> None:
    _history(client, tenant)
    assert query(client, tenant, role="dealer") == []  # its GLN is not known yet
    _register(client, tenant)  # registered after the fact: custody is worked out anew
    seen = _ids(query(client, tenant, role="dealer"))
    assert seen == {
        "urn:uuid:made-1",  # item 1's earlier history
        "urn:uuid:ship-2",  # names the dealer
        "urn:uuid:pack",  # about the case shipped to it
        "urn:uuid:ship-5",
        "urn:uuid:sold-21",  # item 21 was in that case: its later history too
    }
    assert "urn:uuid:elsewhere" in _ids(query(client, tenant, role="operator"))
    hidden = client.get("/epcis/events/urn:uuid:elsewhere", headers=tenant.auth("dealer"))
    assert hidden.status_code == 404
    by_dl = query(
        client, tenant, role="dealer", MATCH_epc="https://id.gs1.org/01/10614141073464/21/1"
    )
    assert _ids(by_dl) == {"urn:uuid:made-1", "urn:uuid:ship-2"}


def test_custody_passes_into_a_case_packed_after_it_was_shipped(
    client: TestClient, tenant: TenantKeys
) -> None:
    _register(client, tenant)
    capture(client, tenant, document(_to_dealer(5, [SSCC])))
    late_packing = {
        "type": "AggregationEvent",
        "eventID": "urn:uuid:late-pack",
        "eventTime": "2026-11-01T09:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        "parentID": SSCC,
        "childEPCs": [_item(30)],
        "action": "ADD",
    }
    capture(client, tenant, document(late_packing, object_event(30, eventID="urn:uuid:item-30")))
    assert {"urn:uuid:late-pack", "urn:uuid:item-30"} <= _ids(query(client, tenant, role="dealer"))


def test_a_dealer_reads_what_it_captured_but_gains_no_custody_by_capturing(
    client: TestClient, tenant: TenantKeys
) -> None:
    capture(client, tenant, document(object_event(40, eventID="urn:uuid:looked-40")), role="dealer")
    capture(
        client, tenant, document(object_event(40, eventID="urn:uuid:later-40", bizStep="storing"))
    )
    assert _ids(query(client, tenant, role="dealer")) == {"urn:uuid:looked-40"}
    assert client.get("/epcis/epcs", headers=tenant.auth("dealer")).json()["member"] == []


def test_a_dealer_naming_itself_as_receiver_gains_custody(
    client: TestClient, tenant: TenantKeys
) -> None:
    received = object_event(
        41,
        eventID="urn:uuid:received-41",
        bizStep="receiving",
        destinationList=[
            {
                "type": "possessing_party",
                "destination": f"urn:tracechain:org:{tenant.dealer_org_id}",
            }
        ],
    )
    capture(client, tenant, document(received), role="dealer")
    capture(
        client, tenant, document(object_event(41, eventID="urn:uuid:later-41", bizStep="storing"))
    )
    assert _ids(query(client, tenant, role="dealer")) == {
        "urn:uuid:received-41",
        "urn:uuid:later-41",
    }


def test_another_dealer_sees_none_of_it(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    _history(client, tenant)
    _register(client, tenant)
    with transaction(Components.of(app).sessions) as session:
        org = tenancy_service.create_organisation(
            session=session, tenant_id=tenant.tenant_id, name="other dealer", kind="dealer"
        )
        key = tenancy_service.issue_api_key(
            session=session, tenant_id=tenant.tenant_id, role="dealer", organisation_id=org.id
        )
    other = {"Authorization": f"Bearer {key.text}"}
    response = client.get("/epcis/events", headers=other)
    assert response.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"] == []
    assert client.get("/epcis/epcs", headers=other).json()["member"] == []


def test_a_gln_is_registered_once_and_only_a_gln(client: TestClient, tenant: TenantKeys) -> None:
    _register(client, tenant)
    _register(client, tenant, "https://id.gs1.org/417/0614141000012")  # the same, as a DL: no-op
    listed = client.get("/v1/epcis/parties", headers=tenant.auth("admin")).json()
    assert [p["identifier"] for p in listed] == ["https://id.gs1.org/417/0614141000012"]
    not_gln = client.post(
        "/v1/epcis/parties",
        json={"organisation_id": tenant.dealer_org_id, "identifier": _item(1)},
        headers=tenant.auth("admin"),
    )
    assert not_gln.status_code == 422
    by_operator = client.post(
        "/v1/epcis/parties",
        json={"organisation_id": tenant.dealer_org_id, "identifier": DEALER_GLN},
        headers=tenant.auth("operator"),
    )
    assert by_operator.status_code == 403
