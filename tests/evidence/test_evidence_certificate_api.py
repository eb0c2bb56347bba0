"""Certificates (JSON, PDF) for the tenant, and the public checks by id and by document."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from compliance import printing
from compliance.evidence.verify import verify_certificate
from fixtures.app import TenantKeys
from fixtures.evidence import add_party, add_proof
from trace_api.components import Components, get_evidence_proofs
from trace_api.db import transaction
from trace_api.models import AuditEntry
from trace_api.ratelimit import TokenBuckets


def _anchored_proof(app: FastAPI, tenant: TenantKeys, *, sha256: str, dealer: bool = False) -> str:
    parts = Components.of(app)
    with transaction(parts.sessions) as session:
        organisation = tenant.dealer_org_id if dealer else None  # the dealer is a party
        parties = [add_party(session, tenant.tenant_id, "p0", organisation)]
        parties.append(add_party(session, tenant.tenant_id, "p1"))
        evidence_id = add_proof(session, tenant.tenant_id, parties, sha256=sha256).id
    parts.evidence_batcher.run_once()
    parts.worker.run_until_idle()
    parts.evidence_batcher.run_once()
    return evidence_id


DOCUMENT = "供货合同 第 7 号 / supply contract no. 7".encode()
SHA256 = hashlib.sha256(DOCUMENT).hexdigest()


def test_the_certificate_verifies_offline_and_one_changed_byte_does_not(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    evidence_id = _anchored_proof(app, tenant, sha256=SHA256)
    answer = client.get(
        f"/v1/evidence/{evidence_id}/certificate", headers=tenant.auth("compliance")
    )
    assert answer.status_code == 200, answer.text
    verdict = verify_certificate(answer.content)
    assert verdict.ok, verdict.failures
    assert verdict.certificate.statement.evidence_id == evidence_id
    changed = answer.content.replace(b'"party 0"', b'"party 9"', 1)
    assert changed != answer.content
    assert not verify_certificate(changed).ok
    pdf = client.get(f"/v1/evidence/{evidence_id}/certificate.pdf", headers=tenant.auth("admin"))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"


def test_without_a_cjk_font_the_pdf_is_a_503_saying_what_to_install(
    app: FastAPI, client: TestClient, tenant: TenantKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    evidence_id = _anchored_proof(app, tenant, sha256="ab" * 32)
    monkeypatch.setattr(printing, "FONT_FILES", ())
    monkeypatch.setattr(printing, "_fontconfig_chinese", list)
    printing.cjk_fonts.cache_clear()
    try:
        pdf = client.get(
            f"/v1/evidence/{evidence_id}/certificate.pdf", headers=tenant.auth("admin")
        )
    finally:
        printing.cjk_fonts.cache_clear()
    assert pdf.status_code == 503
    assert pdf.headers["content-type"] == "application/problem+json"
    assert pdf.json()["type"] == "/problems/certificate-font-missing"
    assert "fonts-noto-cjk" in pdf.json()["detail"]


def test_certificates_stay_in_their_tenant_and_with_the_dealers_party_to_them(
    app: FastAPI, client: TestClient, tenant: TenantKeys, other_tenant: TenantKeys
) -> None:
    theirs = _anchored_proof(app, tenant, sha256="cd" * 32)
    shared = _anchored_proof(app, tenant, sha256="ef" * 32, dealer=True)
    url = "/v1/evidence/{}/certificate"
    assert client.get(url.format(theirs), headers=other_tenant.auth("admin")).status_code == 404
    assert client.get(url.format(theirs), headers=tenant.auth("dealer")).status_code == 404
    assert client.get(url.format(shared), headers=tenant.auth("dealer")).status_code == 200
    assert client.get(url.format(shared)).status_code == 401
    missing = client.get(url.format("no-such-proof"), headers=tenant.auth("admin"))
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")


def test_anyone_checks_a_proof_by_its_id_as_json_or_as_a_page(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    evidence_id = _anchored_proof(app, tenant, sha256=SHA256)
    answer = client.get(f"/v1/evidence/{evidence_id}/verify")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["verified"] is True and body["status"] == "anchored", body["checks"]
    assert [p["signed"] for p in body["parties"]] == [True, True]
    assert body["anchor"]["status"] == "confirmed" and body["anchor"]["tx"]
    assert verify_certificate(body["certificate"]).ok
    page = client.get(f"/v1/evidence/{evidence_id}/verify", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "已上链锚定" in page.text and evidence_id in page.text
    assert client.get("/v1/evidence/no-such-proof/verify").status_code == 404


def test_a_pending_proof_is_not_called_verified(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    with transaction(Components.of(app).sessions) as session:
        parties = [add_party(session, tenant.tenant_id, f"p{k}") for k in range(3)]
        evidence_id = add_proof(session, tenant.tenant_id, parties, signed=2).id
    body = client.get(f"/v1/evidence/{evidence_id}/verify").json()
    assert body["verified"] is False and body["status"] == "pending_signatures"
    assert [p["signed"] for p in body["parties"]] == [True, True, False]


def test_a_document_finds_its_proofs_by_upload_or_digest_and_others_find_none(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    evidence_id = _anchored_proof(app, tenant, sha256=SHA256)
    by_digest = client.post("/v1/evidence/verify", json={"sha256": SHA256.upper()})
    assert by_digest.status_code == 200, by_digest.text
    assert [m["evidence_id"] for m in by_digest.json()["matches"]] == [evidence_id]
    upload = client.post(
        "/v1/evidence/verify", files={"document": ("contract.txt", DOCUMENT, "text/plain")}
    )
    assert upload.status_code == 200, upload.text
    assert upload.json()["digests"]["sha256"] == SHA256
    assert [m["verified"] for m in upload.json()["matches"]] == [True]
    changed = DOCUMENT[:-1] + b"8"
    other = client.post(
        "/v1/evidence/verify", files={"document": ("contract.txt", changed, "text/plain")}
    )
    assert other.status_code == 200 and other.json()["matches"] == []


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"md5": "00" * 16},
        {"sha256": "xyz"},
        {"sha256": 7},
        {"sm3": "00" * 31},
        [SHA256],
    ],
)
def test_bad_verification_requests_are_clear_4xx_and_change_nothing(
    app: FastAPI, client: TestClient, tenant: TenantKeys, body: object
) -> None:
    def log_size() -> int:
        with transaction(Components.of(app).sessions) as session:
            return int(session.scalar(select(func.count()).select_from(AuditEntry)))

    before = log_size()
    answer = client.post("/v1/evidence/verify", json=body)
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    no_part = client.post("/v1/evidence/verify", files={"other": ("x", b"x", "text/plain")})
    assert no_part.status_code in (400, 422)
    assert log_size() == before


def test_public_checks_are_rate_limited_per_client(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    strict = replace(
        Components.of(app).evidence_proofs, public_requests=TokenBuckets(rate=0.01, burst=2)
    )
    app.dependency_overrides[get_evidence_proofs] = lambda: strict
    codes = [client.post("/v1/evidence/verify", json={"sha256": SHA256}) for _ in range(3)]
    assert [c.status_code for c in codes] == [200, 200, 429]
    assert int(codes[2].headers["Retry-After"]) >= 1
    app.dependency_overrides.clear()


def test_a_public_check_costs_one_request_per_certificate_verified_afresh(
    app: FastAPI, client: TestClient, tenant: TenantKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(4):
        _anchored_proof(app, tenant, sha256=SHA256)
    checked: list[bytes] = []

    def counting(certificate: bytes, **options: object) -> object:
        checked.append(certificate)
        return verify_certificate(certificate, **options)  # type: ignore[arg-type]

    monkeypatch.setattr("trace_api.evidence.verification.verify_certificate", counting)
    budget = replace(
        Components.of(app).evidence_proofs, public_requests=TokenBuckets(rate=0.001, burst=5)
    )
    app.dependency_overrides[get_evidence_proofs] = lambda: budget
    first = client.post("/v1/evidence/verify", json={"sha256": SHA256})
    assert first.status_code == 200, first.text
    assert [m["verified"] for m in first.json()["matches"]] == [True] * 4
    assert len(checked) == 4  # the request and three more checks: 4 of the 5 tokens
    again = client.post("/v1/evidence/verify", json={"sha256": SHA256})
    assert again.status_code == 200 and again.json()["matches"] == first.json()["matches"]
    assert len(checked) == 4  # the same certificates: their verdicts were kept, 1 token
    refused = client.post("/v1/evidence/verify", json={"sha256": SHA256})
    assert refused.status_code == 429
    app.dependency_overrides.clear()


def test_a_check_needing_more_than_the_budget_left_is_429_before_any_is_verified(
    app: FastAPI, client: TestClient, tenant: TenantKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(4):
        _anchored_proof(app, tenant, sha256=SHA256)
    checked: list[bytes] = []
    monkeypatch.setattr(
        "trace_api.evidence.verification.verify_certificate",
        lambda certificate, **options: checked.append(certificate),
    )
    budget = replace(
        Components.of(app).evidence_proofs, public_requests=TokenBuckets(rate=0.001, burst=3)
    )
    app.dependency_overrides[get_evidence_proofs] = lambda: budget
    refused = client.post("/v1/evidence/verify", json={"sha256": SHA256})
    assert refused.status_code == 429, refused.text
    assert int(refused.headers["Retry-After"]) >= 1
    assert checked == []
    app.dependency_overrides.clear()
