"""A dealer key reads the proofs its organisation is a party to, signs for that party and
manages that party's keys; nothing else of the proofs or parties is there for it."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from submission_support import (
    Signer,
    add_signer,
    post_signature,
    proof_body,
    submit,
    written,
)

from crypto import sm2
from fixtures.app import TenantKeys


@pytest.fixture
def dealer_party(client: TestClient, tenant: TenantKeys) -> str:
    response = client.post(
        "/v1/evidence/parties",
        json={"organisation_id": tenant.dealer_org_id},
        headers=tenant.auth("admin"),
    )
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "acme dealer"  # the organisation's own name
    return str(response.json()["id"])


def _dealer_signer(client: TestClient, tenant: TenantKeys, party: str) -> Signer:
    private = sm2.PrivateKey.generate()
    key = client.post(
        f"/v1/evidence/parties/{party}/keys",
        json={"public_key": private.public_key.hex()},
        headers=tenant.auth("dealer"),
    )
    assert key.status_code == 201, key.text
    return Signer(party, key.json()["id"], private)


def test_a_dealer_reads_and_signs_only_what_its_organisation_is_party_to(
    app: FastAPI, client: TestClient, tenant: TenantKeys, dealer_party: str
) -> None:
    brand = add_signer(client, tenant, "西湖茶业")
    dealer = _dealer_signer(client, tenant, dealer_party)
    ours = submit(client, tenant, proof_body([brand, dealer]))
    theirs = submit(client, tenant, proof_body([brand], title="not the dealer's"))
    auth = tenant.auth("dealer")
    listed = client.get("/v1/evidence", headers=auth).json()["evidence"]
    assert [p["id"] for p in listed] == [ours["id"]]
    assert client.get(f"/v1/evidence/{theirs['id']}", headers=auth).status_code == 404
    assert client.get(f"/v1/evidence/{ours['id']}", headers=auth).status_code == 200
    assert post_signature(client, tenant, theirs, brand, role="dealer").status_code == 404
    before = written(app)
    for_the_brand = post_signature(client, tenant, ours, brand, role="dealer")
    assert for_the_brand.status_code == 403, for_the_brand.text
    assert written(app) == before
    signed = post_signature(client, tenant, ours, dealer, role="dealer")
    assert signed.status_code == 201, signed.text
    assert [p["signed"] for p in signed.json()["parties"]] == [False, True]
    assert post_signature(client, tenant, ours, brand).json()["status"] == "complete"


def test_a_dealer_sees_and_keys_only_its_own_party_and_writes_no_proofs(
    app: FastAPI, client: TestClient, tenant: TenantKeys, dealer_party: str
) -> None:
    brand = add_signer(client, tenant, "西湖茶业")
    auth = tenant.auth("dealer")
    parties = client.get("/v1/evidence/parties", headers=auth).json()
    assert [p["id"] for p in parties] == [dealer_party]
    dealer = _dealer_signer(client, tenant, dealer_party)
    before = written(app)
    key = {"public_key": sm2.PrivateKey.generate().public_key.hex()}
    assert (
        client.post(f"/v1/evidence/parties/{brand.party}/keys", json=key, headers=auth).status_code
        == 404
    )
    revoke_brand = f"/v1/evidence/parties/{brand.party}/keys/{brand.key_id}/revoke"
    assert client.post(revoke_brand, headers=auth).status_code == 404
    assert client.post("/v1/evidence", json=proof_body(), headers=auth).status_code == 403
    outside = {"name": "某公司", "uscc": "91330100000000001X"}
    assert client.post("/v1/evidence/parties", json=outside, headers=auth).status_code == 403
    assert written(app) == before
    revoke_own = f"/v1/evidence/parties/{dealer_party}/keys/{dealer.key_id}/revoke"
    revoked = client.post(revoke_own, headers=auth)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
