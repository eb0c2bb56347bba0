"""Helpers for the contract-proof API tests: parties with SM2 keys, proofs submitted and
signed over HTTP, and counts of what was written."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from stdnum.cn import uscc as uscc_number

from compliance.evidence.statement import sign_statement
from crypto import sm2
from fixtures.app import TenantKeys
from trace_api.components import Components
from trace_api.db import transaction
from trace_api.models import (
    AuditEntry,
    Evidence,
    EvidenceDocumentChunk,
    EvidenceLink,
    EvidenceParty,
    EvidencePartyKey,
    EvidenceSignature,
    EvidenceSigner,
)

_serials = itertools.count(1)


def new_uscc() -> str:
    """A valid unified social credit code, different on every call."""
    body = f"91330100{next(_serials):09d}"  # 17 characters, then the check character
    return body + uscc_number.calc_check_digit(body)


@dataclass
class Signer:
    """A registered party and the private key of its registered public key."""

    party: str
    key_id: str
    private_key: sm2.PrivateKey

    def sign(self, statement_text: str) -> str:
        return sign_statement(self.private_key, statement_text.encode()).hex()


def add_signer(
    client: TestClient,
    tenant: TenantKeys,
    name: str | None = None,
    *,
    organisation_id: str | None = None,
) -> Signer:
    """A new party (outside, by name and USCC, or an organisation's) with one fresh key."""
    body: dict[str, Any] = (
        {"organisation_id": organisation_id}
        if organisation_id
        else {"name": name or f"party {next(_serials)}", "uscc": new_uscc()}
    )
    party = client.post("/v1/evidence/parties", json=body, headers=tenant.auth("operator"))
    assert party.status_code == 201, party.text
    private = sm2.PrivateKey.generate()
    key = client.post(
        f"/v1/evidence/parties/{party.json()['id']}/keys",
        json={"public_key": private.public_key.hex()},
        headers=tenant.auth("admin"),
    )
    assert key.status_code == 201, key.text
    return Signer(party.json()["id"], key.json()["id"], private)


def proof_body(parties: list[Signer] | None = None, **extra: Any) -> dict[str, Any]:
    """A digest-only proof's JSON, every party required unless ``extra`` says otherwise."""
    return {
        "title": "经销协议 2026 / distribution agreement",
        "kind": "agreement",
        "digests": {"sm3": "ab" * 32},
        "parties": [{"party": s.party} for s in parties or []],
        **extra,
    }


def submit(
    client: TestClient, tenant: TenantKeys, body: dict[str, Any], role: str = "operator"
) -> dict[str, Any]:
    response = client.post("/v1/evidence", json=body, headers=tenant.auth(role))
    assert response.status_code == 201, response.text
    return dict(response.json())


def post_signature(
    client: TestClient,
    tenant: TenantKeys,
    proof: dict[str, Any],
    signer: Signer,
    role: str = "operator",
    signature: str | None = None,
) -> Any:
    body = {"party": signer.party, "signature": signature or signer.sign(proof["statement_text"])}
    return client.post(
        f"/v1/evidence/{proof['id']}/signatures", json=body, headers=tenant.auth(role)
    )


WRITTEN = (
    Evidence,
    EvidenceSigner,
    EvidenceSignature,
    EvidenceLink,
    EvidenceDocumentChunk,
    EvidenceParty,
    EvidencePartyKey,
    AuditEntry,
)


def written(app: FastAPI) -> dict[str, int]:
    """Rows in every table a proof writes to, and the audit log's length."""
    with transaction(Components.of(app).sessions) as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in WRITTEN
        }


def audit_data(app: FastAPI, tenant_id: str, kind: str) -> list[dict[str, Any]]:
    """The data of the tenant's log entries of ``kind``, in log order."""
    with transaction(Components.of(app).sessions) as session:
        bodies = session.scalars(
            select(AuditEntry.body)
            .where(AuditEntry.tenant_id == tenant_id, AuditEntry.kind == kind)
            .order_by(AuditEntry.seq)
        )
        return [json.loads(body)["data"] for body in bodies]
