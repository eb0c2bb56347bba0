"""A body over TRACE_MAX_BODY_BYTES is read only for a valid key, and only a few at once."""

from __future__ import annotations

import asyncio
import json

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import Message, Scope

from fixtures.app import TenantKeys
from fixtures.asgi import run_to_end
from trace_api import body_guard
from trace_api.body_guard import RequestBodyGuard
from trace_api.settings import Settings

EPCIS = {"Content-Type": "application/ld+json", "GS1-EPCIS-Version": "2.0.0"}


def _big_capture(settings: Settings) -> bytes:
    filler = "x" * (settings.max_body_bytes + 1000)
    return json.dumps({"type": "EPCISDocument", "filler": filler}).encode()


def test_a_large_capture_without_a_valid_key_is_401_and_with_one_is_read(
    client: TestClient, tenant: TenantKeys, settings: Settings
) -> None:
    body = _big_capture(settings)
    for headers in ({}, {"Authorization": "Bearer trk_0123456789abcdef_wrong"}):
        refused = client.post("/epcis/capture", content=body, headers={**EPCIS, **headers})
        assert refused.status_code == 401, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
    read = client.post("/epcis/capture", content=body, headers={**EPCIS, **tenant.auth("operator")})
    assert read.status_code not in (401, 413, 503), read.text  # judged on its content


def _scope(path: str, headers: list[tuple[bytes, bytes]]) -> Scope:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": headers, "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }  # fmt: skip


def test_an_anonymous_stream_is_refused_after_the_plain_limit_not_read_to_its_end(
    app: FastAPI, settings: Settings
) -> None:
    chunk = 64 * 1024
    received, sent = 0, []

    async def receive() -> Message:
        nonlocal received
        received += 1
        return {"type": "http.request", "body": b"{" * chunk, "more_body": True}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = _scope("/epcis/capture", [(b"transfer-encoding", b"chunked"), *EPCIS_HEADERS])
    run_to_end(app(scope, receive, send))
    assert sent[0]["status"] == 401
    assert received == settings.max_body_bytes // chunk + 1  # one chunk past 1 MiB, no more


EPCIS_HEADERS = [(b"content-type", b"application/ld+json"), (b"gs1-epcis-version", b"2.0.0")]


def test_no_more_large_bodies_are_held_at_once_than_the_setting(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    monkeypatch.setattr(body_guard, "_authenticate", lambda scope: None)  # keys: other tests
    statuses: list[int] = []

    async def scenario() -> None:
        release = asyncio.Event()
        inside = 0

        async def route(scope: Scope, receive: object, send: object) -> None:
            nonlocal inside
            inside += 1
            await release.wait()

        limited = settings.model_copy(update={"max_large_bodies": 2})
        guard = RequestBodyGuard(route, limited)
        size = settings.max_body_bytes + 1
        headers = [(b"content-length", str(size).encode()), *EPCIS_HEADERS]

        def request() -> asyncio.Task[None]:
            async def receive() -> Message:
                return {"type": "http.request", "body": b" " * size, "more_body": False}

            async def send(message: Message) -> None:
                if message["type"] == "http.response.start":
                    statuses.append(message["status"])

            return asyncio.create_task(guard(_scope("/epcis/capture", headers), receive, send))

        held = [request(), request()]
        while inside < 2:
            await asyncio.sleep(0)
        await request()  # a third while two are held: refused at once
        assert statuses == [503]
        release.set()
        await asyncio.gather(*held)
        await request()  # room again: it gets through (and waits on the route)
        assert guard.large_in_flight == 0 or inside == 3

    run_to_end(asyncio.wait_for(scenario(), 30))
    assert statuses == [503]
