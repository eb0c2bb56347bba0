"""HTTP routes: contract proofs, their signatures and documents, parties and their keys.

``POST /v1/evidence`` takes JSON (a proof of digests only) or multipart/form-data: a
``metadata`` part holding the same JSON, a ``document`` file part and, to keep the
document sealed, ``keep=true``. The body guard streams such an upload (it is never held
whole): Starlette spools the file part to disk past 1 MiB, and the service hashes and
seals it in one pass over that file. The brand's staff write; a dealer key reads the
proofs its organisation is a party to, signs for that party and manages its keys.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from compliance.evidence.statement import key_fingerprint
from trace_api.body_guard import media_type
from trace_api.components import MasterKeyDep, SessionsDep
from trace_api.deps import SessionDep, SettingsDep
from trace_api.errors import InvalidInput, PayloadTooLarge, ServiceError
from trace_api.evidence import documents, party_routes, search, service
from trace_api.evidence.schemas import (
    EvidenceDetail,
    EvidenceOut,
    EvidencePage,
    EvidenceSubmit,
    Kind,
    LinkType,
    ProofParty,
    ProofSignature,
    SignatureSubmit,
    Status,
)
from trace_api.instants import AwareInstant
from trace_api.json_input import JsonRefused, loads_strict
from trace_api.principal import Principal
from trace_api.roles import AnyRole, BrandStaff, custody_view
from trace_api.settings import Settings

router = APIRouter(prefix="/v1", tags=["evidence"])
router.include_router(party_routes.router)  # first: /evidence/parties is no proof's id


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """A model's JSON Schema with its ``$defs`` put in place: the route reads its body
    itself, so FastAPI lists none of these models among the document's components."""
    defs = schema.pop("$defs", {})

    def place(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return place(dict(defs[ref.removeprefix("#/$defs/")]))
            return {k: place(v) for k, v in node.items()}
        if isinstance(node, list):
            return [place(v) for v in node]
        return node

    return dict(place(schema))


_SUBMIT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": _inlined(EvidenceSubmit.model_json_schema())},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["metadata", "document"],
                    "properties": {
                        "metadata": {"type": "string", "description": "EvidenceSubmit as JSON"},
                        "document": {"type": "string", "format": "binary"},
                        "keep": {"type": "boolean", "description": "Keep the document sealed."},
                    },
                }
            },
        },
    }
}


class MalformedMetadata(ServiceError):
    status = 400
    slug = "malformed-json"
    title = "Malformed JSON"


class UnsupportedBody(ServiceError):
    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"


@router.post(
    "/evidence",
    status_code=201,
    response_model=EvidenceDetail,
    summary="Store a contract proof",
    openapi_extra=_SUBMIT_BODY,
    responses={413: {"description": "The document is over TRACE_EVIDENCE_MAX_BYTES"}},
)
async def submit_evidence(
    request: Request,
    response: Response,
    caller: BrandStaff,
    session: SessionDep,
    settings: SettingsDep,
    master_key: MasterKeyDep,
) -> EvidenceDetail:
    """JSON for a proof of digests; multipart for a proof of the document uploaded."""
    arguments: dict[str, Any] = {
        "session": session,
        "tenant_id": caller.tenant_id,
        "actor": caller.key_id,
        "master_key": master_key,
    }
    kind = media_type(request.headers.get("content-type", ""))
    if kind == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=2, max_part_size=settings.max_body_bytes)
        try:
            metadata, upload, keep = _parts(form, settings)
            row = await run_in_threadpool(
                service.submit, **arguments, request=metadata, document=upload.file, keep=keep
            )
        finally:
            await form.close()
    elif kind == "application/json":
        metadata = _metadata(await request.body(), settings, "body")
        row = await run_in_threadpool(service.submit, **arguments, request=metadata)
    else:
        raise UnsupportedBody("send application/json (digests) or multipart/form-data (a document)")
    response.headers["Location"] = f"/v1/evidence/{row.id}"
    view = await run_in_threadpool(search.views, session, [row])
    return _detail(view[0])


