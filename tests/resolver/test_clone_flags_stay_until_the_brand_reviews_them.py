"""A code flagged as copied says so on every later scan, until its brand reviews it."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from pin_support import client_at

from fixtures.app import TenantKeys
from fixtures.audit import log_entries
from fixtures.codes import JSON, issue_batch
from trace_api.components import Components


def _scan(client: TestClient, path: str, query: str = "") -> dict:
    return dict(client.get(f"{path}{query}", headers=JSON).json())


def test_far_apart_stays_on_every_later_scan_and_the_page_until_cleared(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    issued = issue_batch(client, tenant, count=2)
    path = issued.path(0)
    assert _scan(client, path, "?region=330106")["verdict"] == "genuine"  # Hangzhou
    urumqi = _scan(client, path, "?region=650102")
    assert urumqi["verdict"] == "possibly_copied"
    assert [w["code"] for w in urumqi["warnings"]] == ["far_apart"]
    for _ in range(2):  # scans 3 and 4, from nowhere in particular
        later = _scan(client, path)
        assert later["verdict"] == "possibly_copied"
        assert [w["code"] for w in later["warnings"]] == ["far_apart"]
    page = client.get(path).text
    assert 'data-verdict="possibly_copied"' in page and 'class="verdict possibly_copied"' in page
    assert "先后在浙江省杭州市西湖区和新疆维吾尔自治区乌鲁木齐市天山区被查询" in page
    assert "不到 1 分钟内" in page and "约 0 分钟" not in page
    assert _scan(client, issued.path(1))["verdict"] == "genuine"  # its neighbour is not flagged

    auth = tenant.auth("operator")
    serial = issued.codes[0]["serial"]
    state = client.get(f"/v1/codes/{serial}/flags", headers=auth).json()
    assert list(state["flags"]) == ["far_apart"] and state["review"] is None
    cleared = client.post(
        f"/v1/codes/{serial}/flags/review",
        json={"outcome": "cleared", "note": "同一位顾客在机场转机"},
        headers=auth,
    )
    assert cleared.status_code == 200, cleared.text
    assert list(cleared.json()["flags"]) == ["far_apart"]
    assert _scan(client, path)["verdict"] == "genuine"
    again = client.post(
        f"/v1/codes/{serial}/flags/review", json={"outcome": "cleared"}, headers=auth
    )
    assert again.status_code == 409  # nothing left to review
    reviews = [e for e in log_entries(app, tenant.tenant_id) if e["kind"] == "code.flags_reviewed"]
    assert [(e["data"]["outcome"], e["data"]["flags"]) for e in reviews] == [
        ("cleared", ["far_apart"])
    ]


def test_many_scans_count_afresh_after_a_review_and_a_confirmed_copy_is_suspicious(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    Components.of(app).resolver.settings.scan_warn_count = 3
    issued = issue_batch(client, tenant, count=1)
    path = issued.path(0)
    assert [_scan(client, path)["verdict"] for _ in range(6)] == ["genuine"] * 6  # one client
    shoppers = [client_at(app, f"203.0.113.{n}") for n in range(1, 9)]
    verdicts = [_scan(shopper, path)["verdict"] for shopper in shoppers[:3]]  # 4 clients in all
    assert verdicts == ["genuine", "genuine", "possibly_copied"]
    serial = issued.codes[0]["serial"]
    auth = tenant.auth("admin")
    client.post(f"/v1/codes/{serial}/flags/review", json={"outcome": "cleared"}, headers=auth)
    verdicts = [_scan(shopper, path)["verdict"] for shopper in shoppers[4:]]  # after the review
    assert verdicts == ["genuine", "genuine", "genuine", "possibly_copied"]
    confirmed = client.post(
        f"/v1/codes/{serial}/flags/review", json={"outcome": "confirmed"}, headers=auth
    )
    assert confirmed.status_code == 200
    after = _scan(client, path)
    assert after["verdict"] == "suspicious" and "copy_confirmed" in after["reasons"]
    page = client.get(path).text
    assert "品牌方已确认此码的标签被复制" in page and 'id="product"' not in page


def test_only_the_brands_staff_review_and_bad_reviews_change_nothing(
    client: TestClient, tenant: TenantKeys, other_tenant: TenantKeys
) -> None:
    issued = issue_batch(client, tenant, count=1)
    path, serial = issued.path(0), issued.codes[0]["serial"]
    _scan(client, path, "?region=330106")
    _scan(client, path, "?region=650102")
    url = f"/v1/codes/{serial}/flags/review"
    assert (
        client.post(url, json={"outcome": "cleared"}, headers=tenant.auth("dealer")).status_code
        == 403
    )
    assert client.post(url, json={"outcome": "cleared"}).status_code == 401
    foreign = client.post(url, json={"outcome": "cleared"}, headers=other_tenant.auth("admin"))
    assert foreign.status_code == 404
    for body in ({"outcome": "forgotten"}, {"outcome": "cleared", "note": "a\u202eb"}, {}):
        refused = client.post(url, json=body, headers=tenant.auth("admin"))
        assert refused.status_code == 422, body
        assert refused.headers["content-type"].startswith("application/problem+json")
    assert _scan(client, path)["verdict"] == "possibly_copied"
