"""Every verdict of the scan page in headless Chromium: phone and desktop, Chinese and English.

Each scenario loads the page at 390 px (a phone) and 1280 px, in Chinese and in English,
with JavaScript off, and checks the verdict's words, its colour (the computed background
of the banner), that the banner is on the first screen, that nothing scrolls sideways, and
saves a screenshot to tests/artifacts/ (docs/images/ holds two of them for the README).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pin_support import client_at
from sqlalchemy import Engine, text

from fixtures.app import TenantKeys
from fixtures.codes import GTIN, JSON, IssuedBatch, issue_batch
from fixtures.images import png
from trace_api.components import Components

pytest_plugins = ["fixtures.browser"]

VIEWS = (("zh", "zh-CN", 390, 844), ("en", "en-GB", 390, 844), ("zh", "zh-CN", 1280, 800),
         ("en", "en-GB", 1280, 800))  # fmt: skip
TITLES = {
    "genuine": ("正品", "Genuine"),
    "pin_required": ("待验证", "Not yet verified"),
    "pin_verified": ("正品 · 已验证", "Genuine · verified"),
    "possibly_copied": ("疑似复制", "Possibly copied"),
    "suspicious": ("可疑", "Suspicious"),
    "recalled": ("已召回", "Recalled"),
    "unknown": ("未找到", "Not found"),
}
COLOURS = {  # the banner's background, as the stylesheet sets it
    "genuine": "rgb(26, 127, 55)",
    "pin_verified": "rgb(26, 127, 55)",
    "pin_required": "rgb(21, 101, 192)",
    "possibly_copied": "rgb(180, 83, 9)",
    "suspicious": "rgb(198, 40, 40)",
    "recalled": "rgb(142, 36, 0)",
    "unknown": "rgb(69, 90, 100)",
}


def _look(
    browser: Any,
    url: str,
    look: str,
    name: str,
    artifacts: Path,
    *,
    before: Callable[[Any], None] | None = None,
    reasons: tuple[str, str] | None = None,
) -> None:
    """Load ``url`` in every view and check the verdict ``look``; ``before`` acts first."""
    for lang, locale, width, height in VIEWS:
        context = browser.new_context(
            java_script_enabled=False,
            locale=locale,
            viewport={"width": width, "height": height},
            device_scale_factor=2 if width < 500 else 1,
        )
        page = context.new_page()
        response = page.goto(url)
        assert response is not None and response.status == 200, (name, lang)
        if before is not None:
            before(page)
        verdict = page.locator("#verdict")
        title = TITLES[look][0 if lang == "zh" else 1]
        assert verdict.inner_text() == title, (name, lang, width)
        assert verdict.get_attribute("data-look") == look
        banner = page.locator("header.verdict")
        assert look in (banner.get_attribute("class") or "").split()
        colour = banner.evaluate("e => getComputedStyle(e).backgroundColor")
        assert colour == COLOURS[look], (name, lang)
        box = page.locator("#verdict-reason").bounding_box()
        assert box is not None and box["y"] + box["height"] < height  # on the first screen
        if reasons is not None:
            expected = reasons[0 if lang == "zh" else 1]
            assert expected in page.locator("#verdict-reason").inner_text(), (name, lang)
        wide = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert wide <= 0, (name, lang, width)
        page.screenshot(path=str(artifacts / f"scan-{name}-{lang}-{width}.png"), full_page=True)
        context.close()


def _anchored(client: TestClient, app: FastAPI, tenant: TenantKeys, **kw: Any) -> IssuedBatch:
    issued = issue_batch(client, tenant, **kw)
    Components.of(app).worker.run_until_idle()
    return issued


def test_genuine(
    browser: Any, live_server: str, client: TestClient, app: FastAPI, tenant: TenantKeys,
    artifacts: Path,
) -> None:  # fmt: skip
    issued = _anchored(client, app, tenant, count=1)
    admin = tenant.auth("admin")
    client.put("/v1/branding", json={"display_name": "西湖茶业", "hotline": "400-820-8820",
                                     "website": "https://tea.example"}, headers=admin)  # fmt: skip
    client.put(f"/v1/products/{GTIN}/image", content=png((480, 320), (40, 110, 60)), headers=admin)
    client.put("/v1/branding/logo", content=png((120, 40), (180, 30, 30)), headers=admin)
    _look(browser, live_server + issued.path(0), "genuine", "genuine", artifacts,
          reasons=("与区块链上的存证一致", "matches its record on a blockchain"))  # fmt: skip


def test_pin_pending_then_verified_then_reused(
    browser: Any, live_server: str, client: TestClient, app: FastAPI, tenant: TenantKeys,
    artifacts: Path,
) -> None:  # fmt: skip
    issued = _anchored(client, app, tenant, count=5, pins=True)
    _look(browser, live_server + issued.path(0), "pin_required", "pin-pending", artifacts,
          reasons=("刮开标签上的涂层", "Scratch the label"))  # fmt: skip

    # One fresh code per view: its page, then its PIN.
    seen: list[dict[str, Any]] = []

    def enter_fresh_pin(page: Any) -> None:
        code = issued.codes[1 + len(seen)]
        seen.append(code)
        page.goto(live_server + issued.path(issued.codes.index(code)))
        count = page.locator("#scan-count").get_attribute("data-count")
        page.fill("input[name=pin]", code["pin"])
        page.click("button[type=submit]")
        result = page.locator("#pin-result").get_attribute("data-result")
        assert result == "verified"
        assert page.locator("#scan-count").get_attribute("data-count") == count  # not counted

    _look(browser, live_server + issued.path(1), "pin_verified", "pin-verified", artifacts,
          before=enter_fresh_pin)  # fmt: skip

    # Someone else (the test client's address) enters the right PIN of code 1 again.
    reused = client.post(issued.path(1), json={"pin": issued.codes[1]["pin"]}, headers=JSON)
    assert reused.json()["pin"]["by_you"] is False
    _look(browser, live_server + issued.path(1), "possibly_copied", "pin-reused", artifacts,
          reasons=("正品的验证码只能使用一次", "A genuine PIN works once"))  # fmt: skip


def test_possibly_copied_by_count_and_by_distance_also_on_the_scan_after(
    browser: Any, live_server: str, client: TestClient, app: FastAPI, tenant: TenantKeys,
    artifacts: Path,
) -> None:  # fmt: skip
    Components.of(app).resolver.settings.scan_warn_count = 3
    many = _anchored(client, app, tenant, count=2)
    for n in range(3):  # three shoppers elsewhere; the browser is the fourth
        client_at(app, f"198.51.100.{n + 1}").get(many.path(0), headers=JSON)
    _look(browser, live_server + many.path(0), "possibly_copied", "copied-count", artifacts,
          reasons=("远多于一件正品通常的查询次数", "far more than a genuine item"))  # fmt: skip

    client.get(f"{many.path(1)}?region=330106", headers=JSON)  # Hangzhou, then Urumqi
    far = f"{live_server}{many.path(1)}?region=650102"
    _look(browser, far, "possibly_copied", "copied-far", artifacts,
          reasons=("乌鲁木齐", "Xinjiang"))  # fmt: skip
    _look(browser, live_server + many.path(1), "possibly_copied", "copied-far-after", artifacts,
          reasons=("乌鲁木齐", "Xinjiang"))  # fmt: skip


def test_suspicious_recalled_and_unknown(
    browser: Any, live_server: str, client: TestClient, app: FastAPI, tenant: TenantKeys,
    engine: Engine, artifacts: Path,
) -> None:  # fmt: skip
    issued = _anchored(client, app, tenant, count=3)
    other_lot = issued.path(0).replace("/10/L2026-11%2FA/", "/10/L2025-01/")
    _look(browser, live_server + other_lot, "suspicious", "suspicious-lot", artifacts,
          reasons=("批号与品牌方为此码登记的批号不符", "lot on the label does not"))  # fmt: skip
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE codes SET sealed = :b WHERE serial = :s"),
            {"b": b"\x01\x03abc" + bytes(40), "s": issued.codes[1]["serial"]},
        )
    _look(browser, live_server + issued.path(1), "suspicious", "suspicious", artifacts)

    client.post(f"/v1/batches/{issued.batch_id}/recall", json={"reason": "封口不严"},
                headers=tenant.auth("admin"))  # fmt: skip
    _look(browser, live_server + issued.path(2), "recalled", "recalled", artifacts,
          reasons=("召回", "recalled"))  # fmt: skip

    real = issued.codes[2]["serial"]
    fake = real[:-1] + ("0" if real[-1] != "0" else "1")
    _look(browser, f"{live_server}/01/{GTIN}/21/{fake}", "unknown", "unknown", artifacts,
          reasons=("品牌方没有签发过这个码", "the brand never issued it"))  # fmt: skip


pytestmark = pytest.mark.browser