@router.get("/evidence", response_model=EvidencePage, summary="List and search proofs")
def list_evidence(
    caller: AnyRole,
    session: SessionDep,
    kind: Kind | None = None,
    party: Annotated[str | None, Query(max_length=36, description="A party id.")] = None,
    link_type: LinkType | None = None,
    link_id: Annotated[str | None, Query(max_length=1000)] = None,
    status: Status | None = None,
    created_from: Annotated[AwareInstant | None, Query(description="At or after.")] = None,
    created_to: Annotated[AwareInstant | None, Query(description="Before.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> EvidencePage:
    """The tenant's proofs, newest first (a dealer key: those its organisation is party to)."""
    if (link_type is None) != (link_id is None):
        raise InvalidInput("link_type and link_id go together")
    filters = search.EvidenceFilter(
        kind, party, link_type, link_id, status, created_from, created_to
    )
    found, next_cursor = search.list_proofs(
        session=session,
        tenant_id=caller.tenant_id,
        filters=filters,
        viewer_org=custody_view(caller),
        limit=limit,
        cursor=cursor,
    )
    return EvidencePage(evidence=[_out(v) for v in found], next_cursor=next_cursor)


@router.get("/evidence/{evidence_id}", response_model=EvidenceDetail, summary="One proof")
def get_evidence(evidence_id: str, caller: AnyRole, session: SessionDep) -> EvidenceDetail:
    """The proof with its statement, parties, signatures and status."""
    return _detail(_readable(session, caller, evidence_id))


@router.post(
    "/evidence/{evidence_id}/signatures",
    status_code=201,
    response_model=EvidenceDetail,
    summary="Add a party's signature",
)
def sign_evidence(
    evidence_id: str, body: SignatureSubmit, caller: AnyRole, session: SessionDep
) -> EvidenceDetail:
    """An SM2 signature (hex DER) over the proof's ``statement_text``, checked on arrival."""
    service.sign(
        session=session,
        tenant_id=caller.tenant_id,
        evidence_id=evidence_id,
        party_id=body.party,
        signature=body.signature,
        actor=caller.key_id,
        viewer_org=custody_view(caller),
    )
    return _detail(_readable(session, caller, evidence_id))


@router.get(
    "/evidence/{evidence_id}/document",
    response_class=StreamingResponse,
    summary="Download a proof's kept document",
    responses={
        200: {"content": {"application/octet-stream": {}}},
        410: {"description": "The data key that sealed it was shredded"},
    },
)
def get_document(
    evidence_id: str,
    caller: AnyRole,
    session: SessionDep,
    sessions: SessionsDep,
    master_key: MasterKeyDep,
) -> StreamingResponse:
    """The document as uploaded, streamed; 410 once its data key was shredded."""
    view = _readable(session, caller, evidence_id)
    chunks = documents.open_document(
        session=session, sessions=sessions, master_key=master_key, proof=view.row
    )
    headers = {
        "Content-Length": str(view.row.size),
        "Content-Disposition": f'attachment; filename="evidence-{evidence_id}"',
        "Cache-Control": "no-store",
    }
    if view.row.sha256:  # RFC 9530: what the bytes must hash to
        digest = base64.b64encode(bytes.fromhex(view.row.sha256)).decode()
        headers["Repr-Digest"] = f"sha-256=:{digest}:"
    return StreamingResponse(chunks, media_type="application/octet-stream", headers=headers)


def _readable(session: SessionDep, caller: Principal, evidence_id: str) -> search.ProofView:
    return search.get_proof(
        session=session,
        tenant_id=caller.tenant_id,
        evidence_id=evidence_id,
        viewer_org=custody_view(caller),
    )


def _metadata(raw: bytes, settings: Settings, where: str) -> EvidenceSubmit:
    try:
        value = loads_strict(raw, max_depth=settings.max_json_depth)
    except JsonRefused as exc:
        if exc.unstorable:
            raise InvalidInput(f"{where}: {exc.reason}") from None
        raise MalformedMetadata(f"{where}: {exc.reason}") from None
    try:
        return EvidenceSubmit.model_validate(value)
    except ValidationError as exc:
        errors = [{**e, "loc": (where, *e["loc"])} for e in exc.errors(include_context=False)]
        raise RequestValidationError(errors) from None


def _parts(form: FormData, settings: Settings) -> tuple[EvidenceSubmit, UploadFile, bool]:
    names = [name for name, _ in form.multi_items()]
    unknown = sorted(set(names) - {"metadata", "document", "keep"})
    if unknown or len(set(names)) != len(names):
        raise InvalidInput("the parts are metadata, document and keep, each at most once")
    metadata, upload, keep = form.get("metadata"), form.get("document"), form.get("keep", "false")
    if not isinstance(metadata, str):
        raise InvalidInput("the part 'metadata' holds the proof's JSON, as a form field")
    if not isinstance(upload, UploadFile):
        raise InvalidInput("upload the document as the file part 'document'")
    if keep not in ("true", "false"):
        raise InvalidInput("the part 'keep' is true or false")
    if upload.size is not None and upload.size > settings.evidence_max_bytes:
        raise PayloadTooLarge(
            f"the document is {upload.size} bytes; at most {settings.evidence_max_bytes}",
            limit=settings.evidence_max_bytes,
        )
    return _metadata(metadata.encode(), settings, "metadata"), upload, keep == "true"


def _out(view: search.ProofView) -> EvidenceOut:
    return EvidenceOut(**_fields(view))


def _detail(view: search.ProofView) -> EvidenceDetail:
    row = view.row
    return EvidenceDetail(
        **_fields(view),
        statement=view.statement.to_json(),
        statement_text=bytes(row.statement).decode(),
        signatures=[
            ProofSignature(
                party=s.party,
                key_fingerprint=key_fingerprint(s.public_key),
                signature=s.signature,
                signed_at=s.signed_at,
            )
            for s in view.signatures
        ],
        batch=row.batch_id,
        leaf_hash=bytes(row.leaf_hash).hex() if row.leaf_hash is not None else None,
    )


def _fields(view: search.ProofView) -> dict[str, Any]:
    row, statement = view.row, view.statement
    signed = {s.party for s in view.signatures}
    return {
        "id": row.id,
        "title": statement.title,
        "kind": statement.kind,
        "status": view.status,
        "digests": dict(statement.digests),
        "size": statement.size,
        "created_at": statement.created_at,
        "completed_at": row.completed_at,
        "parties": [
            ProofParty(
                party=p.ref,
                name=p.name,
                uscc=p.uscc,
                organisation_id=p.organisation,
                required=p.required,
                signed=p.ref in signed,
            )
            for p in statement.parties
        ],
        "links": [{"type": t, "id": i} for t, i in statement.links],
        "document_kept": row.document_chunks > 0,
    }
