"""ASGI middleware that bounds every request body before any route sees it.

A body is read up to its route's limit (``TRACE_MAX_BODY_BYTES``; EPCIS capture has
``TRACE_EPCIS_CAPTURE_FILE_SIZE_LIMIT``) and refused with 413 past it, without reading the
rest. A body declared JSON is measured for nesting (``TRACE_MAX_JSON_DEPTH``) and, outside
``/epcis`` (whose routes decode through the same rules themselves, so a large capture is
decoded once), decoded under the strict rules of ``trace_api.json_input``. Then the body
is handed on unchanged. Image uploads (a PUT of a brand logo or a product photo) may be up
to ``TRACE_MEDIA_MAX_BYTES``.
"""

from __future__ import annotations

import email.message
import re

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trace_api.json_input import JsonRefused, loads_strict, nesting_depth
from trace_api.problems import absolute_uri, problem_response
from trace_api.settings import Settings

_EPCIS = "/epcis"
_EPCIS_CAPTURE = "/epcis/capture"
_IMAGE_UPLOAD = re.compile(r"/v1/(?:branding/logo|products/[^/]+/image)")  # PUT only


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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _may_have_body(scope):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        limit = self.max_capture if path == _EPCIS_CAPTURE else self.max_body
        if scope["method"] == "PUT" and _IMAGE_UPLOAD.fullmatch(path):
            limit = self.max_image
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._too_large(scope, limit, declared)(scope, receive, send)
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            body += message.get("body", b"")
            if len(body) > limit:
                await self._too_large(scope, limit, None)(scope, receive, send)
                return
            more = message.get("more_body", False)
        refusal = self._json_refusal(scope, bytes(body)) if _is_json(scope) else None
        if refusal is not None:
            await _refused(scope, refusal)(scope, receive, send)
            return
        await self.app(scope, _replay(bytes(body), receive), send)

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
