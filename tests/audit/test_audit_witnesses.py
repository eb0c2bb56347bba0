"""Witnesses: registered with proof of possession; their cosignatures land in bundles."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from compliance.verify import verify_bundle
from compliance.witness import WitnessKey, cosign
from fixtures.anchoring import chain_app
from fixtures.app import make_tenant
from fixtures.audit import download, finished_export


def _register(client: TestClient, tenant, name: str, key: WitnessKey, pop: bytes | None = None):
    return client.post(
        "/v1/audit/witnesses",
        json={
            "name": name,
            "public_key": key.public_key.hex(),
            "proof_of_possession": (pop or key.proof_of_possession()).hex(),
        },
        headers=tenant.auth("admin"),
    )


def test_witness_needs_a_valid_proof_of_possession(
    tmp_path: Path, db_url: str, engine: Engine
) -> None:
    app = chain_app(tmp_path, db_url, engine)
    tenant = make_tenant(app, "acme")
    honest, other = WitnessKey.generate(), WitnessKey.generate()
    with TestClient(app) as client:
        rogue = _register(client, tenant, "rogue", honest, other.proof_of_possession())
        assert rogue.status_code == 422
        assert client.get("/v1/audit/witnesses", headers=tenant.auth("admin")).json() == []
        ok = _register(client, tenant, "CAICT witness", honest)
        assert ok.status_code == 201
        again = _register(client, tenant, "dup", honest)
        assert again.status_code == 409


def test_cosigned_checkpoint_travels_in_the_bundle_and_verifies(
    tmp_path: Path, db_url: str, engine: Engine
) -> None:
    app = chain_app(tmp_path, db_url, engine)
    tenant = make_tenant(app, "acme")
    witnesses = [WitnessKey.generate(), WitnessKey.generate()]
    with TestClient(app) as client:
        ids = [
            _register(client, tenant, f"witness {n}", w).json()["id"]
            for n, w in enumerate(witnesses)
        ]
        checkpoint = client.post("/v1/audit/checkpoints", headers=tenant.auth("compliance")).json()
        size, body = checkpoint["size"], checkpoint["body"].encode()
        forged = client.post(
            f"/v1/audit/checkpoints/{size}/cosignatures",
            json={"witness_id": ids[0], "signature": cosign(witnesses[1], body).hex()},
            headers=tenant.auth("compliance"),
        )
        assert forged.status_code == 422
        for witness_id, key in zip(ids, witnesses, strict=True):
            response = client.post(
                f"/v1/audit/checkpoints/{size}/cosignatures",
                json={"witness_id": witness_id, "signature": cosign(key, body).hex()},
                headers=tenant.auth("compliance"),
            )
            assert response.status_code == 201
        assert sorted(response.json()["cosigners"]) == sorted(ids)
        path = tmp_path / "bundle.zip"
        path.write_bytes(download(client, tenant, finished_export(client, tenant)))
    verdict = verify_bundle(path)
    assert verdict.ok, verdict.describe()
    assert verdict.cosignatures_checked >= 1
