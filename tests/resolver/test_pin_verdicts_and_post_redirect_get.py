"""PINs mean something: pending until entered, green when right, a copy when reused elsewhere.

The PIN form posts, then redirects (303) to the page with a signed outcome, so a refresh
neither posts again nor counts another scan, and the count stays on the page.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from fastapi import FastAPI
from fastapi.testclient import TestClient
from pin_support import client_at

from fixtures.app import TenantKeys
from fixtures.audit import log_entries
from fixtures.codes import JSON, issue_batch


def _count(client: TestClient, path: str) -> int:
    return int(client.get(path, headers=JSON).json()["scans"]["count"])


def test_a_pin_code_is_pending_until_its_pin_verifies_and_a_refresh_posts_nothing(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    issued = issue_batch(client, tenant, count=1, pins=True)
    path, pin = issued.path(0), issued.codes[0]["pin"]
    pending = client.get(path)
    assert 'data-verdict="pin_required"' in pending.text and "待验证" in pending.text
    assert 'class="verdict pin_required"' in pending.text and '<form method="post"' in pending.text
    assert client.get(path, headers=JSON).json()["verdict"] == "pin_required"

    posted = client.post(path, data={"pin": pin}, follow_redirects=False)
    assert posted.status_code == 303
    target = posted.headers["location"]
    assert urlsplit(target).path == path and "pin" in parse_qs(urlsplit(target).query)
    shown = client.get(target)
    assert shown.status_code == 200
    assert 'data-look="pin_verified"' in shown.text and "正品 · 已验证" in shown.text
    assert 'data-result="verified"' in shown.text and "验证成功" in shown.text
    assert 'id="scan-count" data-count="2"' in shown.text  # the count stays on the page
    assert "<form" not in shown.text  # nothing left to enter

    refreshed = client.get(target)  # a refresh: the same outcome, no new scan, no new post
    assert 'data-result="verified"' in refreshed.text
    assert _count(client, path) == 3  # 2 scans before, this JSON scan is the third
    assert [e["kind"] for e in log_entries(app, tenant.tenant_id)].count("pin.verified") == 1
    assert client.get(path, headers=JSON).json()["verdict"] == "genuine"


def test_a_ticket_is_for_its_own_client_and_code_and_cannot_be_forged(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    issued = issue_batch(client, tenant, count=2, pins=True)
    path = issued.path(0)
    posted = client.post(path, data={"pin": issued.codes[0]["pin"]}, follow_redirects=False)
    ticket = parse_qs(urlsplit(posted.headers["location"]).query)["pin"][0]
    stranger = client_at(app, "198.51.100.7").get(f"{path}?pin={ticket}")
    assert 'data-result="verified"' not in stranger.text  # shown only to whoever entered it
    other_code = client.get(f"{issued.path(1)}?pin={ticket}")
    assert 'data-result="verified"' not in other_code.text
    forged = client.get(f"{path}?pin={ticket[:-2]}xx")
    assert forged.status_code == 200 and 'data-result="verified"' not in forged.text


def test_the_right_pin_again_from_another_client_flags_a_copied_label(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    issued = issue_batch(client, tenant, count=1, pins=True)
    path, pin = issued.path(0), issued.codes[0]["pin"]
    client.post(path, data={"pin": pin})
    mine = client.post(path, json={"pin": pin}, headers=JSON).json()
    assert mine["pin"]["by_you"] is True and mine["verdict"] == "genuine"

    copier = client_at(app, "203.0.113.9")
    theirs = copier.post(path, data={"pin": pin})  # follows the redirect to the page
    assert 'data-result="already_used"' in theirs.text
    assert 'data-verdict="possibly_copied"' in theirs.text and "疑似复制" in theirs.text
    assert "正品的验证码只能使用一次" in theirs.text
    for someone in (client, copier, client_at(app, "192.0.2.1")):  # everyone, from now on
        answer = someone.get(path, headers=JSON).json()
        assert answer["verdict"] == "possibly_copied"
        assert [w["code"] for w in answer["warnings"]] == ["pin_reused"]
    warnings = [e for e in log_entries(app, tenant.tenant_id) if e["kind"] == "code.clone_warning"]
    assert [w["code"] for e in warnings for w in e["data"]["warnings"]] == ["pin_reused"]


def test_a_wrong_pin_redirects_too_and_says_how_many_tries_are_left(
    client: TestClient, tenant: TenantKeys
) -> None:
    issued = issue_batch(client, tenant, count=1, pins=True)
    right = issued.codes[0]["pin"]
    wrong = "00000000" if right != "00000000" else "11111111"
    posted = client.post(issued.path(0), data={"pin": wrong}, follow_redirects=False)
    assert posted.status_code == 303
    page = client.get(posted.headers["location"])
    assert 'data-result="wrong"' in page.text and "还可尝试" in page.text
    assert 'data-verdict="pin_required"' in page.text and '<form method="post"' in page.text
