"""`make run --demo`: a demo tenant whose keys work, demo codes that scan genuine, branding."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from trace_api.components import Components
from trace_api.demo import ensure_demo_codes, ensure_demo_tenant


def test_demo_is_idempotent_and_its_keys_and_codes_work(app: FastAPI) -> None:
    settings = Components.of(app).settings
    keys = ensure_demo_tenant(
        Components.of(app).sessions, Components.of(app).master_key, settings.data_dir
    )
    again = ensure_demo_tenant(
        Components.of(app).sessions, Components.of(app).master_key, settings.data_dir
    )
    assert keys == again
    assert set(keys) == {"admin", "operator", "compliance", "dealer"}
    pages = ensure_demo_codes(
        Components.of(app).sessions, Components.of(app).code_issuer, settings.public_base_url
    )
    assert len(pages) == 3
    assert (
        ensure_demo_codes(
            Components.of(app).sessions, Components.of(app).code_issuer, settings.public_base_url
        )
        == pages
    )
    with TestClient(app) as client:
        me = client.get("/v1/whoami", headers={"Authorization": f"Bearer {keys['dealer']}"})
        assert me.json()["role"] == "dealer"
        path = pages[0].removeprefix(settings.public_base_url)
        scan = client.get(path, headers={"Accept": "application/json"})
        assert scan.status_code == 200
        assert scan.json()["verdict"] == "genuine"
        assert scan.json()["brand"]["hotline_uri"] == "tel:4000000000"  # the page shows it
