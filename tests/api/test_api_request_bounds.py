"""Request bodies are bounded before any route decodes them: size, nesting, strict JSON."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from fixtures.app import TenantKeys
from trace_api.components import Components
from trace_api.json_input import SAFE_RECURSION_LIMIT, JsonRefused, loads_strict, nesting_depth

JSON = {"Content-Type": "application/json"}


def _deep(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


def _org_count(client: TestClient, tenant: TenantKeys) -> int:
    return len(client.get("/v1/organisations", headers=tenant.auth("admin")).json())


def test_deeply_nested_body_without_a_key_is_400_and_the_process_lives(
    client: TestClient,
) -> None:
    # 100,000 levels crashed the process (py-ecc raises the recursion limit to 100,000).
    response = client.post("/v1/organisations", content=_deep(100_000), headers=JSON)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/malformed-json"
    assert "nested 100000 deep" in response.json()["detail"]
    assert client.get("/healthz").status_code == 200


def test_nesting_within_the_bound_reaches_the_route(client: TestClient, tenant: TenantKeys) -> None:
    nested: object = "x"
    for _ in range(60):
        nested = [nested]
    response = client.post(
        "/v1/organisations",
        json={"name": "Deep Co", "kind": "dealer", "extra": nested},
        headers=tenant.auth("admin"),
    )
    assert response.status_code == 422  # refused by the schema, not by the guard
    assert response.json()["type"] == "/problems/invalid-input"


def test_recursion_limit_is_restored_after_py_ecc_and_py_evm() -> None:
    import trace_api.app  # noqa: F401  (imports both libraries, then sets the limit back)

    assert sys.getrecursionlimit() <= SAFE_RECURSION_LIMIT


def test_a_fresh_server_process_survives_a_deep_body(tmp_path) -> None:
    # In a process of its own: a segfault there fails this test instead of the run.
    script = (
        "import json, sys\n"
        "import trace_api.app\n"
        "try:\n"
        "    json.loads('[' * 100000 + ']' * 100000)\n"
        "except RecursionError:\n"
        "    print('refused')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TRACE_DATA_DIR": str(tmp_path)},
    )
    assert done.returncode == 0, (done.returncode, -signal.SIGSEGV, done.stderr[-2000:])
    assert done.stdout.strip() == "refused"


def test_body_over_the_limit_is_413_before_it_is_read(
    client: TestClient, tenant: TenantKeys
) -> None:
    limit = Components.of(client.app).settings.max_body_bytes
    before = _org_count(client, tenant)
    big = b'{"name": "' + b"x" * (limit + 10) + b'", "kind": "dealer"}'
    response = client.post(
        "/v1/organisations", content=big, headers={**tenant.auth("admin"), **JSON}
    )
    assert response.status_code == 413
    assert response.json()["type"] == "/problems/payload-too-large"
    assert response.json()["limit"] == limit
    assert _org_count(client, tenant) == before


def test_streamed_body_over_the_limit_is_413(client: TestClient, tenant: TenantKeys) -> None:
    limit = Components.of(client.app).settings.max_body_bytes

    def chunks():
        for _ in range(limit // 65536 + 2):
            yield b" " * 65536

    response = client.post(
        "/v1/products", content=chunks(), headers={**tenant.auth("admin"), **JSON}
    )
    assert response.status_code == 413


def test_duplicate_member_names_are_refused(client: TestClient, tenant: TenantKeys) -> None:
    # {"role":"operator","role":"admin"} made an admin key: the last one won.
    response = client.post(
        "/v1/api-keys",
        content=b'{"role": "operator", "role": "admin", "label": "x"}',
        headers={**tenant.auth("admin"), **JSON},
    )
    assert response.status_code == 400
    assert "'role' appears twice" in response.json()["detail"]
    keys = client.get("/v1/api-keys", headers=tenant.auth("admin")).json()
    assert not any(k.get("label") == "x" for k in keys)


@pytest.mark.parametrize(
    ("raw", "status", "words"),
    [
        (b'{"name": "a\\u0000b", "kind": "dealer"}', 422, "NUL"),
        (b'{"name": "a\\ud800b", "kind": "dealer"}', 422, "surrogate"),
        (b'{"name": "x", "kind": "dealer", "n": NaN}', 400, "NaN"),
    ],
)
def test_text_no_database_can_hold_is_refused_alike_on_both(
    client: TestClient, tenant: TenantKeys, raw: bytes, status: int, words: str
) -> None:
    before = _org_count(client, tenant)
    response = client.post(
        "/v1/organisations", content=raw, headers={**tenant.auth("admin"), **JSON}
    )
    assert response.status_code == status
    assert words in response.json()["detail"]
    assert _org_count(client, tenant) == before


def test_epcis_capture_nested_deep_is_a_400_in_the_bindings_terms(
    client: TestClient, tenant: TenantKeys
) -> None:
    for levels in (500, 10_000):
        inner = b'{"a":' * levels + b"1" + b"}" * levels
        document = (
            b'{"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],'
            b' "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate":'
            b' "2026-01-01T00:00:00Z", "epcisBody": {"eventList": [' + inner + b"]}}"
        )
        response = client.post(
            "/epcis/capture",
            content=document,
            headers={**tenant.auth("operator"), "Content-Type": "application/ld+json"},
        )
        assert response.status_code == 400, response.text
        assert response.json()["type"] == "epcisException:ValidationException"


def test_epcis_rejects_duplicate_member_names(client: TestClient, tenant: TenantKeys) -> None:
    response = client.post(
        "/epcis/capture",
        content=b'{"type": "EPCISDocument", "type": "x"}',
        headers={**tenant.auth("operator"), "Content-Type": "application/ld+json"},
    )
    assert response.status_code == 400
    assert "appears twice" in response.json()["detail"]


def test_nesting_depth_ignores_brackets_in_strings() -> None:
    assert nesting_depth(b'{"a": "[[[[{{{{", "b": [1, [2]]}') == 3
    assert nesting_depth(b'["\\"[[[", "\\\\", [[]]]') == 3
    assert nesting_depth(b"42") == 0


def test_strict_decode_keeps_escaped_backslashes_that_look_like_nul() -> None:
    assert loads_strict(b'{"x": "a\\\\u0000"}', max_depth=4) == {"x": "a\\u0000"}
    with pytest.raises(JsonRefused):
        loads_strict(b'{"x": "a\\\\\\u0000"}', max_depth=4)
