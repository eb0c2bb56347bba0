"""The resolver behaves as GS1 resolvers do: description, linksets, linkType redirects."""

from __future__ import annotations

from fastapi.testclient import TestClient

from fixtures.app import TenantKeys
from fixtures.codes import BASE, JSON, issue_batch

PIP = "https://brand.example/products/longjing"
RECALL = "https://brand.example/recalls"


def test_well_known_description(client: TestClient) -> None:
    body = client.get("/.well-known/gs1resolver").json()
    assert body["resolverRoot"] == BASE
    assert body["supportedPrimaryKeys"] == ["01"]
    assert body["linkTypeDefaultCanBeLinkset"] is True
    assert body["supportedLinkType"][0]["prefix"] == "gs1:"


def test_linkset_lists_page_proof_and_brand_links_without_counting_a_scan(
    client: TestClient, tenant: TenantKeys
) -> None:
    issued = issue_batch(
        client, tenant, count=1, links={"gs1:pip": PIP, "gs1:recallStatus": RECALL}
    )
    uri = issued.codes[0]["uri"]
    by_query = client.get(f"{issued.path(0)}?linkType=all")
    by_accept = client.get(issued.path(0), headers={"Accept": "application/linkset+json"})
    for response in (by_query, by_accept):
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/linkset+json"
        (context,) = response.json()["linkset"]
        assert context["anchor"] == uri
        assert context["https://gs1.org/voc/defaultLink"][0]["href"] == uri
        assert context["https://gs1.org/voc/traceability"][0]["href"].endswith(
            f"/v1/codes/{issued.codes[0]['serial']}/proof"
        )
        assert context["https://gs1.org/voc/pip"] == [{"href": PIP}]
        assert context["https://gs1.org/voc/recallStatus"] == [{"href": RECALL}]
    assert 'rel="linkset"' in by_query.headers["link"]
    assert client.get(issued.path(0), headers=JSON).json()["scans"]["count"] == 1


def test_link_type_redirects_and_falls_back_to_the_default_link(
    client: TestClient, tenant: TenantKeys
) -> None:
    issued = issue_batch(client, tenant, count=1, links={"gs1:pip": PIP})
    pip = client.get(f"{issued.path(0)}?linkType=gs1:pip", follow_redirects=False)
    assert pip.status_code == 307 and pip.headers["location"] == PIP
    trace = client.get(f"{issued.path(0)}?linkType=gs1:traceability", follow_redirects=False)
    assert trace.headers["location"].endswith("/proof")
    missing = client.get(f"{issued.path(0)}?linkType=gs1:nutritionalInfo", follow_redirects=False)
    assert missing.status_code == 307 and missing.headers["location"] == issued.codes[0]["uri"]


def test_other_digital_link_forms_resolve_to_the_same_item(
    client: TestClient, tenant: TenantKeys
) -> None:
    issued = issue_batch(client, tenant, count=1)
    serial = issued.codes[0]["serial"]
    for path in (
        f"/01/9506000134352/10/L2026-11%2FA/21/{serial}?17=281031",  # GTIN-13, with expiry
        f"/01/09506000134352/21/{serial.lower()}",  # no lot; Crockford reading rules
    ):
        response = client.get(path, headers=JSON)
        assert response.json()["verdict"] == "genuine", path
        assert response.json()["serial"] == serial
