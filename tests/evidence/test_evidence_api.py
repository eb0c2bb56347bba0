"""Contract proofs over HTTP: digest-only proofs, parties signing now or later, the leaf
fixed at completion, and every change in the audit log."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from submission_support import (
    add_signer,
    audit_data,
    post_signature,
    proof_body,
    submit,
    written,
)

from compliance.evidence.statement import (
    Party,
    Signature,
    Statement,
    leaf_hash,
    signature_holds,
    statement_from_json,
)
from fixtures.app import TenantKeys


def _leaf(proof: dict[str, Any], keys: dict[str, str]) -> str:
    """The leaf a verifier computes from what the API shows of the proof and the keys."""
    signatures = [
        Signature(s["party"], keys[s["party"]], s["signature"], _instant(s["signed_at"]))
        for s in proof["signatures"]
    ]
    return leaf_hash(statement_from_json(proof["statement"]), signatures).hex()


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_a_digest_only_proof_without_parties_is_complete_at_once(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    proof = submit(client, tenant, proof_body(digests={"sha256": "CD" * 32}, size=1234))
    assert proof["status"] == "complete" and proof["completed_at"] is not None
    assert proof["digests"] == {"sha256": "cd" * 32} and proof["size"] == 1234
    assert proof["statement"]["tenant"] == tenant.tenant_id
    assert proof["statement"]["id"] == proof["id"]
    statement = statement_from_json(proof["statement"])
    assert statement.canonical_bytes().decode() == proof["statement_text"]
    assert proof["leaf_hash"] == leaf_hash(statement, []).hex()
    assert not proof["document_kept"]
    [submitted] = audit_data(app, tenant.tenant_id, "evidence.submitted")
    assert submitted["evidence_id"] == proof["id"]
    assert submitted["digests"] == {"sha256": "cd" * 32}
    [completed] = audit_data(app, tenant.tenant_id, "evidence.completed")
    assert completed["leaf_hash"] == proof["leaf_hash"]


def test_two_parties_sign_one_after_the_other_and_the_proof_completes_with_both(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    brand, dealer = add_signer(client, tenant, "西湖茶业"), add_signer(client, tenant, "南京商行")
    proof = submit(client, tenant, proof_body([brand, dealer]))
    assert proof["status"] == "pending_signatures" and proof["leaf_hash"] is None
    first = post_signature(client, tenant, proof, brand)
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "pending_signatures"
    assert [p["signed"] for p in first.json()["parties"]] == [True, False]
    second = post_signature(client, tenant, proof, dealer)
    assert second.status_code == 201, second.text
    done = second.json()
    assert done["status"] == "complete"
    assert {s["party"] for s in done["signatures"]} == {brand.party, dealer.party}
    keys = {s.party: s.private_key.public_key.hex() for s in (brand, dealer)}
    assert done["leaf_hash"] == _leaf(done, keys)
    for s in done["signatures"]:
        assert signature_holds(keys[s["party"]], s["signature"], done["statement_text"].encode())
    kinds = [d["party"] for d in audit_data(app, tenant.tenant_id, "evidence.signed")]
    assert kinds == [brand.party, dealer.party]
    assert len(audit_data(app, tenant.tenant_id, "evidence.completed")) == 1


def test_three_parties_two_sign_with_the_submission_and_a_late_one_completes_it(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    signers = [add_signer(client, tenant) for _ in range(3)]
    evidence_id = str(uuid.uuid4())
    created_at = datetime.now(UTC).isoformat()
    draft = proof_body(signers, id=evidence_id, created_at=created_at)
    # The parties sign the statement the service will build from the same fields.
    parties = client.get("/v1/evidence/parties", headers=tenant.auth("operator")).json()
    by_id = {p["id"]: p for p in parties}
    statement = Statement(
        tenant=tenant.tenant_id,
        evidence_id=evidence_id,
        title=draft["title"],
        kind=draft["kind"],
        digests=draft["digests"],
        size=None,
        parties=tuple(
            Party(s.party, by_id[s.party]["name"], by_id[s.party]["uscc"], None) for s in signers
        ),
        links=(),
        created_at=_instant(created_at),
    )
    text = statement.canonical_bytes().decode()
    draft["signatures"] = [{"party": s.party, "signature": s.sign(text)} for s in signers[:2]]
    proof = submit(client, tenant, draft)
    assert proof["statement_text"] == text
    assert proof["status"] == "pending_signatures"
    assert [p["signed"] for p in proof["parties"]] == [True, True, False]
    late = post_signature(client, tenant, proof, signers[2])
    assert late.status_code == 201, late.text
    assert late.json()["status"] == "complete"
    before = written(app)
    again = post_signature(client, tenant, proof, signers[2])
    assert again.status_code == 409 and again.headers["content-type"] == "application/problem+json"
    assert written(app) == before


def test_an_optional_party_need_not_sign_and_cannot_once_the_proof_is_complete(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    required, optional = add_signer(client, tenant), add_signer(client, tenant)
    body = proof_body(parties=[])
    body["parties"] = [{"party": required.party}, {"party": optional.party, "required": False}]
    proof = submit(client, tenant, body)
    assert [p["required"] for p in proof["statement"]["parties"]] == [True, False]
    assert post_signature(client, tenant, proof, required).json()["status"] == "complete"
    before = written(app)
    late = post_signature(client, tenant, proof, optional)
    assert late.status_code == 409, late.text
    assert "complete" in late.json()["detail"]
    assert written(app) == before


def test_another_tenants_proof_and_parties_are_not_there(
    client: TestClient, tenant: TenantKeys, other_tenant: TenantKeys
) -> None:
    signer = add_signer(client, tenant)
    proof = submit(client, tenant, proof_body([signer]))
    stranger = other_tenant.auth("admin")
    for url in (f"/v1/evidence/{proof['id']}", f"/v1/evidence/{proof['id']}/document"):
        assert client.get(url, headers=stranger).status_code == 404
    signed = post_signature(client, other_tenant, proof, signer, role="admin")
    assert signed.status_code == 404
    assert client.get("/v1/evidence", headers=stranger).json()["evidence"] == []
    assert client.get("/v1/evidence/parties", headers=stranger).json() == []
    key = client.post(
        f"/v1/evidence/parties/{signer.party}/keys/{signer.key_id}/revoke", headers=stranger
    )
    assert key.status_code == 404
    borrowed = client.post("/v1/evidence", json=proof_body([signer]), headers=stranger)
    assert borrowed.status_code == 422 and signer.party in borrowed.json()["detail"]
