"""The scan page in headless Chromium: readable verdict at a glance, no JavaScript needed.

The module asks for the ``fixtures.browser`` plugin itself, so it runs whether or not
``tests/conftest.py`` lists it yet.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from fixtures.app import TenantKeys
from fixtures.codes import issue_batch

pytest_plugins = ["fixtures.browser"]
PHONE = {"width": 390, "height": 844}


def _context(browser: Any, locale: str) -> Any:
    return browser.new_context(
        java_script_enabled=False, locale=locale, viewport=PHONE, device_scale_factor=2
    )


def test_genuine_page_in_chinese_with_the_verdict_on_the_first_screen(
    browser: Any, live_server: str, client: TestClient, tenant: TenantKeys, artifacts: Path,
    db_url: str,
) -> None:  # fmt: skip
    issued = issue_batch(client, tenant, count=2, pins=True)
    context = _context(browser, "zh-CN")
    page = context.new_page()
    response = page.goto(live_server + issued.path(0))
    assert response is not None and response.status == 200
    verdict = page.locator("#verdict")
    assert verdict.inner_text() == "正品"
    assert verdict.get_attribute("data-verdict") == "genuine"
    box = verdict.bounding_box()
    assert box is not None and box["y"] + box["height"] < PHONE["height"] / 3
    assert box["height"] >= 30  # large type
    assert "龙井绿茶 250 g" in page.locator("#product").inner_text()
    assert "1 次" in page.locator("#scan-count").inner_text()
    page.screenshot(path=str(artifacts / f"scan-genuine-zh-{_db(db_url)}.png"), full_page=True)

    page.fill("input[name=pin]", issued.codes[0]["pin"])  # a plain form: no JavaScript
    page.click("button[type=submit]")
    assert page.locator("#pin-result").get_attribute("data-result") == "verified"
    assert "验证成功" in page.locator("#pin-result").inner_text()
    page.screenshot(path=str(artifacts / f"scan-pin-zh-{_db(db_url)}.png"), full_page=True)
    context.close()


def test_english_by_accept_language_and_suspicious_in_red(
    browser: Any, live_server: str, client: TestClient, tenant: TenantKeys, engine: Engine,
    artifacts: Path, db_url: str,
) -> None:  # fmt: skip
    issued = issue_batch(client, tenant, count=2)
    context = _context(browser, "en-GB")
    page = context.new_page()
    page.goto(live_server + issued.path(1))
    assert page.locator("#verdict").inner_text() == "Genuine"
    page.screenshot(path=str(artifacts / f"scan-genuine-en-{_db(db_url)}.png"), full_page=True)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE codes SET sealed = :b WHERE serial = :s"),
            {"b": b"\x01\x03abc" + bytes(40), "s": issued.codes[1]["serial"]},
        )
    page.goto(live_server + issued.path(1))
    assert page.locator("#verdict").inner_text() == "Suspicious"
    colour = page.locator("header.verdict").evaluate("e => getComputedStyle(e).backgroundColor")
    assert colour == "rgb(198, 40, 40)"
    page.screenshot(path=str(artifacts / f"scan-suspicious-en-{_db(db_url)}.png"), full_page=True)
    context.close()


def _db(db_url: str) -> str:
    return "postgresql" if db_url.startswith("postgresql") else "sqlite"


pytestmark = pytest.mark.browser
