"""Witnesses: registration with proof of possession, and their checkpoint cosignatures."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from compliance.witness import RegisteredWitness, verify_cosignatures, verify_witness_registration
from trace_api.audit import log as audit_log
from trace_api.errors import Conflict, InvalidInput, NotFound
from trace_api.models import AuditCheckpoint, AuditCosignature, AuditWitness
from trace_api.owned import get_owned


def register_witness(
    *, session: Session, tenant_id: str, name: str, public_key: bytes, pop: bytes, actor: str
) -> AuditWitness:
    """Register a witness key; its proof of possession must verify (no rogue keys)."""
    if not verify_witness_registration(public_key, pop):
        raise InvalidInput("the proof of possession does not verify for this public key")
    record = AuditWitness(
        tenant_id=tenant_id, name=name, public_key=public_key, proof_of_possession=pop
    )
    try:
        with session.begin_nested():
            session.add(record)
            session.flush()
    except IntegrityError as exc:
        raise Conflict("this witness key is registered already") from exc
    audit_log.append(
        session=session,
        tenant_id=tenant_id,
        kind="witness.registered",
        actor=actor,
        data={"witness_id": record.id, "name": name, "public_key": public_key.hex()},
    )
    return record


def list_witnesses(*, session: Session, tenant_id: str) -> list[AuditWitness]:
    return list(
        session.scalars(
            select(AuditWitness)
            .where(AuditWitness.tenant_id == tenant_id)
            .order_by(AuditWitness.created_at)
        )
    )


def get_checkpoint(*, session: Session, tenant_id: str, size: int) -> AuditCheckpoint:
    record = session.scalar(
        select(AuditCheckpoint).where(
            AuditCheckpoint.tenant_id == tenant_id, AuditCheckpoint.size == size
        )
    )
    if record is None:
        raise NotFound(f"no checkpoint of size {size}")
    return record


def add_cosignature(
    *, session: Session, tenant_id: str, size: int, witness_id: str, signature: bytes
) -> AuditCosignature:
    """Store a witness's signature over a checkpoint after checking it."""
    checkpoint = get_checkpoint(session=session, tenant_id=tenant_id, size=size)
    witness = get_owned(session, AuditWitness, witness_id, tenant_id=tenant_id, noun="witness")
    registered = RegisteredWitness(
        id=witness.id,
        name=witness.name,
        public_key=witness.public_key,
        pop=witness.proof_of_possession,
    )
    if not verify_cosignatures([registered], checkpoint.body, signature):
        raise InvalidInput("the signature does not verify for this witness and checkpoint")
    existing = session.get(AuditCosignature, (checkpoint.id, witness.id))
    if existing is not None:
        return existing
    record = AuditCosignature(
        checkpoint_id=checkpoint.id, witness_id=witness.id, signature=signature
    )
    session.add(record)
    session.flush()
    return record


def list_checkpoints(
    *, session: Session, tenant_id: str, limit: int = 100
) -> list[AuditCheckpoint]:
    """The tenant's newest checkpoints, largest first."""
    return list(
        session.scalars(
            select(AuditCheckpoint)
            .where(AuditCheckpoint.tenant_id == tenant_id)
            .order_by(AuditCheckpoint.size.desc())
            .limit(limit)
        )
    )


def cosigners(*, session: Session, checkpoint_id: int) -> list[str]:
    """The ids of the witnesses that cosigned a checkpoint, sorted."""
    return sorted(
        session.scalars(
            select(AuditCosignature.witness_id).where(
                AuditCosignature.checkpoint_id == checkpoint_id
            )
        )
    )
