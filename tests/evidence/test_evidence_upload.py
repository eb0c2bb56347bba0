"""Proofs of an uploaded document: digests computed by the service and checked against the
client's, the document kept sealed on request and streamed back, and the size limit held
whether or not the body declares its length."""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from starlette.types import Message, Scope
from submission_support import proof_body, written

from crypto.sm3 import sm3_hex
from fixtures.app import TenantKeys
from fixtures.asgi import run_to_end
from trace_api.app import create_app
from trace_api.evidence.documents import CHUNK
from trace_api.settings import Settings

LIMIT = 3 * 1024 * 1024  # the test app's TRACE_EVIDENCE_MAX_BYTES


@pytest.fixture
def app(settings: Settings, engine: Engine) -> FastAPI:
    limited = settings.model_copy(update={"evidence_max_bytes": LIMIT})
    return create_app(limited, engine=engine)


def _upload(
    client: TestClient,
    tenant: TenantKeys,
    document: bytes,
    metadata: dict[str, Any] | None = None,
    keep: bool = False,
    role: str = "operator",
) -> Any:
    meta = metadata if metadata is not None else proof_body(digests={})
    return client.post(
        "/v1/evidence",
        data={"metadata": json.dumps(meta), "keep": "true" if keep else "false"},
        files={"document": ("合同.pdf", document, "application/pdf")},
        headers=tenant.auth(role),
    )


def _digests(document: bytes) -> dict[str, str]:
    return {"sm3": sm3_hex(document), "sha256": hashlib.sha256(document).hexdigest()}


