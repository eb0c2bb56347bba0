"""Rewrites that keep each entry hashing to its leaf, or touch the checkpoints, are found:
the stored leaves must still reproduce every signed root, and every stored checkpoint must
still verify under the service's key and agree with its columns."""

from __future__ import annotations

import json
from pathlib import Path

import rfc8785
from fastapi.testclient import TestClient
from log_tampering import checkpoint, grow, tamper_behind_triggers
from sqlalchemy import Engine

from compliance.entry import entry_leaf_hash
from fixtures.anchoring import chain_app
from fixtures.app import make_tenant
from trace_api.components import Components


def _findings(app, tenant_id: str) -> dict[str, str]:
    return {f.where: f.reason for f in Components.of(app).log_integrity.findings(tenant_id)}


def test_an_entry_rewritten_with_its_leaf_breaks_the_checkpoint_root(
    tmp_path: Path, db_url: str, engine: Engine
) -> None:
    app = chain_app(tmp_path, db_url, engine)
    tenant = make_tenant(app, "acme")
    grow(app, tenant.tenant_id, 12)
    with TestClient(app) as client:
        first = checkpoint(client, tenant).json()["size"]
        grow(app, tenant.tenant_id, 3)
        second = checkpoint(client, tenant).json()["size"]
    forged = b'{"forged":true}'
    tamper_behind_triggers(
        engine,
        "UPDATE audit_entries SET body = :b, leaf_hash = :h WHERE tenant_id = :t AND seq = 2",
        b=forged,
        h=entry_leaf_hash(forged),
        t=tenant.tenant_id,
    )
    restarted = chain_app(tmp_path, db_url, engine)
    Components.of(restarted).log_reverifier.run_pass()
    found = _findings(restarted, tenant.tenant_id)
    assert set(found) == {f"checkpoint size {first}", f"checkpoint size {second}"}
    assert "no longer reproduce its signed root" in found[f"checkpoint size {first}"]


def test_a_checkpoint_row_changed_to_match_is_found(
    tmp_path: Path, db_url: str, engine: Engine
) -> None:
    app = chain_app(tmp_path, db_url, engine)
    tenant = make_tenant(app, "acme")
    grow(app, tenant.tenant_id, 12)
    with TestClient(app) as client:
        cp = checkpoint(client, tenant).json()
    # the attacker rewrites the checkpoint's root column and, in a copy, its body too
    body = json.loads(cp["body"])
    body["root"] = "ab" * 32
    tamper_behind_triggers(
        engine,
        "UPDATE audit_checkpoints SET root = :r, body = :b WHERE tenant_id = :t",
        r="0x" + "ab" * 32,
        b=rfc8785.dumps(body),
        t=tenant.tenant_id,
    )
    restarted = chain_app(tmp_path, db_url, engine)
    Components.of(restarted).log_reverifier.run_pass()
    found = _findings(restarted, tenant.tenant_id)
    assert (
        "does not verify under the service's signing key" in found[f"checkpoint size {cp['size']}"]
    )
    with TestClient(restarted) as client:
        grow(restarted, tenant.tenant_id, 1)
        assert checkpoint(client, tenant).status_code == 409


def test_a_checkpoint_column_out_of_step_with_its_body_refuses_the_next_one(
    tmp_path: Path, db_url: str, engine: Engine
) -> None:
    app = chain_app(tmp_path, db_url, engine)
    tenant = make_tenant(app, "acme")
    grow(app, tenant.tenant_id, 12)
    with TestClient(app) as client:
        size = checkpoint(client, tenant).json()["size"]
    tamper_behind_triggers(
        engine,
        "UPDATE audit_checkpoints SET root = :r WHERE tenant_id = :t",
        r="0x" + "cd" * 32,
        t=tenant.tenant_id,
    )
    restarted = chain_app(tmp_path, db_url, engine)  # no pass yet: the checkpoint checks itself
    with TestClient(restarted) as client:
        grow(restarted, tenant.tenant_id, 1)
        refused = checkpoint(client, tenant)
    assert refused.status_code == 409
    assert refused.json()["checkpoint"] == size
    assert "differ from its signed body" in refused.json()["detail"]
