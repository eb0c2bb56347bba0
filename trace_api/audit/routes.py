"""HTTP routes of the audit log: checkpoints, witnesses and exports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Path, Response, status
from fastapi.responses import FileResponse

from trace_api.audit import exports as exports_service
from trace_api.audit import proofs as proof_service
from trace_api.audit import witnesses as witness_service
from trace_api.audit.checkpoints import create_checkpoint
from trace_api.audit.export import ExportFilters
from trace_api.audit.schemas import (
    CheckpointOut,
    CosignatureIn,
    ExportOut,
    ExportRequest,
    IntegrityFindingOut,
    IntegrityOut,
    LogWalkOut,
    ReverifierOut,
    WitnessCreate,
    WitnessOut,
)
from trace_api.components import ExportsDep, LogIntegrityDep, LogTreesDep, SigningKeyDep
from trace_api.deps import SessionDep
from trace_api.errors import Conflict, InvalidInput
from trace_api.models import (
    AuditCheckpoint,
    AuditWitness,
)
from trace_api.roles import AdminOnly, AnyRole, Auditors, custody_view

router = APIRouter(prefix="/v1/audit", tags=["audit"])


def _checkpoint_out(session: SessionDep, record: AuditCheckpoint) -> CheckpointOut:
    return CheckpointOut(
        size=record.size,
        root=record.root,
        issued_at=record.issued_at,
        body=record.body.decode(),
        signature=record.signature.hex(),
        anchor=proof_service.checkpoint_anchor(session, record),
        cosigners=witness_service.cosigners(session=session, checkpoint_id=record.id),
    )


@router.post("/checkpoints", response_model=CheckpointOut)
def checkpoint_now(
    principal: Auditors,
    session: SessionDep,
    response: Response,
    signing_key: SigningKeyDep,
    trees: LogTreesDep,
    integrity: LogIntegrityDep,
) -> CheckpointOut:
    result = create_checkpoint(
        session=session,
        tenant_id=principal.tenant_id,
        signing_key=signing_key,
        trees=trees,
        integrity=integrity,
    )
    if result is None:
        raise Conflict("the log is empty: nothing to checkpoint")
    response.status_code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
    return _checkpoint_out(session, result.checkpoint)


@router.get("/integrity", response_model=IntegrityOut)
def log_integrity(principal: Auditors, integrity: LogIntegrityDep) -> IntegrityOut:
    """What this process found wrong with the stored log, and how far its re-verifier got.

    Findings live in the service's memory, not the database, so no database writer can
    clear them; a restart forgets them and the first pass finds again what is still wrong.
    """
    tenant_id = principal.tenant_id
    findings = integrity.findings(tenant_id)
    walk = integrity.last_walk(tenant_id)
    status = integrity.status
    return IntegrityOut(
        ok=not findings,
        findings=[
            IntegrityFindingOut(
                where=f.where,
                reason=f.reason,
                seq=f.seq,
                checkpoint=f.checkpoint,
                found_at=f.found_at,
            )
            for f in findings
        ],
        findings_truncated=integrity.truncated(tenant_id),
        high_water_mark=integrity.high_water_mark(tenant_id),
        last_full_walk=LogWalkOut(
            entries=walk.entries, checkpoints=walk.checkpoints, finished_at=walk.finished_at
        )
        if walk
        else None,
        reverifier=ReverifierOut(
            running=status.running,
            interval=status.interval,
            chunk=status.chunk,
            passes=status.passes,
            last_pass_finished_at=status.last_pass_finished_at,
            last_pass_seconds=status.last_pass_seconds,
            current_pass_started_at=status.current_pass_started_at,
        ),
    )


@router.get("/checkpoints", response_model=list[CheckpointOut])
def list_checkpoints(principal: Auditors, session: SessionDep) -> list[CheckpointOut]:
    records = witness_service.list_checkpoints(session=session, tenant_id=principal.tenant_id)
    return [_checkpoint_out(session, r) for r in records]


@router.get("/checkpoints/{size}", response_model=CheckpointOut)
def get_checkpoint(size: int, principal: Auditors, session: SessionDep) -> CheckpointOut:
    record = witness_service.get_checkpoint(
        session=session, tenant_id=principal.tenant_id, size=size
    )
    return _checkpoint_out(session, record)


@router.post(
    "/checkpoints/{size}/cosignatures",
    response_model=CheckpointOut,
    status_code=status.HTTP_201_CREATED,
)
def cosign_checkpoint(
    size: int, body: CosignatureIn, principal: Auditors, session: SessionDep
) -> CheckpointOut:
    witness_service.add_cosignature(
        session=session,
        tenant_id=principal.tenant_id,
        size=size,
        witness_id=body.witness_id,
        signature=_hex(body.signature),
    )
    record = witness_service.get_checkpoint(
        session=session, tenant_id=principal.tenant_id, size=size
    )
    return _checkpoint_out(session, record)


@router.get("/entries/{seq}/proof")
def entry_proof(
    seq: Annotated[int, Path(ge=0, le=2**63 - 1)],
    principal: AnyRole,
    session: SessionDep,
    trees: LogTreesDep,
    signing_key: SigningKeyDep,
) -> dict[str, object]:
    """The entry's RFC 9162 inclusion proof in the latest signed checkpoint (proofs.py).

    A dealer gets proofs only of entries of its organisation and of the captures of EPCIS
    events about items that are or were in its custody; others are not found.
    """
    return proof_service.entry_proof(
        session=session,
        tenant_id=principal.tenant_id,
        seq=seq,
        trees=trees,
        signing_key=signing_key.public_key,
        custody_of=custody_view(principal),
    )


@router.post("/witnesses", response_model=WitnessOut, status_code=status.HTTP_201_CREATED)
def register_witness(body: WitnessCreate, admin: AdminOnly, session: SessionDep) -> WitnessOut:
    record = witness_service.register_witness(
        session=session,
        tenant_id=admin.tenant_id,
        name=body.name,
        public_key=_hex(body.public_key),
        pop=_hex(body.proof_of_possession),
        actor=admin.key_id,
    )
    return _witness_out(record)


@router.get("/witnesses", response_model=list[WitnessOut])
def list_witnesses(principal: Auditors, session: SessionDep) -> list[WitnessOut]:
    records = witness_service.list_witnesses(session=session, tenant_id=principal.tenant_id)
    return [_witness_out(r) for r in records]


@router.post("/exports", response_model=ExportOut, status_code=status.HTTP_202_ACCEPTED)
def start_export(
    body: ExportRequest,
    principal: Auditors,
    session: SessionDep,
    response: Response,
    background: BackgroundTasks,
    runner: ExportsDep,
) -> ExportOut:
    filters = ExportFilters(**body.model_dump())
    record = runner.start(
        session=session,
        tenant_id=principal.tenant_id,
        requested_by=principal.key_id,
        filters=filters,
    )
    # The job must see its row: it starts after the answer, once the request has committed.
    background.add_task(runner.launch, record.id, principal.tenant_id, filters)
    response.headers["Location"] = f"/v1/audit/exports/{record.id}"
    return ExportOut.model_validate(record)


@router.get("/exports/{export_id}", response_model=ExportOut)
def get_export(export_id: str, principal: Auditors, session: SessionDep) -> ExportOut:
    record = exports_service.get_export(
        session=session, tenant_id=principal.tenant_id, export_id=export_id
    )
    out = ExportOut.model_validate(record)
    if record.status == "done":
        out.download = f"/v1/audit/exports/{record.id}/bundle"
    return out


@router.get("/exports/{export_id}/bundle", response_class=FileResponse)
def download_export(
    export_id: str, principal: Auditors, session: SessionDep, runner: ExportsDep
) -> FileResponse:
    record = exports_service.get_export(
        session=session, tenant_id=principal.tenant_id, export_id=export_id
    )
    if record.status != "done":
        raise Conflict(f"export {export_id} is {record.status}, not done")
    path = runner.path_of(record)
    return FileResponse(
        path,
        media_type="application/zip",
        filename=f"audit-{record.created_at:%Y%m%dT%H%M%SZ}-{record.id[:8]}.zip",
    )


def _witness_out(record: AuditWitness) -> WitnessOut:
    return WitnessOut(
        id=record.id,
        name=record.name,
        public_key=record.public_key.hex(),
        created_at=record.created_at,
    )


def _hex(text: str) -> bytes:
    try:
        return bytes.fromhex(text.removeprefix("0x"))
    except ValueError as exc:
        raise InvalidInput("not hex") from exc
