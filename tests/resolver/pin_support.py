"""Helpers for the PIN back-off tests: a clock the test moves, other clients, PIN posts."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from fixtures.codes import JSON, IssuedBatch
from trace_api.components import Components
from trace_api.models import utcnow


class Clock:
    """The resolver's PIN clock, moved by the test instead of sleeping."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def fake_clock(app: FastAPI) -> Clock:
    clock = Clock()
    Components.of(app).resolver.clock = clock
    return clock


def client_at(app: FastAPI, ip: str) -> TestClient:
    """Another client of the running app, from ``ip``."""
    return TestClient(app, client=(ip, 50000))


def wrong_pin(issued: IssuedBatch, n: int = 0) -> str:
    right = str(issued.codes[n]["pin"])
    return "00000000" if right != "00000000" else "11111111"


def post_pin(client: TestClient, issued: IssuedBatch, pin: str, n: int = 0) -> Response:
    return client.post(issued.path(n), json={"pin": pin}, headers=JSON)
