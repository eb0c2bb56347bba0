"""ASGI middleware that bounds every request body before any route sees it.

A body is read up to its route's limit (``TRACE_MAX_BODY_BYTES``; EPCIS capture has
``TRACE_EPCIS_CAPTURE_FILE_SIZE_LIMIT``) and refused with 413 past it, without reading the
rest. A body declared JSON is measured for nesting (``TRACE_MAX_JSON_DEPTH``) and, outside
``/epcis`` (whose routes decode through the same rules themselves, so a large capture is
decoded once), decoded under the strict rules of ``trace_api.json_input``. Then the body
is handed on unchanged. Image uploads (a PUT of a brand logo or a product photo) may be up
to ``TRACE_MEDIA_MAX_BYTES``.

Only a caller with a valid API key may send more than ``TRACE_MAX_BODY_BYTES``: a larger
body is not read until its key checks out (401 otherwise, under the same wrong-key budget
as every route), at most ``TRACE_MAX_LARGE_BODIES`` such bodies are held at once (503
with ``Retry-After`` beyond), and a large body is measured off the event loop, so large
uploads without a key cannot fill memory or stall other requests.

A multipart upload to a route of ``STREAMED`` (a contract proof's document, up to
``TRACE_EVIDENCE_MAX_BYTES``) is not held at all: its declared length is checked, a key
is required before any of it is read unless it declares no more than
``TRACE_MAX_BODY_BYTES``, it counts as a large body while it lasts, and it is passed on as
it arrives through a receive that counts the bytes and raises `BodyTooLarge` (413, which
the app's problem handler answers) as soon as more than the limit has come.

A multipart upload to a route of ``PUBLIC_STREAMED`` (a document anyone may check against
the contract proofs) is streamed the same way without a key: its route only hashes it.
Instead of a key, at most ``TRACE_MAX_PUBLIC_UPLOADS`` such uploads over
``TRACE_MAX_BODY_BYTES`` are received at once (503 with ``Retry-After`` beyond), and the
route's own per-client rate limit applies before any of it is read.

A streamed upload that sends nothing for ``TRACE_UPLOAD_IDLE_SECONDS``, or a keyless one
that has not arrived whole within ``TRACE_PUBLIC_UPLOAD_SECONDS``, is dropped with a 408
(`UploadTimedOut`), so idle or trickling clients cannot keep the upload slots.
"""

from __future__ import annotations

import asyncio
import email.message
import re
import time
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trace_api import deps
from trace_api.components import Components
from trace_api.errors import PayloadTooLarge, RequestTimedOut, ServiceError, Unauthenticated
from trace_api.json_input import JsonRefused, loads_strict, nesting_depth
from trace_api.problems import absolute_uri, problem_response
from trace_api.settings import Settings

_EPCIS = "/epcis"
_EPCIS_CAPTURE = "/epcis/capture"
_LARGE_BUSY = "too many large request bodies are being received; try again shortly"
_PUBLIC_BUSY = (
    "too many documents are being uploaded for checking; try again shortly, or send the "
    "document's digest"
)
_IMAGE_UPLOAD = re.compile(r"/v1/(?:branding/logo|products/[^/]+/image)")  # PUT only

STREAMED: dict[tuple[str, str], Callable[[Settings], int]] = {
    # (method, path) of a route that spools its multipart body itself -> its body's limit:
    # a document of TRACE_EVIDENCE_MAX_BYTES and metadata of up to TRACE_MAX_BODY_BYTES.
    ("POST", "/v1/evidence"): lambda s: s.evidence_max_bytes + s.max_body_bytes,
}

PUBLIC_STREAMED: dict[tuple[str, str], Callable[[Settings], int]] = {
    ("POST", "/v1/evidence/verify"): lambda s: s.evidence_max_bytes + s.max_body_bytes,
}


