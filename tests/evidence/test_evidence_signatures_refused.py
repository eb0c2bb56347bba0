"""A signature that does not hold under a live key of its party is a 422, and nothing of
it is written: no signature row, no audit entry, no change to the proof."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from submission_support import (
    Signer,
    add_signer,
    post_signature,
    proof_body,
    submit,
    written,
)

from compliance.evidence.statement import sign_statement
from crypto import sm2
from fixtures.app import TenantKeys


@pytest.fixture
def signers(client: TestClient, tenant: TenantKeys) -> list[Signer]:
    return [add_signer(client, tenant, "西湖茶业"), add_signer(client, tenant, "南京商行")]


@pytest.fixture
def proof(client: TestClient, tenant: TenantKeys, signers: list[Signer]) -> dict[str, Any]:
    return submit(client, tenant, proof_body(signers))


def _refused(app: FastAPI, response: Any, before: dict[str, int], words: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert words in response.json()["detail"]
    assert written(app) == before


def _forged(proof: dict[str, Any], signers: list[Signer], other: dict[str, Any]) -> str:
    """Party 0's "signature" by a key nobody registered."""
    return sign_statement(sm2.PrivateKey.generate(), proof["statement_text"].encode()).hex()


def _by_the_other_party(proof: dict[str, Any], signers: list[Signer], other: dict) -> str:
    """Made with a registered key, but party 1's."""
    return signers[1].sign(proof["statement_text"])


def _over_another_statement(proof: dict[str, Any], signers: list[Signer], other: dict) -> str:
    """Party 0's own key, over another proof's statement."""
    return signers[0].sign(other["statement_text"])


@pytest.mark.parametrize("make", [_forged, _by_the_other_party, _over_another_statement])
def test_a_signature_not_made_by_the_partys_key_over_this_statement_is_refused(
    app: FastAPI,
    client: TestClient,
    tenant: TenantKeys,
    proof: dict[str, Any],
    signers: list[Signer],
    make: Callable[..., str],
) -> None:
    other = submit(client, tenant, proof_body(signers, title="another"))
    before = written(app)
    response = post_signature(
        client, tenant, proof, signers[0], signature=make(proof, signers, other)
    )
    _refused(app, response, before, "does not verify")
    assert response.json()["type"] == "/problems/signature-refused"


def test_a_signature_under_a_revoked_key_is_refused_naming_the_revocation(
    app: FastAPI,
    client: TestClient,
    tenant: TenantKeys,
    proof: dict[str, Any],
    signers: list[Signer],
) -> None:
    signer = signers[0]
    url = f"/v1/evidence/parties/{signer.party}/keys/{signer.key_id}/revoke"
    revoked = client.post(url, headers=tenant.auth("admin"))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    before = written(app)
    response = post_signature(client, tenant, proof, signer)
    _refused(app, response, before, "revoked at")
    assert revoked.json()["fingerprint"] in response.json()["detail"]


def test_a_party_that_is_not_the_proofs_cannot_sign_it(
    app: FastAPI, client: TestClient, tenant: TenantKeys, proof: dict[str, Any]
) -> None:
    outsider = add_signer(client, tenant)
    before = written(app)
    response = post_signature(client, tenant, proof, outsider)
    _refused(app, response, before, "is not a party")


def test_a_forged_signature_sent_with_the_submission_stores_no_proof(
    app: FastAPI, client: TestClient, tenant: TenantKeys, signers: list[Signer]
) -> None:
    body = proof_body(signers, id=str(uuid.uuid4()), created_at=datetime.now(UTC).isoformat())
    forged = sign_statement(sm2.PrivateKey.generate(), b"whatever the statement").hex()
    body["signatures"] = [{"party": signers[0].party, "signature": forged}]
    before = written(app)
    response = client.post("/v1/evidence", json=body, headers=tenant.auth("operator"))
    _refused(app, response, before, "does not verify")


@pytest.fixture
def good_signature(proof: dict[str, Any], signers: list[Signer]) -> bytes:
    return bytes.fromhex(signers[0].sign(proof["statement_text"]))


@hypothesis_settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(at=st.integers(0, 71), flip=st.integers(1, 255))
def test_any_one_byte_change_to_a_good_signature_is_refused(
    app: FastAPI,
    client: TestClient,
    tenant: TenantKeys,
    proof: dict[str, Any],
    signers: list[Signer],
    good_signature: bytes,
    at: int,
    flip: int,
) -> None:
    changed = bytearray(good_signature)
    changed[at % len(changed)] ^= flip
    before = written(app)
    response = post_signature(client, tenant, proof, signers[0], signature=bytes(changed).hex())
    assert response.status_code == 422, response.text
    assert written(app) == before
