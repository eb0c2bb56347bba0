"""The proof in plain words: one sentence, details folded away, and a way to check it."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from fixtures.app import TenantKeys
from fixtures.codes import issue_batch
from trace_api.components import Components


def _howto_script(client: TestClient) -> str:
    page = client.get("/verify-proof?lang=en")
    assert page.status_code == 200 and "getAnchor(bytes32 anchorId)" in page.text
    found = re.search(r'<pre id="howto-script">(.*?)</pre>', page.text, re.S)
    assert found
    text = html.unescape(found.group(1))
    return text.split("<<'PY'\n", 1)[1].rsplit("PY", 1)[0]


def test_the_script_on_the_how_to_page_checks_a_real_proof(
    client: TestClient, app: FastAPI, tenant: TenantKeys, tmp_path: Path
) -> None:
    issued = issue_batch(client, tenant, count=7)
    Components.of(app).worker.run_until_idle()
    script = tmp_path / "check.py"
    script.write_text(_howto_script(client))
    for n in (0, 5, 6):
        proof = client.get(f"/v1/codes/{issued.codes[n]['serial']}/proof").json()
        good = tmp_path / f"proof{n}.json"
        good.write_text(json.dumps(proof))
        run = subprocess.run(
            [sys.executable, str(script), str(good)], capture_output=True, text=True
        )
        assert run.stdout.strip() == "OK", run.stderr
        proof["path"][0] = "00" * 32
        bad = tmp_path / f"bad{n}.json"
        bad.write_text(json.dumps(proof))
        run = subprocess.run(
            [sys.executable, str(script), str(bad)], capture_output=True, text=True
        )
        assert run.stdout.strip() == "FAILED", run.stderr


def test_the_page_says_when_in_one_sentence_and_folds_the_hashes_away(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    issued = issue_batch(client, tenant, count=2)
    Components.of(app).worker.run_until_idle()
    page = client.get(issued.path(0)).text
    sentence = re.search(r'<p id="proof-sentence">([^<]*)</p>', page)
    assert sentence and re.fullmatch(
        r"这件商品的记录已于 \d{4}-\d\d-\d\d \d\d:\d\d 写入区块链，"
        r"任何人都可以核对，无需相信本网站。",
        sentence.group(1),
    )
    details = page.index('<details id="proof-details">')
    assert page.index("批次根哈希") > details and page.index("此码的哈希") > details
    assert f'href="/v1/codes/{issued.codes[0]["serial"]}/proof"' in page
    assert 'href="/verify-proof?lang=zh"' in page
    assert 'id="explorer"' not in page  # none configured
    for jargon in ("Merkle", "叶子", "赋码", "链 ID"):
        assert jargon not in page, jargon
    assert "龙井绿茶 250\u00a0g" in page  # a number never breaks from its unit


def test_an_explorer_link_and_the_operator_when_configured(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    Components.of(app).settings.chain_explorer_url = "https://explorer.example/"
    Components.of(app).settings.service_operator = "溯源科技有限公司"
    issued = issue_batch(client, tenant, count=1)
    Components.of(app).worker.run_until_idle()
    answer = client.get(issued.path(0), headers={"Accept": "application/json"}).json()
    tx = answer["proof"]["anchor"]["tx"]
    page = client.get(issued.path(0)).text
    assert f'href="https://explorer.example/tx/{tx}"' in page
    assert "本验证服务由 溯源科技有限公司 提供" in page
