"""The scan page, for a form post while PINs back off, says why and how long, in zh and en."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from pin_support import client_at, fake_clock, post_pin, wrong_pin

from fixtures.app import TenantKeys
from fixtures.codes import issue_batch
from trace_api.components import Components

EN = {"Accept-Language": "en"}


def test_the_page_says_the_code_backs_off_possibly_because_of_someone_else(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    fake_clock(app)
    issued = issue_batch(client, tenant, count=1, pins=True)
    stranger = client_at(app, "198.51.100.20")
    for _ in range(Components.of(app).settings.pin_max_failures):
        post_pin(stranger, issued, wrong_pin(issued))
    zh = client.post(issued.path(0), data={"pin": issued.codes[0]["pin"]})
    assert zh.status_code == 429 and zh.headers["retry-after"] == "60"
    assert zh.headers["content-type"].startswith("text/html")
    assert 'data-result="backing_off" data-backoff="code"' in zh.text
    assert "可能是他人所为" in zh.text and "1 分钟后" in zh.text and "真正的购买者" in zh.text
    assert "未被核对" in zh.text
    assert 'name="pin"' not in zh.text  # no form whose PIN would not be checked
    en = client.post(issued.path(0), data={"pin": issued.codes[0]["pin"]}, headers=EN)
    assert en.status_code == 429
    assert "possibly by someone else" in en.text and "Try again in 1 minute" in en.text
    assert "the genuine buyer can still verify then" in en.text
    page = client.get(issued.path(0))  # the page itself says so, before anyone posts
    assert 'id="pin-backoff"' in page.text and "可能是他人所为" in page.text
    assert 'name="pin"' not in page.text


def test_the_page_says_when_the_client_backs_off_and_what_the_wrong_pin_started(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    fake_clock(app)
    limit = Components.of(app).settings.pin_client_max_failures
    issued = issue_batch(client, tenant, count=limit + 1, pins=True)
    for n in range(limit - 1):
        post_pin(client, issued, wrong_pin(issued, n), n)
    last = client.post(issued.path(limit - 1), data={"pin": wrong_pin(issued, limit - 1)})
    assert last.status_code == 200 and 'data-result="wrong"' in last.text
    assert "错误次数过多" in last.text and "1 分钟后" in last.text
    refused = client.post(issued.path(limit), data={"pin": "12345678"}, headers=EN)
    assert refused.status_code == 429 and 'data-backoff="client"' in refused.text
    assert "Too many wrong PINs came from your network" in refused.text
    assert post_pin(client, issued, issued.codes[limit]["pin"], limit).status_code == 429