def test_an_uploaded_documents_digests_are_computed_and_it_is_not_kept_by_default(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    document = b"%PDF-1.7 " + bytes(range(256)) * 300
    response = _upload(client, tenant, document)
    assert response.status_code == 201, response.text
    proof = response.json()
    assert proof["digests"] == _digests(document) and proof["size"] == len(document)
    assert proof["statement"]["digests"] == _digests(document)
    assert proof["status"] == "complete" and not proof["document_kept"]
    assert written(app)["evidence_document_chunks"] == 0
    download = client.get(f"/v1/evidence/{proof['id']}/document", headers=tenant.auth("admin"))
    assert download.status_code == 404, download.text


@pytest.mark.parametrize("size", [0, 1, CHUNK, 2 * CHUNK + 12345])
def test_a_kept_document_is_sealed_in_chunks_and_streams_back_byte_for_byte(
    app: FastAPI, client: TestClient, tenant: TenantKeys, size: int
) -> None:
    document = (hashlib.sha256(b"seed").digest() * (size // 32 + 1))[:size]
    response = _upload(client, tenant, document, keep=True)
    assert response.status_code == 201, response.text
    proof = response.json()
    assert proof["document_kept"]
    assert written(app)["evidence_document_chunks"] == max(1, math.ceil(size / CHUNK))
    download = client.get(f"/v1/evidence/{proof['id']}/document", headers=tenant.auth("compliance"))
    assert download.status_code == 200, download.text
    assert download.content == document
    assert download.headers["content-length"] == str(size)
    assert download.headers["repr-digest"].startswith("sha-256=:")


def test_a_client_digest_that_does_not_match_the_upload_is_refused_and_nothing_is_kept(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    document = b"the signed contract" * 1000
    right = _digests(document)
    before = written(app)
    for wrong in (
        {"sm3": "00" * 32},
        {"sha256": "ff" * 32},
        {**right, "sm3": "0" + right["sm3"][1:]},
    ):
        response = _upload(client, tenant, document, proof_body(digests=wrong), keep=True)
        assert response.status_code == 422, response.text
        assert "uploaded document" in response.json()["detail"]
    wrong_size = _upload(client, tenant, document, proof_body(digests={}, size=1), keep=True)
    assert wrong_size.status_code == 422, wrong_size.text
    assert written(app) == before
    matching = _upload(client, tenant, document, proof_body(digests=right), keep=True)
    assert matching.status_code == 201, matching.text


def test_a_document_over_the_limit_is_413(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    before = written(app)
    declared = _upload(client, tenant, b"x" * (LIMIT + 1024 * 1024 + 1))  # over the body limit
    assert declared.status_code == 413, declared.text
    assert declared.headers["content-type"] == "application/problem+json"
    inside_the_body_limit = _upload(client, tenant, b"x" * (LIMIT + 1))  # the document alone
    assert inside_the_body_limit.status_code == 413, inside_the_body_limit.text
    assert inside_the_body_limit.json()["limit"] == LIMIT
    assert written(app) == before
    at_the_limit = _upload(client, tenant, b"x" * LIMIT)
    assert at_the_limit.status_code == 201, at_the_limit.text


def _scope(headers: list[tuple[bytes, bytes]]) -> Scope:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/v1/evidence", "raw_path": b"/v1/evidence",
        "query_string": b"", "root_path": "", "headers": headers,
        "client": ("127.0.0.1", 5000), "server": ("testserver", 80),
    }  # fmt: skip


def _chunked_upload(app: FastAPI, headers: list[tuple[bytes, bytes]]) -> tuple[list, int]:
    """POST an endless multipart body without Content-Length; (messages sent, chunks read)."""
    boundary = b"xyzzy"
    head = (
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n'
        + json.dumps(proof_body(digests={})).encode() + b"\r\n--" + boundary
        + b'\r\nContent-Disposition: form-data; name="document"; filename="a.bin"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n"
    )  # fmt: skip
    chunk = b"\x00" * 65536
    read, sent = 0, []

    async def receive() -> Message:
        nonlocal read
        read += 1
        return {"type": "http.request", "body": head if read == 1 else chunk, "more_body": True}

    async def send(message: Message) -> None:
        sent.append(message)

    content_type = (b"content-type", b"multipart/form-data; boundary=" + boundary)
    scope = _scope([(b"transfer-encoding", b"chunked"), content_type, *headers])
    run_to_end(app(scope, receive, send))
    return sent, read


def test_an_undeclared_body_is_cut_off_with_a_413_once_it_passes_the_limit(
    app: FastAPI, client: TestClient, tenant: TenantKeys, settings: Settings
) -> None:
    before = written(app)
    key = [(b"authorization", tenant.auth("operator")["Authorization"].encode())]
    sent, read = _chunked_upload(app, key)
    assert sent[0]["status"] == 413
    body = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))
    assert body["type"] == "/problems/payload-too-large"
    limit = LIMIT + settings.max_body_bytes
    assert body["limit"] == limit
    assert (read - 1) * 65536 <= limit + 65536  # one chunk past the limit, no more
    assert written(app) == before


def test_an_undeclared_body_without_a_key_is_not_read_at_all(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    sent, read = _chunked_upload(app, [])
    assert sent[0]["status"] == 401
    assert read == 0


@pytest.mark.parametrize(
    "parts",
    [
        {"data": {"metadata": "{}"}, "files": {"document": ("a", b"x")}},  # no title, kind
        {"data": {"metadata": "[" * 100 + "]" * 100}, "files": {"document": ("a", b"x")}},
        {"data": {"metadata": '{"title": 1'}, "files": {"document": ("a", b"x")}},
        {"data": {"metadata": json.dumps(proof_body())}},  # no document
        {"data": {}, "files": {"document": ("a", b"x")}},  # no metadata
        {
            "data": {"metadata": json.dumps(proof_body()), "keep": "yes"},
            "files": {"document": ("a", b"x")},
        },
        {
            "data": {"metadata": json.dumps(proof_body()), "extra": "1"},
            "files": {"document": ("a", b"x")},
        },
        {
            "data": {"metadata": json.dumps(proof_body())},
            "files": {"document": ("a", b"x"), "second": ("b", b"y")},
        },
    ],
)
def test_a_malformed_upload_is_a_problem_and_writes_nothing(
    app: FastAPI, client: TestClient, tenant: TenantKeys, parts: dict[str, Any]
) -> None:
    before = written(app)
    response = client.post("/v1/evidence", headers=tenant.auth("operator"), **parts)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert written(app) == before


def test_a_body_neither_json_nor_multipart_is_415(client: TestClient, tenant: TenantKeys) -> None:
    response = client.post(
        "/v1/evidence",
        content=b"title=x",
        headers={**tenant.auth("operator"), "Content-Type": "text/plain"},
    )
    assert response.status_code == 415, response.text