class BodyTooLarge(PayloadTooLarge):
    """More of a streamed body arrived than its route takes."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"the body is more than {limit} bytes; this route takes at most {limit} bytes",
            limit=limit,
        )


class UploadTimedOut(RequestTimedOut):
    """A streamed upload stalled, or took longer than its route allows."""


class RequestBodyGuard:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.max_body = settings.max_body_bytes
        self.max_capture = settings.epcis_capture_file_size_limit
        self.max_image = settings.media_max_bytes
        self.capture_limit_headers = {  # as the EPCIS binding announces them
            "GS1-EPCIS-Capture-Limit": str(settings.epcis_capture_limit),
            "GS1-EPCIS-Capture-File-Size-Limit": str(settings.epcis_capture_file_size_limit),
        }
        self.max_depth = settings.max_json_depth
        self.max_large = settings.max_large_bodies
        self.large_in_flight = 0
        self.streamed = {route: limit(settings) for route, limit in STREAMED.items()}
        self.public_streamed = {route: limit(settings) for route, limit in PUBLIC_STREAMED.items()}
        self.max_public = settings.max_public_uploads
        self.public_in_flight = 0
        self.upload_idle = settings.upload_idle_seconds
        self.public_upload = settings.public_upload_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _may_have_body(scope):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        streamed = self.streamed.get((scope["method"], path))
        if streamed is not None and _is_multipart(scope):
            await self._stream(scope, receive, send, streamed)
            return
        public = self.public_streamed.get((scope["method"], path))
        if public is not None and _is_multipart(scope):
            await self._stream(scope, receive, send, public, keyless=True)
            return
        limit = self.max_capture if path == _EPCIS_CAPTURE else self.max_body
        if scope["method"] == "PUT" and _IMAGE_UPLOAD.fullmatch(path):
            limit = self.max_image
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._too_large(scope, limit, declared)(scope, receive, send)
            return
        large = False
        try:
            body = bytearray()
            more = True
            while more:
                if not large and (len(body) > self.max_body or (declared or 0) > self.max_body):
                    large = True
                    refusal = await self._large_refusal(scope)
                    if refusal is not None:
                        await refusal(scope, receive, send)
                        return
                    self.large_in_flight += 1
                message = await receive()
                if message["type"] != "http.request":  # the client went away
                    return
                body += message.get("body", b"")
                if len(body) > limit:
                    await self._too_large(scope, limit, None)(scope, receive, send)
                    return
                more = message.get("more_body", False)
            data = bytes(body)
            del body
            refusal_json = None
            if _is_json(scope):
                if large:  # a few MB of scanning: not on the event loop
                    refusal_json = await run_in_threadpool(self._json_refusal, scope, data)
                else:
                    refusal_json = self._json_refusal(scope, data)
            if refusal_json is not None:
                await _refused(scope, refusal_json)(scope, receive, send)
                return
            await self.app(scope, _replay(data, receive), send)
        finally:
            if large and self.large_in_flight > 0:
                self.large_in_flight -= 1

    async def _stream(
        self, scope: Scope, receive: Receive, send: Send, limit: int, *, keyless: bool = False
    ) -> None:
        """Pass a multipart body on as it arrives, counted, never held here. Over the plain
        limit, a keyed route needs the key first; a keyless one takes a public upload slot."""
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._too_large(scope, limit, declared)(scope, receive, send)
            return
        large = declared is None or declared > self.max_body
        if large:
            if keyless:
                refusal = (
                    _busy(scope, _PUBLIC_BUSY) if self.public_in_flight >= self.max_public else None
                )
            else:
                refusal = await self._large_refusal(scope)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
            self._held(keyless, +1)
        counted = _counted(
            receive,
            limit if large else self.max_body,
            idle=self.upload_idle,
            whole=self.public_upload if keyless else None,
        )
        try:
            await self.app(scope, counted, send)
        finally:
            if large:
                self._held(keyless, -1)

    def _held(self, keyless: bool, change: int) -> None:
        if keyless:
            self.public_in_flight = max(0, self.public_in_flight + change)
        else:
            self.large_in_flight = max(0, self.large_in_flight + change)

    async def _large_refusal(self, scope: Scope) -> ASGIApp | None:
        """None if this caller may send a body over the plain limit now, else the answer."""
        if self.large_in_flight >= self.max_large:
            return _busy(scope, _LARGE_BUSY)
        try:
            await run_in_threadpool(_authenticate, scope)
        except ServiceError as exc:
            response = problem_response(exc.status, exc.slug, exc.title, exc.detail, scope["path"])
            response.headers.update(getattr(exc, "headers", {}))
            return response
        return None

    def _json_refusal(self, scope: Scope, body: bytes) -> JsonRefused | None:
        if not body.strip():
            return None
        try:
            if scope["path"].startswith(_EPCIS):
                depth = nesting_depth(body)
                if depth > self.max_depth:
                    return JsonRefused(
                        f"the JSON is nested {depth} deep; at most {self.max_depth} levels"
                    )
            else:
                loads_strict(body, max_depth=self.max_depth)
        except JsonRefused as exc:
            return exc
        return None

    def _too_large(self, scope: Scope, limit: int, declared: int | None) -> ASGIApp:
        size = f"{declared} bytes" if declared is not None else f"more than {limit} bytes"
        detail = f"the body is {size}; this route takes at most {limit} bytes"
        if scope["path"] != _EPCIS_CAPTURE:
            return problem_response(
                413, "payload-too-large", "Payload too large", detail, scope["path"], limit=limit
            )
        response = problem_response(
            413,
            "epcis-capture-limit",
            "Capture limit exceeded",
            detail,
            absolute_uri(str(Request(scope).url)),
            "epcisException:CaptureLimitExceededException",
            limit=limit,
        )
        response.headers.update(self.capture_limit_headers)
        return response


def _authenticate(scope: Scope) -> None:
    """Check the request's bearer key (throttled as on every route); raises if it fails."""
    request = Request(scope)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(
            "a body this large needs an API key: send 'Authorization: Bearer <key>'"
        )
    parts = Components.of(request.app)
    session = parts.sessions()
    try:
        client = deps.client_of(request)
        deps.authenticate_throttled(parts.auth_failures, client, session, token.strip())
    finally:
        session.close()


