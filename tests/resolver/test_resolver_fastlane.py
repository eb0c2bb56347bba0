"""The fast lane answers JSON scans itself and passes every other request to the app."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from fixtures.app import TenantKeys
from fixtures.asgi import run_to_end
from fixtures.codes import JSON, issue_batch
from trace_api.resolver.fastlane import ResolverFastLane


def _call(app: FastAPI, path: str, accept: str) -> tuple[list[str], dict[str, Any]]:
    """Run one GET through a fast lane whose downstream app only records that it was asked."""
    passed: list[str] = []
    sent: dict[str, Any] = {"body": b""}

    async def downstream(scope: Any, receive: Any, send: Any) -> None:
        passed.append(scope["path"])

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            sent["status"] = message["status"]
            sent["headers"] = dict(message["headers"])
        else:
            sent["body"] += message.get("body", b"")

    gtin_path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "method": "GET",
        "path": gtin_path,
        "raw_path": gtin_path.encode(),
        "query_string": query.encode(),
        "headers": [(b"accept", accept.encode())],
        "client": ("203.0.113.9", 40000),
        "app": app,
    }
    run_to_end(ResolverFastLane(downstream)(scope, receive, send))
    return passed, sent


def test_a_json_scan_is_answered_by_the_lane_exactly_as_the_route_answers(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    issued = issue_batch(client, tenant, count=2)
    passed, sent = _call(app, issued.path(0), "application/json")
    assert passed == [] and sent["status"] == 200
    assert sent["headers"][b"content-type"] == b"application/json"
    through_app = client.get(issued.path(0), headers=JSON)  # the TestClient also takes the lane
    lane = __import__("json").loads(sent["body"])
    assert lane["verdict"] == through_app.json()["verdict"] == "genuine"
    assert lane["scans"]["count"] == 1 and through_app.json()["scans"]["count"] == 2
    assert sent["headers"][b"link"].decode() == through_app.headers["link"]


def test_everything_else_passes_through(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    issued = issue_batch(client, tenant, count=1)
    for path, accept in [
        (issued.path(0), "text/html"),  # the page
        (issued.path(0), "application/linkset+json, application/json"),  # a linkset
        (issued.path(0) + "?linkType=gs1:pip", "application/json"),  # a redirect
        ("/01/09506000134353/21/ABC", "application/json"),  # a wrong check digit: the route's 400
        ("/v1/codes/ABC/proof", "application/json"),  # not an item path
    ]:
        passed, sent = _call(app, path, accept)
        assert passed == [path.partition("?")[0]], (path, accept)
        assert "status" not in sent


def test_the_lane_answers_its_errors_as_problems(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    issued = issue_batch(client, tenant, count=1)
    passed, sent = _call(app, issued.path(0) + "?lat=91&lon=0", "application/json")
    assert passed == [] and sent["status"] == 422
    assert sent["headers"][b"content-type"] == b"application/problem+json"
    assert b"lat must lie between" in sent["body"]
