"""The public check takes a document larger than the plain body limit without a key:
streamed and hashed, never held; up to TRACE_EVIDENCE_MAX_BYTES, and only a few at once."""

from __future__ import annotations

import asyncio
import hashlib

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from starlette.types import Message, Receive, Scope

from fixtures.app import TenantKeys, make_tenant
from fixtures.asgi import run_to_end
from fixtures.evidence import add_party, add_proof
from trace_api import body_guard
from trace_api.app import create_app
from trace_api.body_guard import RequestBodyGuard
from trace_api.components import Components
from trace_api.db import transaction
from trace_api.settings import Settings

LIMIT = 3 * 1024 * 1024  # the test app's TRACE_EVIDENCE_MAX_BYTES
MULTIPART = (b"content-type", b"multipart/form-data; boundary=x")


@pytest.fixture
def app(settings: Settings, engine: Engine) -> FastAPI:
    limited = settings.model_copy(update={"evidence_max_bytes": LIMIT})
    return create_app(limited, engine=engine)


def _check(client: TestClient, document: bytes) -> object:
    return client.post("/v1/evidence/verify", files={"document": ("合同.pdf", document)})


def test_a_document_over_the_plain_limit_is_checked_without_a_key(
    app: FastAPI, client: TestClient, tenant: TenantKeys, settings: Settings
) -> None:
    document = bytes(range(256)) * (2 * settings.max_body_bytes // 256)  # 2 MiB
    sha256 = hashlib.sha256(document).hexdigest()
    with transaction(Components.of(app).sessions) as session:
        parties = [add_party(session, tenant.tenant_id, "p0")]
        evidence_id = add_proof(session, tenant.tenant_id, parties, sha256=sha256).id
    answer = client.post("/v1/evidence/verify", files={"document": ("合同.pdf", document)})
    assert answer.status_code == 200, answer.text
    assert answer.json()["digests"]["sha256"] == sha256
    assert [m["evidence_id"] for m in answer.json()["matches"]] == [evidence_id]


def test_a_multipart_type_in_any_case_is_streamed_and_checked(
    app: FastAPI, client: TestClient, tenant: TenantKeys, settings: Settings
) -> None:
    document = b"\x89PDF" * (settings.max_body_bytes // 2)  # 2 MiB: past the plain limit
    sha256 = hashlib.sha256(document).hexdigest()
    with transaction(Components.of(app).sessions) as session:
        parties = [add_party(session, tenant.tenant_id, "p0")]
        evidence_id = add_proof(session, tenant.tenant_id, parties, sha256=sha256).id
    body = (
        b'--b\r\nContent-Disposition: form-data; name="document"; filename="a.pdf"\r\n\r\n'
        + document
        + b"\r\n--b--\r\n"
    )
    answer = client.post(
        "/v1/evidence/verify",
        content=body,
        headers={"Content-Type": "Multipart/Form-Data; boundary=b"},
    )
    assert answer.status_code == 200, answer.text  # it was read as JSON, whole, before
    assert [m["evidence_id"] for m in answer.json()["matches"]] == [evidence_id]


def test_a_document_over_the_evidence_limit_is_413_declared_or_not(
    app: FastAPI, client: TestClient
) -> None:
    declared = client.post("/v1/evidence/verify", files={"document": ("a.pdf", b"x" * (LIMIT + 1))})
    assert declared.status_code == 413, declared.text
    assert declared.headers["content-type"] == "application/problem+json"
    sent, received = [], 0
    head = b'--x\r\nContent-Disposition: form-data; name="document"; filename="a"\r\n\r\n'

    async def receive() -> Message:  # chunked, no length: cut off once past the limit
        nonlocal received
        body = head if received == 0 else b"x" * 65536
        received += len(body)
        return {"type": "http.request", "body": body, "more_body": True}

    async def send(message: Message) -> None:
        sent.append(message)

    run_to_end(app(_scope([(b"transfer-encoding", b"chunked"), MULTIPART]), receive, send))
    assert sent[0]["status"] == 413
    assert received < LIMIT + 2 * 1024 * 1024  # not read on to the end


def _scope(headers: list[tuple[bytes, bytes]], path: str = "/v1/evidence/verify") -> Scope:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": headers, "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }  # fmt: skip


def test_no_more_public_uploads_are_received_at_once_than_the_setting(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    monkeypatch.setattr(body_guard, "_authenticate", lambda scope: None)  # keys: other tests
    answers: list[tuple[str, int, dict[bytes, bytes]]] = []

    async def scenario() -> None:
        release = asyncio.Event()
        inside = 0

        async def route(scope: Scope, receive: object, send: object) -> None:
            nonlocal inside
            inside += 1
            await release.wait()

        limited = settings.model_copy(update={"max_public_uploads": 2})
        guard = RequestBodyGuard(route, limited)
        size = str(settings.max_body_bytes + 1).encode()

        def request(path: str, length: bytes = size) -> asyncio.Task[None]:
            async def receive() -> Message:
                return {"type": "http.request", "body": b"", "more_body": False}

            async def send(message: Message) -> None:
                if message["type"] == "http.response.start":
                    answers.append((path, message["status"], dict(message["headers"])))

            headers = [(b"content-length", length), MULTIPART]
            return asyncio.create_task(guard(_scope(headers, path), receive, send))

        held = [request("/v1/evidence/verify"), request("/v1/evidence/verify")]
        while inside < 2:
            await asyncio.sleep(0)
        await request("/v1/evidence/verify")  # a third while two are held: refused at once
        assert [(path, status) for path, status, _ in answers] == [("/v1/evidence/verify", 503)]
        assert answers[0][2][b"retry-after"] == b"2"
        small = request("/v1/evidence/verify", b"1000")  # within the plain limit: no slot
        keyed = request("/v1/evidence")  # a tenant's upload has slots of its own
        while inside < 4:
            await asyncio.sleep(0)
        release.set()
        await asyncio.gather(*held, small, keyed)
        assert guard.public_in_flight == 0 and guard.large_in_flight == 0

    run_to_end(asyncio.wait_for(scenario(), 30))
    assert [status for _, status, _ in answers] == [503]


def _stalling(head: bytes, then: Message | None = None) -> Receive:
    """A receive that sends ``head`` and then nothing (or ``then``) for ever."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": head, "more_body": True}
        if then is not None:
            return then
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    return receive


_HEAD = b'--x\r\nContent-Disposition: form-data; name="document"; filename="a"\r\n\r\nabc'


@pytest.mark.parametrize(
    ("update", "path", "says"),
    [
        ({"upload_idle_seconds": 0.3}, "/v1/evidence/verify", "sent nothing for 0.3 s"),
        ({"upload_idle_seconds": 0.3}, "/v1/evidence", "sent nothing for 0.3 s"),
        ({"public_upload_seconds": 0.3}, "/v1/evidence/verify", "arrive whole within 0.3 s"),
    ],
)
def test_a_stalled_upload_is_dropped_with_a_408_and_frees_its_slot(
    settings: Settings,
    engine: Engine,
    update: dict[str, float],
    path: str,
    says: str,
) -> None:
    app = create_app(settings.model_copy(update=update), engine=engine)
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    key = make_tenant(app, "acme").auth("operator")["Authorization"].encode()

    async def call() -> RequestBodyGuard:
        size = str(settings.max_body_bytes * 2).encode()  # takes an upload slot
        headers = [(b"content-length", size), MULTIPART, (b"authorization", key)]
        await app(_scope(headers, path), _stalling(_HEAD), send)
        guard = app.middleware_stack
        while not isinstance(guard, RequestBodyGuard):
            guard = guard.app  # type: ignore[union-attr]
        return guard

    guard = run_to_end(asyncio.wait_for(call(), 30))
    assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [408]
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert says.encode() in body
    assert guard.public_in_flight == 0 and guard.large_in_flight == 0


def test_a_client_gone_mid_upload_is_no_error_in_the_log(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    receive = _stalling(_HEAD, then={"type": "http.disconnect"})
    with caplog.at_level("INFO"):
        run_to_end(app(_scope([(b"content-length", b"5000"), MULTIPART]), receive, send))
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    assert any("went away" in r.getMessage() for r in caplog.records)