def _may_have_body(scope: Scope) -> bool:
    headers = dict(scope["headers"])
    return b"content-length" in headers or b"transfer-encoding" in headers


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _is_json(scope: Scope) -> bool:
    raw = next((v for n, v in scope["headers"] if n == b"content-type"), None)
    if raw is None:
        return False
    message = email.message.Message()
    message["content-type"] = raw.decode("latin-1")
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def media_type(content_type: str) -> str:
    """The media type of a Content-Type value, without parameters, in lower case (media
    types are case-insensitive): how this guard and the routes it streams to tell a
    multipart body, so that both always agree."""
    return content_type.split(";", 1)[0].strip().lower()


def _is_multipart(scope: Scope) -> bool:
    raw = next((v for n, v in scope["headers"] if n == b"content-type"), b"")
    return media_type(raw.decode("latin-1")) == "multipart/form-data"


def _busy(scope: Scope, detail: str) -> ASGIApp:
    response = problem_response(503, "busy", "Busy", detail, scope["path"])
    response.headers["Retry-After"] = "2"
    return response


def _counted(receive: Receive, limit: int, *, idle: float, whole: float | None) -> Receive:
    """``receive``, raising BodyTooLarge once more than ``limit`` body bytes came through,
    and UploadTimedOut when a message takes over ``idle`` seconds or the body, when
    ``whole`` is given, more than ``whole`` seconds from the first call."""
    received = 0
    deadline: float | None = None
    done = False

    async def counted() -> Message:
        nonlocal received, deadline, done
        if done:  # after the body: what comes next is the disconnect, whenever it comes
            return await receive()
        wait = idle
        if whole is not None:
            now = time.monotonic()
            deadline = deadline or now + whole
            wait = min(wait, deadline - now)
        try:
            message = await asyncio.wait_for(receive(), max(wait, 0.001))
        except TimeoutError:
            raise UploadTimedOut(
                f"the upload sent nothing for {idle:g} s"
                if wait == idle
                else f"the upload did not arrive whole within {whole:g} s; send its digest"
            ) from None
        done = message["type"] != "http.request" or not message.get("more_body", False)
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge(limit)
        return message

    return counted


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _refused(scope: Scope, refusal: JsonRefused) -> ASGIApp:
    if scope["path"].startswith(_EPCIS):  # in the binding's own terms
        return problem_response(
            400,
            "epcis-validation",
            "Invalid request",
            refusal.reason,
            absolute_uri(str(Request(scope).url)),
            "epcisException:ValidationException",
        )
    if refusal.unstorable:  # as a field the schema refused: the same on every database
        return problem_response(
            422, "invalid-input", "Invalid input", refusal.reason, scope["path"]
        )
    return problem_response(400, "malformed-json", "Malformed JSON", refusal.reason, scope["path"])
