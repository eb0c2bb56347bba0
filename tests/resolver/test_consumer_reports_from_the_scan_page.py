"""Every bad answer offers "report this item"; a report reaches its brand and nobody else."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from pin_support import client_at

from fixtures.app import TenantKeys
from fixtures.audit import log_entries
from fixtures.codes import GTIN, JSON, issue_batch


def _reports(client: TestClient, tenant: TenantKeys, **query: str) -> list[dict]:
    response = client.get("/v1/consumer-reports", params=query, headers=tenant.auth("compliance"))
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def test_a_shopper_reports_a_possibly_copied_item_by_form_and_the_brand_reads_it(
    client: TestClient, app: FastAPI, tenant: TenantKeys, other_tenant: TenantKeys
) -> None:
    issued = issue_batch(client, tenant, count=1)
    path = issued.path(0)
    client.get(f"{path}?region=330106")
    page = client.get(f"{path}?region=650102").text
    assert 'id="next-steps"' in page and f'href="/report{path}?lang=zh"' in page
    form = client.get(f"/report{path}")
    assert form.status_code == 200 and 'name="reason"' in form.text and "联系方式" in form.text
    sent = client.post(
        f"/report{path}?lang=zh",
        data={
            "reason": "counterfeit",
            "message": "包装的字体和以前买的不一样",
            "where_bought": "某某超市 人民路店",
            "contact": "138 0000 0000",
        },
        follow_redirects=False,
    )
    assert sent.status_code == 303
    thanks = client.get(sent.headers["location"])
    assert 'id="report-sent"' in thanks.text and "举报编号" in thanks.text
    [report] = _reports(client, tenant)
    assert report["reference"] in thanks.text
    assert report["verdict"] == "possibly_copied" and report["reason"] == "counterfeit"
    assert report["serial"] == issued.codes[0]["serial"] and report["status"] == "open"
    assert report["contact"] == "138 0000 0000"
    assert _reports(client, other_tenant) == []
    assert client.get("/v1/consumer-reports", headers=tenant.auth("dealer")).status_code == 403
    kinds = [e["kind"] for e in log_entries(app, tenant.tenant_id)]
    assert kinds.count("consumer_report.received") == 1

    closed = client.post(
        f"/v1/consumer-reports/{report['id']}/status",
        json={"status": "closed"},
        headers=tenant.auth("operator"),
    )
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert _reports(client, tenant, status="open") == []
    foreign = client.post(
        f"/v1/consumer-reports/{report['id']}/status",
        json={"status": "open"},
        headers=other_tenant.auth("admin"),
    )
    assert foreign.status_code == 404


def test_a_report_of_an_unknown_code_reaches_the_one_brand_with_that_gtin(
    client: TestClient, tenant: TenantKeys
) -> None:
    issued = issue_batch(client, tenant, count=1)
    real = issued.codes[0]["serial"]
    fake = real[:-1] + ("0" if real[-1] != "0" else "1")
    page = client.get(f"/01/{GTIN}/21/{fake}").text
    assert 'id="code-read"' in page and fake in page and "重新扫描" in page
    answer = client.post(f"/report/01/{GTIN}/21/{fake}", json={"reason": "counterfeit"})
    assert answer.status_code == 201 and len(answer.json()["reference"]) == 8
    [report] = _reports(client, tenant)
    assert report["verdict"] == "unknown" and report["serial"] == fake


def test_bad_reports_are_refused_and_store_nothing(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    issued = issue_batch(client, tenant, count=1)
    url = f"/report{issued.path(0)}"
    for body in (
        {},
        {"reason": "bored"},
        {"reason": "other", "message": "x" * 1001},
        {"reason": "other", "contact": "a\u202eb"},
        {"reason": "other", "extra": 1},
        {"reason": ["other"]},
    ):
        refused = client.post(url, json=body)
        assert refused.status_code == 422, body
        assert refused.headers["content-type"].startswith("application/problem+json")
    page = client.post(url, data={"message": "没有选原因"})
    assert page.status_code == 422 and 'id="report-error"' in page.text
    assert "没有选原因" in page.text  # what they typed is kept
    assert _reports(client, tenant) == []


def test_one_client_sends_at_most_a_few_reports_an_hour(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    issued = issue_batch(client, tenant, count=1)
    url = f"/report{issued.path(0)}"
    answers = [client.post(url, json={"reason": "other"}).status_code for _ in range(6)]
    assert answers == [201] * 5 + [429]
    assert client_at(app, "198.51.100.20").post(url, json={"reason": "other"}).status_code == 201
    assert len(_reports(client, tenant)) == 6
    assert client.get(issued.path(0), headers=JSON).status_code == 200  # scans still answer
