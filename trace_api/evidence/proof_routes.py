"""Certificates and verification of contract proofs: keyed certificates, public checks.

``GET /v1/evidence/{id}/certificate`` (JSON) and ``/certificate.pdf`` are the tenant's;
``GET /v1/evidence/{id}/verify`` and ``POST /v1/evidence/verify`` are public and
rate-limited per client.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from compliance.evidence.certificate import certificate_bytes
from compliance.evidence.certificate_pdf import certificate_pdf
from compliance.evidence.verify import document_digests
from compliance.printing import CjkFontMissing
from trace_api.body_guard import media_type
from trace_api.components import EvidenceProofsDep
from trace_api.deps import SessionDep, SettingsDep
from trace_api.errors import (
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    ServiceError,
)
from trace_api.evidence.certificates import StoredProof, load_proof
from trace_api.evidence.verification import (
    EvidenceProofs,
    parse_digest,
    proofs_of_digests,
    public_answer,
    public_answers,
)
from trace_api.json_input import JsonRefused, loads_strict
from trace_api.principal import Principal
from trace_api.ratelimit import admit_client
from trace_api.roles import DEALER, AnyRole

router = APIRouter(tags=["evidence"])

_NO_STORE = {"Cache-Control": "no-store"}


def _readable(session: Session, principal: Principal, evidence_id: str) -> StoredProof:
    """The caller's tenant's proof; a dealer reads only proofs its organisation is party to."""
    proof = load_proof(session, evidence_id, principal.tenant_id)
    if principal.role == DEALER and not any(
        party.organisation == principal.organisation_id for party in proof.statement.parties
    ):
        raise NotFound(f"no contract proof {evidence_id!r}")
    return proof


@router.get("/v1/evidence/{evidence_id}/certificate", summary="A proof's certificate (JSON)")
def get_certificate(
    evidence_id: str, caller: AnyRole, session: SessionDep, proofs: EvidenceProofsDep
) -> Response:
    """The certificate: statement, signatures, inclusion proof and anchor (RFC 8785 JSON)."""
    document = proofs.certificate(session, _readable(session, caller, evidence_id))
    return Response(
        certificate_bytes(document),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="evidence-{evidence_id}.json"'},
    )


@router.get(
    "/v1/evidence/{evidence_id}/certificate.pdf",
    summary="A proof's certificate (PDF, Chinese and English)",
    response_class=Response,
)
def get_certificate_pdf(
    evidence_id: str, caller: AnyRole, session: SessionDep, proofs: EvidenceProofsDep
) -> Response:
    """The certificate as a printable PDF with a QR code to its public verification page."""
    document = proofs.certificate(session, _readable(session, caller, evidence_id))
    try:
        pdf = certificate_pdf(document)
    except CjkFontMissing as missing:
        raise CertificateFontMissing(str(missing)) from None
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="evidence-{evidence_id}.pdf"'},
    )


class CertificateFontMissing(ServiceError):
    """No font with Chinese glyphs is installed, so no PDF certificate can be printed."""

    status = 503
    slug = "certificate-font-missing"
    title = "No CJK font for certificates"


def _admit(request: Request, proofs: EvidenceProofs, checks: int = 1) -> None:
    admit_client(proofs.public_requests, request, "verification requests", checks)


@router.get("/v1/evidence/{evidence_id}/verify", summary="Check a proof (public)")
def verify_by_id(
    evidence_id: str, request: Request, session: SessionDep, proofs: EvidenceProofsDep
) -> Response:
    """Whether the proof checks out, who signed and when, its anchor, and its certificate.

    A browser (``Accept: text/html``) gets a page; everything else JSON."""
    _admit(request, proofs)
    proof = load_proof(session, evidence_id)
    answer = public_answer(proofs, proof, proofs.certificate(session, proof))
    accept = request.headers.get("accept", "")
    if "text/html" in accept and "application/json" not in accept:
        page = _templates().get_template("verify.html")
        html = page.render(a=answer, json_url=str(request.url.replace(query="")))
        return HTMLResponse(html, headers=_NO_STORE)
    return JSONResponse(answer, headers=_NO_STORE)


@router.post("/v1/evidence/verify", summary="Find the proofs of a document (public)")
async def verify_document(
    request: Request, session: SessionDep, settings: SettingsDep, proofs: EvidenceProofsDep
) -> JSONResponse:
    """Give a digest (``{"sm3": ...}`` or ``{"sha256": ...}``) or upload the document
    (multipart, part ``document``, up to TRACE_EVIDENCE_MAX_BYTES; hashed as it streams,
    never stored): the proofs that hold it, in any tenant, each checked; an empty
    ``matches`` when none does."""
    _admit(request, proofs)
    digests = await _digests_of(request, settings.evidence_max_bytes)
    answers = await run_in_threadpool(_answers, request, session, proofs, digests)
    return JSONResponse({"digests": digests, "matches": answers}, headers=_NO_STORE)


def _answers(
    request: Request, session: Session, proofs: EvidenceProofs, digests: dict[str, str]
) -> list[dict[str, Any]]:
    found = proofs_of_digests(session, digests)
    return public_answers(session, proofs, found, lambda checks: _admit(request, proofs, checks))


async def _digests_of(request: Request, max_document: int) -> dict[str, str]:
    if media_type(request.headers.get("content-type", "")) == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=1)
        try:
            upload = form.get("document")
            if not isinstance(upload, UploadFile):
                raise InvalidInput("upload the document as the multipart part 'document'")
            if upload.size is not None and upload.size > max_document:
                raise PayloadTooLarge(
                    f"the document is {upload.size} bytes; at most {max_document} (for a "
                    "larger one, send its digest)",
                    limit=max_document,
                )
            _, digests = await run_in_threadpool(document_digests, upload.file)
            return digests
        finally:
            await form.close()
    try:
        body = loads_strict(await request.body() or b"{}", max_depth=2)
    except JsonRefused as exc:
        raise InvalidInput(exc.reason) from None
    if not isinstance(body, dict) or not body or not set(body) <= {"sm3", "sha256"}:
        raise InvalidInput('give {"sm3": <hex>} and/or {"sha256": <hex>}, or upload the document')
    if not all(isinstance(v, str) for v in body.values()):
        raise InvalidInput("a digest is a string of 64 hex digits")
    return dict(parse_digest(name, value) for name, value in body.items())


@lru_cache(maxsize=1)
def _templates() -> Environment:
    return Environment(
        loader=FileSystemLoader(Path(__file__).with_name("templates")),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
