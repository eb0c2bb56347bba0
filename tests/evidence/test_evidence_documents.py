"""A kept document: readable by whoever may read its proof, unreadable for good once its
data key is shredded (410) while the proof stands, and no chunk can be moved, dropped or
cut off unnoticed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import delete, select, update
from submission_support import (
    add_signer,
    post_signature,
    proof_body,
)

from compliance.evidence.statement import signature_holds
from crypto.envelope import Keyring
from crypto.errors import CryptoError
from fixtures.app import TenantKeys
from trace_api.components import Components
from trace_api.db import transaction
from trace_api.evidence.documents import CHUNK, chunk_associated_data
from trace_api.models import Evidence, EvidenceDocumentChunk

DOCUMENT = bytes(range(251)) * (2 * CHUNK // 251 + 100)  # three chunks, the last one short


def _kept(client: TestClient, tenant: TenantKeys, body: dict) -> dict:
    response = client.post(
        "/v1/evidence",
        data={"metadata": json.dumps(body), "keep": "true"},
        files={"document": ("合同.pdf", DOCUMENT, "application/pdf")},
        headers=tenant.auth("operator"),
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def _download(client: TestClient, tenant: TenantKeys, proof: dict, role: str = "admin") -> Any:
    return client.get(f"/v1/evidence/{proof['id']}/document", headers=tenant.auth(role))


def test_a_shredded_data_key_leaves_the_document_gone_and_the_proof_standing(
    client: TestClient, tenant: TenantKeys
) -> None:
    signer = add_signer(client, tenant)
    proof = _kept(client, tenant, proof_body([signer], digests={}))
    assert post_signature(client, tenant, proof, signer).status_code == 201
    assert _download(client, tenant, proof).content == DOCUMENT
    keys = client.get("/v1/data-keys", headers=tenant.auth("admin")).json()
    active = next(k for k in keys if k["status"] == "active")
    assert client.post("/v1/data-keys", headers=tenant.auth("admin")).status_code == 201
    shred = client.post(
        f"/v1/data-keys/{active['key_id']}/shred",
        json={"confirm_key_id": active["key_id"]},
        headers=tenant.auth("admin"),
    )
    assert shred.status_code == 200, shred.text
    gone = _download(client, tenant, proof)
    assert gone.status_code == 410, gone.text
    assert gone.headers["content-type"] == "application/problem+json"
    assert gone.json()["type"] == "/problems/document-shredded"
    assert "shredded" in gone.json()["detail"] and active["key_id"] in gone.json()["detail"]
    shown = client.get(f"/v1/evidence/{proof['id']}", headers=tenant.auth("compliance")).json()
    assert shown["status"] == "complete" and shown["digests"] == proof["digests"]
    listed = client.get("/v1/evidence", headers=tenant.auth("compliance")).json()["evidence"]
    assert [p["id"] for p in listed] == [proof["id"]]
    [signature] = shown["signatures"]
    key = signer.private_key.public_key.hex()
    assert signature_holds(key, signature["signature"], shown["statement_text"].encode())


def test_the_document_is_downloaded_by_those_who_read_the_proof(
    client: TestClient, tenant: TenantKeys, other_tenant: TenantKeys
) -> None:
    dealer = client.post(
        "/v1/evidence/parties",
        json={"organisation_id": tenant.dealer_org_id},
        headers=tenant.auth("admin"),
    ).json()["id"]
    ours = _kept(client, tenant, {**proof_body(digests={}), "parties": [{"party": dealer}]})
    not_ours = _kept(client, tenant, proof_body(digests={}, title="brand only"))
    for role in ("admin", "operator", "compliance"):
        assert _download(client, tenant, not_ours, role).content == DOCUMENT
    assert _download(client, tenant, ours, "dealer").content == DOCUMENT
    assert _download(client, tenant, not_ours, "dealer").status_code == 404
    assert _download(client, other_tenant, ours, "admin").status_code == 404


def _chunks(app: FastAPI, evidence_id: str) -> list[bytes]:
    with transaction(Components.of(app).sessions) as session:
        query = select(EvidenceDocumentChunk.sealed).where(
            EvidenceDocumentChunk.evidence_id == evidence_id
        )
        return [bytes(s) for s in session.scalars(query.order_by(EvidenceDocumentChunk.seq))]


def _set_chunk(app: FastAPI, evidence_id: str, seq: int, sealed: bytes) -> None:
    with transaction(Components.of(app).sessions) as session:
        session.execute(
            update(EvidenceDocumentChunk)
            .where(EvidenceDocumentChunk.evidence_id == evidence_id)
            .where(EvidenceDocumentChunk.seq == seq)
            .values(sealed=sealed)
        )


def test_swapped_dropped_or_cut_chunks_do_not_open(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    proof = _kept(client, tenant, proof_body(digests={}))
    first, second, third = _chunks(app, proof["id"])
    _set_chunk(app, proof["id"], 0, second)
    _set_chunk(app, proof["id"], 1, first)
    swapped = _download(client, tenant, proof)
    assert swapped.status_code == 500 and swapped.json()["type"] == "/problems/evidence-integrity"
    _set_chunk(app, proof["id"], 0, first)
    _set_chunk(app, proof["id"], 1, second)
    other = _kept(client, tenant, proof_body(digests={}, title="another"))
    _set_chunk(app, proof["id"], 0, _chunks(app, other["id"])[0])  # from another proof
    assert _download(client, tenant, proof).status_code == 500
    _set_chunk(app, proof["id"], 0, first)
    with transaction(Components.of(app).sessions) as session:  # cut to its first chunk
        session.execute(
            delete(EvidenceDocumentChunk).where(
                EvidenceDocumentChunk.evidence_id == proof["id"], EvidenceDocumentChunk.seq > 0
            )
        )
        session.execute(_chunk_count(proof["id"], 1))
    assert _download(client, tenant, proof).status_code == 500
    with transaction(Components.of(app).sessions) as session:  # the count left as it was
        session.execute(_chunk_count(proof["id"], 3))
    with pytest.raises(Exception):  # noqa: B017 (the stream breaks off: never a whole answer)
        _download(client, tenant, proof)
    assert third  # the short last chunk was sealed too


def _chunk_count(evidence_id: str, chunks: int) -> Any:
    return update(Evidence).where(Evidence.id == evidence_id).values(document_chunks=chunks)


@given(
    count=st.integers(1, 6),
    order=st.permutations(range(6)),
    kept=st.integers(1, 6),
)
def test_chunks_open_only_in_their_own_place_of_their_own_proof(
    count: int, order: list[int], kept: int
) -> None:
    keyring = Keyring.new()
    sealed = [
        keyring.seal(bytes([n]), chunk_associated_data("proof-a", n, n == count - 1))
        for n in range(count)
    ]
    arranged = [sealed[i] for i in order if i < count][:kept]

    def opens() -> bool:
        try:
            for seq, blob in enumerate(arranged):
                keyring.open(blob, chunk_associated_data("proof-a", seq, seq == len(arranged) - 1))
        except CryptoError:
            return False
        return True

    assert opens() == (arranged == sealed)
