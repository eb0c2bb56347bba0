"""Bad input to POST /v1/evidence is a 4xx problem+json and writes nothing, whatever it is."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from submission_support import add_signer, proof_body, written

from fixtures.app import TenantKeys


def _post(client: TestClient, tenant: TenantKeys, body: Any) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(
        "/v1/evidence",
        content=raw,
        headers={**tenant.auth("operator"), "Content-Type": "application/json"},
    )


def _in_a_while(minutes: int) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


BAD_BODIES: list[tuple[str, Any]] = [
    ("huge title", proof_body(title="合" * 501)),
    ("empty title", proof_body(title="")),
    ("title with a control character", proof_body(title="contract\x07")),
    ("blank title", proof_body(title=" ")),
    ("ideographic space title", proof_body(title="\u3000")),
    ("no-break space title", proof_body(title="\u00a0")),
    ("blank Braille title", proof_body(title="\u2800")),
    ("variation selector title", proof_body(title="\ufe0f")),
    ("unknown kind", proof_body(kind="poem")),
    ("kind not a string", proof_body(kind=1)),
    ("bad hex digest", proof_body(digests={"sm3": "zz" * 32})),
    ("short digest", proof_body(digests={"sha256": "ab" * 31})),
    ("unknown digest", proof_body(digests={"md5": "ab" * 16})),
    ("no digest at all", proof_body(digests={})),
    ("negative size", proof_body(size=-1)),
    ("size beyond JSON's integers", proof_body(size=2**63)),
    ("unknown member", proof_body(colour="blue")),
    ("unknown link type", proof_body(links=[{"type": "invoice", "id": "x"}])),
    ("the same link twice", proof_body(links=[{"type": "product", "id": "p"}] * 2)),
    ("too many links", proof_body(links=[{"type": "product", "id": str(n)} for n in range(51)])),
    ("unknown party", {**proof_body(), "parties": [{"party": "no-such-party"}]}),
    ("bad signature hex", proof_body(signatures=[{"party": "p", "signature": "xyz"}])),
    ("signatures without id", proof_body(signatures=[{"party": "p", "signature": "30" * 40}])),
    ("id not a UUID", proof_body(id="evidence-1")),
    ("time far back", proof_body(created_at=_in_a_while(-60))),
    ("time ahead", proof_body(created_at=_in_a_while(30))),
    ("time without offset", proof_body(created_at="2026-12-06T08:30:00")),
    ("a NUL in the title", proof_body(title="con\u0000tract")),
    ("not an object", [proof_body()]),
    ("nested too deep", b"[" * 200 + b"]" * 200),
    ("duplicate member", b'{"title": "a", "title": "b", "kind": "other"}'),
    ("not JSON", b"{title: 1"),
]


@pytest.mark.parametrize("body", [b for _, b in BAD_BODIES], ids=[n for n, _ in BAD_BODIES])
def test_a_bad_proof_is_a_problem_and_writes_nothing(
    app: FastAPI, client: TestClient, tenant: TenantKeys, body: Any
) -> None:
    before = written(app)
    response = _post(client, tenant, body)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert written(app) == before


def test_a_chosen_id_that_is_taken_is_409(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    chosen = str(uuid.uuid4())
    assert _post(client, tenant, proof_body(id=chosen)).status_code == 201
    before = written(app)
    assert _post(client, tenant, proof_body(id=chosen)).status_code == 409
    assert written(app) == before


def test_a_signature_in_the_submission_for_a_party_not_named_writes_nothing(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    signer = add_signer(client, tenant)
    body = proof_body(id=str(uuid.uuid4()), created_at=_in_a_while(0))
    body["signatures"] = [{"party": signer.party, "signature": "30" * 40}]
    before = written(app)
    response = _post(client, tenant, body)
    assert response.status_code == 422 and "not a party" in response.json()["detail"]
    assert written(app) == before


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "title": _JSON,
        "kind": st.sampled_from(["contract", "other", "x"]) | _JSON,
        "digests": st.fixed_dictionaries({}, optional={"sm3": _JSON, "sha256": _JSON}) | _JSON,
        "size": _JSON,
        "links": _JSON,
        "parties": _JSON,
        "signatures": _JSON,
        "id": _JSON,
        "created_at": _JSON,
    },
)


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=_FIELDS)
def test_any_body_is_either_stored_whole_or_refused_with_nothing_written(
    app: FastAPI, client: TestClient, tenant: TenantKeys, body: dict[str, Any]
) -> None:
    before = written(app)
    response = _post(client, tenant, body)
    assert response.status_code < 500, response.text
    if response.status_code == 201:
        after = written(app)
        assert after["evidence"] == before["evidence"] + 1
        assert after["audit_entries"] > before["audit_entries"]
    else:
        assert response.headers["content-type"] == "application/problem+json"
        assert written(app) == before
