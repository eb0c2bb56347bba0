"""Audit entry proofs: each step of a path proves itself with `crypto` alone."""

from __future__ import annotations

import json
from typing import Any

from channel_setup import build_channel
from fastapi import FastAPI
from fastapi.testclient import TestClient

from crypto import sm2
from crypto.merkle import leaf_hash, verify_inclusion
from fixtures.app import TenantKeys


def _verifies(proof: dict[str, Any]) -> bool:
    """The offline check a holder of the proof can run: leaf, path, signed checkpoint."""
    body = proof["entry"]["body"].encode()
    leaf = bytes.fromhex(proof["leaf"])
    if leaf_hash(body) != leaf:
        return False
    checkpoint = proof["checkpoint"]
    signed = json.loads(checkpoint["body"])
    if (signed["size"], signed["root"]) != (proof["tree_size"], proof["root"]):
        return False
    key = sm2.PublicKey.from_bytes(bytes.fromhex(checkpoint["signing_key"]))
    key.verify(bytes.fromhex(checkpoint["signature"]), checkpoint["body"].encode())
    return verify_inclusion(
        leaf,
        proof["index"],
        proof["tree_size"],
        [bytes.fromhex(h) for h in proof["path"]],
        bytes.fromhex(proof["root"]),
    )


def test_each_step_of_a_path_carries_a_proof_that_verifies(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    channel = build_channel(app, client, tenant)
    codes = [channel.serial(0)]
    channel.move("brand", "zj_dist", codes)
    url = f"/v1/items/{codes[0]}/provenance"
    path = client.get(url, headers=channel.auth("operator")).json()["path"]
    seq = path[0]["audit_seq"]
    waiting = client.get(f"/v1/audit/entries/{seq}/proof", headers=channel.auth("operator"))
    assert waiting.status_code == 200, waiting.text
    assert waiting.json()["checkpoint"] is None
    assert waiting.json()["status"] == "awaiting_checkpoint"
    made = client.post("/v1/audit/checkpoints", headers=channel.auth("compliance"))
    assert made.status_code == 201, made.text
    proof = client.get(f"/v1/audit/entries/{seq}/proof", headers=channel.auth("operator")).json()
    assert proof["v"] == 1 and proof["hash"] == "sm3" and proof["index"] == seq
    assert proof["status"] == "pending" and proof["anchor"]["status"] == "pending"
    assert _verifies(proof)
    entry = json.loads(proof["entry"]["body"])
    assert entry["kind"] == "epcis.event_captured"
    assert entry["data"]["eventID"] == path[0]["eventID"]
    steps = client.get(url, headers=channel.auth("zj_dist")).json()["path"]
    assert all(_verifies(step["proof"]) for step in steps)
    # A changed leaf or path does not verify.
    forged = dict(proof, index=proof["index"] + 1)
    assert not _verifies(forged)


def test_a_dealer_gets_proofs_only_of_entries_about_its_goods(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    channel = build_channel(app, client, tenant)
    channel.move("brand", "zj_dist", [channel.serial(0)])
    path = client.get(
        f"/v1/items/{channel.serial(0)}/provenance", headers=channel.auth("operator")
    ).json()["path"]
    url = f"/v1/audit/entries/{path[0]['audit_seq']}/proof"
    assert client.get(url, headers=channel.auth("zj_dist")).status_code == 200
    refused = client.get(url, headers=channel.auth("js_dealer"))
    assert refused.status_code == 404
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert (
        client.get("/v1/audit/entries/999999/proof", headers=channel.auth("admin")).status_code
        == 404
    )
    assert (
        client.get("/v1/audit/entries/-1/proof", headers=channel.auth("admin")).status_code == 422
    )
    assert client.get("/v1/audit/entries/x/proof", headers=channel.auth("admin")).status_code == 422
