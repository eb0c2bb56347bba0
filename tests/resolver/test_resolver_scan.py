"""Resolver verdicts: genuine (with a proof that verifies alone), unknown, suspicious, recalled."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pin_support import client_at
from sqlalchemy import Engine, func, select, text

from crypto.merkle import leaf_hash, verify_inclusion
from fixtures.app import TenantKeys
from fixtures.audit import log_entries
from fixtures.codes import GTIN, JSON, issue_batch
from trace_api.components import Components
from trace_api.db import transaction
from trace_api.models import CodeScan, ResolverMiss


def verify_alone(proof: dict) -> bool:
    """What a consumer's verifier does: crypto.merkle and nothing else."""
    return verify_inclusion(
        bytes.fromhex(proof["leaf"]),
        proof["index"],
        proof["tree_size"],
        [bytes.fromhex(p) for p in proof["path"]],
        bytes.fromhex(proof["root"]),
        hash=proof["hash"],
    )


def test_genuine_code_shows_product_batch_and_a_proof_anchored_on_chain(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    issued = issue_batch(client, tenant, count=9)
    Components.of(app).worker.run_until_idle()
    response = client.get(issued.path(4), headers=JSON)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["verdict"] == "genuine" and body["reasons"] == []
    assert body["payload"] == "decrypted"
    assert body["product"]["name"] == "龙井绿茶 250 g" and body["product"]["gtin"] == GTIN
    assert body["batch"]["lot"] == "L2026-11/A" and body["batch"]["factory"] == "杭州二厂"
    assert body["uri"] == issued.codes[4]["uri"]
    proof = body["proof"]
    assert set(proof) == {"v", "hash", "leaf", "index", "tree_size", "path", "root", "anchor"}
    assert (proof["v"], proof["hash"], proof["index"], proof["tree_size"]) == (1, "sm3", 4, 9)
    assert verify_alone(proof)
    assert leaf_hash(body["leaf_input"].encode()).hex() == proof["leaf"]
    assert issued.codes[4]["serial"] in body["leaf_input"]
    anchor = proof["anchor"]
    assert anchor["status"] == "confirmed" and anchor["confirmations"] >= 1
    assert {"chain_id", "contract", "tx", "block", "block_hash", "anchor_id"} <= set(anchor)
    contract, _ = Components.of(app).gateway.contract()
    onchain = contract.get_anchor(bytes.fromhex(anchor["anchor_id"][2:]))
    assert onchain.root.hex() == proof["root"] and onchain.size == 9
    kinds = [e["kind"] for e in body["timeline"]]
    assert kinds == ["produced", "code_issued", "anchored", "first_scan"]
    public = client.get(f"/v1/codes/{issued.codes[4]['serial']}/proof")
    assert public.status_code == 200
    assert public.json()["leaf"] == proof["leaf"] and verify_alone(public.json())


def test_proof_says_pending_until_the_chain_confirms(
    client: TestClient, tenant: TenantKeys
) -> None:
    issued = issue_batch(client, tenant, count=2)
    proof = client.get(f"/v1/codes/{issued.codes[0]['serial']}/proof").json()
    assert proof["anchor"]["status"] == "pending"
    assert verify_alone(proof)
    page = client.get(issued.path(0), headers={"Accept": "text/html"}).text
    assert "存证正在确认中" in page and "正在写入区块链" in page
    assert "记录已于" not in page and "写入区块链，任何人都可以核对" not in page  # no more


def test_the_page_says_anchored_once_the_chain_confirms(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    issued = issue_batch(client, tenant, count=2)
    Components.of(app).worker.run_until_idle()
    page = client.get(issued.path(0), headers={"Accept": "text/html"}).text
    assert "与区块链上的存证一致" in page and "确认中" not in page
    assert re.search(r"这件商品的记录已于 \d{4}-\d\d-\d\d \d\d:\d\d 写入区块链", page)


def test_unknown_and_malformed_serials_are_unknown_and_counted_as_misses(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    issued = issue_batch(client, tenant, count=1)
    real = issued.codes[0]["serial"]
    wrong_check = real[:-1] + ("0" if real[-1] != "0" else "1")
    for serial in (wrong_check, "0" * 16 + "0", "NOT-A-SERIAL"):
        response = client.get(f"/01/{GTIN}/21/{serial}", headers=JSON)
        assert response.status_code == 404, serial
        assert response.json()["verdict"] == "unknown"
    page = client.get(f"/01/{GTIN}/21/{wrong_check}")
    # Pages are 200 whatever the verdict (in-app browsers), the JSON above keeps its 404.
    assert page.status_code == 200 and page.headers["x-trace-verdict"] == "unknown"
    assert "未找到" in page.text and wrong_check in page.text
    with transaction(Components.of(app).sessions) as session:
        assert session.scalar(select(func.count()).select_from(ResolverMiss)) == 4
        assert session.scalar(select(func.count()).select_from(CodeScan)) == 0
    assert client.get(f"/v1/codes/{wrong_check}/proof").status_code == 404


def test_a_malformed_link_is_a_400_problem(client: TestClient) -> None:
    response = client.get("/01/09506000134353/10/A/21/B", headers=JSON)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/invalid-digital-link"
    assert "check digit" in response.json()["detail"]
    response = client.get(f"/01/{GTIN}/21/B/10/A")
    assert response.status_code == 400 and "must come before" in response.json()["detail"]
    assert client.get(f"/01/{GTIN}").status_code == 400  # no serial: not an item link


def test_serial_under_another_gtin_or_lot_is_suspicious(
    client: TestClient, tenant: TenantKeys
) -> None:
    issued = issue_batch(client, tenant, count=1)
    serial = issued.codes[0]["serial"]
    other_gtin = client.get(f"/01/00000096385074/10/L2026-11%2FA/21/{serial}", headers=JSON)
    assert other_gtin.json()["verdict"] == "suspicious"
    assert other_gtin.json()["reasons"] == ["other_product"]
    other_lot = client.get(f"/01/{GTIN}/10/OTHER/21/{serial}", headers=JSON)
    assert other_lot.json()["verdict"] == "suspicious"
    assert other_lot.json()["reasons"] == ["other_lot"]
    no_lot = client.get(f"/01/9506000134352/21/{serial}", headers=JSON)  # GTIN-13, no lot: fine
    assert no_lot.json()["verdict"] == "genuine"


def _tamper(engine: Engine, sql: str, **params: object) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql), params)


@pytest.mark.parametrize("where", ["ciphertext", "swapped", "leaf", "root"])
def test_tampered_rows_are_suspicious_never_genuine(
    client: TestClient, app: FastAPI, engine: Engine, tenant: TenantKeys, where: str
) -> None:
    issued = issue_batch(client, tenant, count=4)
    a, b = issued.codes[0]["serial"], issued.codes[1]["serial"]
    assert client.get(issued.path(0), headers=JSON).json()["verdict"] == "genuine"
    if where == "ciphertext":  # one byte of the sealed payload flipped in the database
        with engine.connect() as conn:
            sealed = conn.execute(text("SELECT sealed FROM codes WHERE serial = :s"), {"s": a})
            blob = bytearray(sealed.scalar_one())
        blob[-20] ^= 0x01
        _tamper(engine, "UPDATE codes SET sealed = :b WHERE serial = :s", b=bytes(blob), s=a)
    elif where == "swapped":  # another code's (valid) payload copied onto this one
        _tamper(
            engine,
            "UPDATE codes SET sealed = (SELECT sealed FROM codes WHERE serial = :b) "
            "WHERE serial = :a",
            a=a,
            b=b,
        )
    elif where == "leaf":  # the stored leaf hashes changed to match a forged row
        with engine.connect() as conn:
            blob = bytearray(conn.execute(text("SELECT leaf_hashes FROM code_trees")).scalar_one())
        blob[5] ^= 0xFF
        _tamper(engine, "UPDATE code_trees SET leaf_hashes = :b", b=bytes(blob))
        Components.of(app).resolver.trees.forget(issued.issuance["id"])
    else:  # the recorded root changed
        _tamper(engine, "UPDATE code_issuances SET root = :r", r="0x" + "ab" * 32)
    response = client.get(issued.path(0), headers=JSON)
    body = response.json()
    assert body["verdict"] == "suspicious", body
    assert body["reasons"]
    page = client.get(issued.path(0), headers={"Accept-Language": "zh-CN"})
    assert 'data-verdict="suspicious"' in page.text and "可疑" in page.text
    if where in ("ciphertext", "swapped"):  # the other codes of the batch are still sound
        assert client.get(issued.path(2), headers=JSON).json()["verdict"] == "genuine"
    entries = [e for e in log_entries(app, tenant.tenant_id) if e["kind"] == "code.suspicious_scan"]
    assert a in {e["data"]["serial"] for e in entries}


def test_recalled_batch_and_item_answer_410_with_the_reason(
    client: TestClient, tenant: TenantKeys
) -> None:
    issued = issue_batch(client, tenant, count=3)
    auth = tenant.auth("operator")
    serial = issued.codes[2]["serial"]
    client.post(f"/v1/codes/{serial}/recall", json={"reason": "seal broken"}, headers=auth)
    item = client.get(issued.path(2), headers=JSON)
    assert item.status_code == 410
    assert item.json()["verdict"] == "recalled"
    assert item.json()["recall"]["scope"] == "item"
    assert client.get(issued.path(1), headers=JSON).json()["verdict"] == "genuine"
    client.post(f"/v1/batches/{issued.batch_id}/recall", json={"reason": "污染"}, headers=auth)
    batch = client.get(issued.path(1), headers=JSON)
    assert batch.status_code == 410
    assert batch.json()["recall"] == {
        "scope": "batch",
        "at": batch.json()["recall"]["at"],
        "reason": "污染",
    }
    page = client.get(issued.path(1))
    assert page.status_code == 200 and page.headers["x-trace-verdict"] == "recalled"
    assert "已召回" in page.text and "召回原因：污染" in page.text


def test_scans_are_counted_and_clone_warnings_raised_and_logged(
    client: TestClient, app: FastAPI, tenant: TenantKeys
) -> None:
    Components.of(app).resolver.settings.scan_warn_count = 3
    issued = issue_batch(client, tenant, count=1)
    path = issued.path(0)
    first = client.get(f"{path}?region=330106", headers=JSON).json()
    assert first["scans"]["count"] == 1 and first["scans"]["first_region"] == "330106"
    assert first["warnings"] == []
    far = client.get(f"{path}?region=110101", headers=JSON).json()  # Beijing, minutes later
    assert [w["code"] for w in far["warnings"]] == ["far_apart"]
    assert far["warnings"][0]["km"] > 1000
    near = client.get(f"{path}?lat=39.91&lon=116.41", headers=JSON).json()  # still Beijing
    assert [w["code"] for w in near["warnings"]] == ["far_apart"]  # kept: flags.py
    assert near["verdict"] == "possibly_copied"
    same = client.get(path, headers=JSON).json()  # scan 4, but from the only client so far
    assert [w["code"] for w in same["warnings"]] == ["far_apart"]
    for n in (1, 2):
        client_at(app, f"198.51.100.{n}").get(path, headers=JSON)
    many = client_at(app, "198.51.100.3").get(path, headers=JSON).json()  # a fourth client
    assert many["scans"]["count"] == 7 and many["warnings"][1]["clients"] == 4
    assert many["scans"]["first_region"] == "330106"
    assert [w["code"] for w in many["warnings"]] == ["far_apart", "many_scans"]
    client_at(app, "198.51.100.4").get(path, headers=JSON)
    kinds = [e["kind"] for e in log_entries(app, tenant.tenant_id)]
    assert kinds.count("code.first_scan") == 1  # not every scan: the first one
    assert kinds.count("code.clone_warning") == 2  # far apart once, too many once
    with transaction(Components.of(app).sessions) as session:
        hashes = set(session.scalars(select(CodeScan.client_hash)))
    assert len(hashes) == 5 and all(len(h) == 16 for h in hashes)
    assert b"testclient" not in next(iter(hashes))


def test_bad_location_is_refused(client: TestClient, tenant: TenantKeys) -> None:
    issued = issue_batch(client, tenant, count=1)
    for query in ("region=999999", "region=3301", "lat=91&lon=0", "lat=10", "lat=x&lon=1"):
        response = client.get(f"{issued.path(0)}?{query}", headers=JSON)
        assert response.status_code == 422, query
    assert client.get(issued.path(0), headers=JSON).json()["scans"]["count"] == 1


def test_page_is_chinese_by_default_and_english_on_request(
    client: TestClient, tenant: TenantKeys
) -> None:
    issued = issue_batch(client, tenant, count=1)
    zh = client.get(issued.path(0))
    assert zh.status_code == 200 and zh.headers["content-type"].startswith("text/html")
    assert zh.headers["content-language"] == "zh-CN"
    assert "正品" in zh.text and "<script" not in zh.text
    en = client.get(issued.path(0), headers={"Accept-Language": "en-GB,en;q=0.9,zh;q=0.5"})
    assert en.headers["content-language"] == "en" and "Genuine" in en.text
    both = client.get(issued.path(0), headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    assert both.headers["content-language"] == "zh-CN"
