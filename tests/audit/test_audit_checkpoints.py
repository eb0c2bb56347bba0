"""Signed checkpoints: anchored, consistent with each other, and they catch tampering."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from compliance.checkpoint import Checkpoint, verify_checkpoint
from crypto.merkle import verify_consistency
from fixtures.anchoring import chain_app
from fixtures.app import make_tenant
from fixtures.audit import tamper
from trace_api.audit import log as audit_log
from trace_api.audit.checkpoints import LogIntegrityError, create_checkpoint
from trace_api.components import Components
from trace_api.db import transaction


def _checkpoint(app, tenant_id):
    with transaction(Components.of(app).sessions) as session:
        return create_checkpoint(
            session=session,
            tenant_id=tenant_id,
            signing_key=Components.of(app).signing_key,
            trees=Components.of(app).log_trees,
        )


def _grow(app, tenant_id: str, n: int) -> None:
    with transaction(Components.of(app).sessions) as session:
        audit_log.append_many(
            session=session,
            tenant_id=tenant_id,
            changes=[audit_log.Change("test.grow", {"n": i}) for i in range(n)],
        )


def test_checkpoints_are_signed_consistent_and_anchored(
    tmp_path: Path, db_url: str, engine: Engine
) -> None:
    app = chain_app(tmp_path, db_url, engine)
    tenant = make_tenant(app, "acme")
    first = _checkpoint(app, tenant.tenant_id).checkpoint
    assert _checkpoint(app, tenant.tenant_id).created is False  # nothing new: same one
    _grow(app, tenant.tenant_id, 25)
    second = _checkpoint(app, tenant.tenant_id).checkpoint
    public = Components.of(app).signing_key.public_key
    for record in (first, second):
        verify_checkpoint(public, record.body, record.signature)  # raises if it does not hold
    cp1, cp2 = Checkpoint.from_body(first.body), Checkpoint.from_body(second.body)
    assert cp2.previous_size == cp1.size and cp2.previous_root == cp1.root
    with (
        transaction(Components.of(app).sessions) as session,
        Components.of(app).log_trees.tree(session, tenant.tenant_id) as tree,
    ):
        proof = tree.consistency_proof(cp1.size, cp2.size)
    assert verify_consistency(cp1.size, cp2.size, cp1.root, cp2.root, proof)

    assert Components.of(app).worker.run_until_idle().confirmed == 2
    contract, _ = Components.of(app).gateway.contract()
    from chain import anchor_id_for
    from compliance.checkpoint import signing_key_fingerprint

    onchain = contract.get_anchor(
        anchor_id_for("audit_checkpoint", tenant.tenant_id, str(cp2.size))
    )
    assert onchain.root == cp2.root and onchain.size == cp2.size
    assert onchain.meta == signing_key_fingerprint(public)


def test_checkpoint_catches_an_entry_changed_in_the_database(
    tmp_path: Path, db_url: str, engine: Engine
) -> None:
    app = chain_app(tmp_path, db_url, engine)
    tenant = make_tenant(app, "acme")
    _checkpoint(app, tenant.tenant_id)
    _grow(app, tenant.tenant_id, 5)
    size_before = _checkpoint(app, tenant.tenant_id).checkpoint.size
    # an attacker rewrites entry 2 and its leaf hash consistently
    from compliance.entry import entry_leaf_hash

    forged = b'{"forged":true}'
    tamper(
        engine,
        "UPDATE audit_entries SET body = :b, leaf_hash = :h WHERE tenant_id = :t AND seq = 2",
        b=forged,
        h=entry_leaf_hash(forged),
        t=tenant.tenant_id,
    )
    _grow(app, tenant.tenant_id, 1)
    with pytest.raises(LogIntegrityError, match=f"checkpoint {size_before}"):
        _checkpoint(app, tenant.tenant_id)


def test_checkpoint_catches_a_new_entry_changed_before_it_was_signed(
    tmp_path: Path, db_url: str, engine: Engine
) -> None:
    app = chain_app(tmp_path, db_url, engine)
    tenant = make_tenant(app, "acme")
    _checkpoint(app, tenant.tenant_id)
    _grow(app, tenant.tenant_id, 3)
    tamper(
        engine,
        "UPDATE audit_entries SET body = :b WHERE tenant_id = :t AND seq = "
        "(SELECT MAX(seq) FROM audit_entries WHERE tenant_id = :t)",
        b=b'{"forged":true}',
        t=tenant.tenant_id,
    )
    with pytest.raises(LogIntegrityError, match="no longer hashes"):
        _checkpoint(app, tenant.tenant_id)
    assert Components.of(app).checkpointer.run_once() == 0
    with TestClient(app) as client:
        health = client.get("/healthz").json()
    assert health["status"] == "degraded"
    assert tenant.tenant_id in health["audit_log"]["integrity_failures"]


def test_checkpoint_catches_a_deleted_entry(tmp_path: Path, db_url: str, engine: Engine) -> None:
    app = chain_app(tmp_path, db_url, engine)
    tenant = make_tenant(app, "acme")
    _checkpoint(app, tenant.tenant_id)
    tamper(engine, "DELETE FROM audit_entries WHERE tenant_id = :t AND seq = 3", t=tenant.tenant_id)
    with pytest.raises(LogIntegrityError, match="entry 3 missing"):
        _checkpoint(app, tenant.tenant_id)


def test_checkpoint_api_is_for_compliance_and_admin(
    tmp_path: Path, db_url: str, engine: Engine
) -> None:
    app = chain_app(tmp_path, db_url, engine)
    tenant = make_tenant(app, "acme")
    with TestClient(app) as client:
        assert (
            client.post("/v1/audit/checkpoints", headers=tenant.auth("dealer")).status_code == 403
        )
        made = client.post("/v1/audit/checkpoints", headers=tenant.auth("compliance"))
        assert made.status_code == 201
        body = made.json()
        assert body["anchor"]["status"] == "pending"
        again = client.post("/v1/audit/checkpoints", headers=tenant.auth("compliance"))
        assert again.status_code == 200
        assert again.json()["size"] == body["size"]
        fetched = client.get(f"/v1/audit/checkpoints/{body['size']}", headers=tenant.auth("admin"))
        assert fetched.json()["signature"] == body["signature"]
