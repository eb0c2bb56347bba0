"""Complete proofs are batched under one Merkle root, anchored once, and logged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from compliance.evidence.certificate import batch_subject, certificate_bytes
from compliance.evidence.verify import verify_certificate
from crypto.merkle import MerkleTree
from fixtures.app import TEST_MASTER_KEY
from fixtures.evidence import add_party, add_proof
from trace_api.anchoring.gateway import ChainGateway
from trace_api.anchoring.worker import AnchorWorker
from trace_api.audit import leaf_batches
from trace_api.audit import log as audit_log
from trace_api.db import migrate, session_factory, transaction
from trace_api.evidence import batches
from trace_api.evidence.batches import EvidenceBatcher
from trace_api.evidence.certificates import BatchTrees, certificate_document, load_proof
from trace_api.models import AnchorJob, AuditEntry, Evidence, EvidenceBatch
from trace_api.settings import Settings
from trace_api.tenancy import service as tenancy_service


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    migrate(engine)
    return session_factory(engine)


@pytest.fixture
def tenant_id(sessions: sessionmaker[Session]) -> str:
    with transaction(sessions) as session:
        tenant, _ = tenancy_service.create_tenant(
            session=session, master_key=bytes.fromhex(TEST_MASTER_KEY), name="acme"
        )
        return tenant.id


def _proofs(sessions: sessionmaker[Session], tenant_id: str, n: int, **kwargs) -> list[str]:
    with transaction(sessions) as session:
        parties = [add_party(session, tenant_id, f"p{k}") for k in range(2)]
        return [add_proof(session, tenant_id, parties, **kwargs).id for _ in range(n)]


def _kinds(session: Session, tenant_id: str, kind: str) -> list[dict]:
    bodies = session.scalars(select(AuditEntry.body).where(AuditEntry.tenant_id == tenant_id))
    entries = [json.loads(body) for body in bodies]
    return [e["data"] for e in entries if e["kind"] == kind]


def test_complete_proofs_are_batched_under_their_leaves_root_and_queued_once(
    sessions: sessionmaker[Session], tenant_id: str
) -> None:
    ids = _proofs(sessions, tenant_id, 5)
    pending = _proofs(sessions, tenant_id, 2, signed=1)
    report = EvidenceBatcher(sessions=sessions).run_once()
    assert (report.batches, report.proofs) == (1, 5)
    assert EvidenceBatcher(sessions=sessions).run_once().batches == 0
    with transaction(sessions) as session:
        batch = session.scalars(select(EvidenceBatch)).one()
        rows = {e.id: e for e in session.scalars(select(Evidence))}
        tree = MerkleTree.from_leaf_hashes(
            bytes(rows[i].leaf_hash) for i in sorted(ids, key=lambda i: rows[i].leaf_index)
        )
        assert batch.root == tree.root().hex() and batch.size == 5
        assert sorted(rows[i].leaf_index for i in ids) == list(range(5))
        assert all(rows[i].batch_id is None for i in pending)
        job = session.scalars(select(AnchorJob)).one()
        assert (job.kind, job.subject, job.root) == (
            "evidence",
            batch_subject(batch.id),
            "0x" + batch.root,
        )
        assert sorted(d["evidence_id"] for d in _kinds(session, tenant_id, "evidence.batched")) == (
            sorted(ids)
        )


def test_a_backlog_larger_than_a_batch_is_several_batches(
    sessions: sessionmaker[Session], tenant_id: str
) -> None:
    _proofs(sessions, tenant_id, 7)
    report = EvidenceBatcher(sessions=sessions, max_batch=3).run_once()
    assert (report.batches, report.proofs) == (3, 7)
    with transaction(sessions) as session:
        sizes = sorted(session.scalars(select(EvidenceBatch.size)))
        assert sizes == [1, 3, 3]
        assert session.scalar(select(func.count()).select_from(AnchorJob)) == 3


def test_a_pass_that_fails_midway_leaves_nothing_and_the_next_batches_once(
    sessions: sessionmaker[Session], tenant_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _proofs(sessions, tenant_id, 4)
    real_append = audit_log.append_many

    def crash(**kwargs):
        raise RuntimeError("the process dies after queueing the anchor job")

    monkeypatch.setattr(leaf_batches.audit_log, "append_many", crash)
    with pytest.raises(RuntimeError), transaction(sessions) as session:
        batches.batch_tenant(session=session, tenant_id=tenant_id)
    with transaction(sessions) as session:
        assert session.scalar(select(func.count()).select_from(EvidenceBatch)) == 0
        assert session.scalar(select(func.count()).select_from(AnchorJob)) == 0
        assert session.scalar(select(func.count()).where(Evidence.batch_id.is_not(None))) == 0
    monkeypatch.setattr(leaf_batches.audit_log, "append_many", real_append)
    assert EvidenceBatcher(sessions=sessions).run_once().proofs == 4
    with transaction(sessions) as session:
        assert session.scalar(select(func.count()).select_from(AnchorJob)) == 1


def test_anchored_batches_are_logged_once_and_their_certificates_verify(
    sessions: sessionmaker[Session], tenant_id: str, tmp_path: Path, db_url: str
) -> None:
    ids = _proofs(sessions, tenant_id, 3)
    batcher = EvidenceBatcher(sessions=sessions)
    batcher.run_once()
    settings = Settings(
        env="test",
        data_dir=tmp_path / "trace",
        database_url=db_url,
        master_key=SecretStr(TEST_MASTER_KEY),
        chain_url="embedded",
        worker_in_process=False,
    )
    gateway = ChainGateway(settings, sessions)
    try:
        with transaction(sessions) as session:
            proof = load_proof(session, ids[0], tenant_id)
            assert proof.status == "complete"
            document = certificate_document(
                session, proof, trees=BatchTrees(), public_base_url="https://trace.example"
            )
        assert document["proof"]["anchor"]["status"] == "pending"
        assert not verify_certificate(certificate_bytes(document)).ok  # not anchored yet
        AnchorWorker(sessions=sessions, gateway=gateway, confirmations=1).run_until_idle()
        assert batcher.run_once().anchored == 1
        assert batcher.run_once().anchored == 0
        with transaction(sessions) as session:
            assert len(_kinds(session, tenant_id, "evidence.anchored")) == 3
            for evidence_id in ids:
                proof = load_proof(session, evidence_id, tenant_id)
                assert proof.status == "anchored"
                document = certificate_document(
                    session, proof, trees=BatchTrees(), public_base_url="https://trace.example"
                )
                verdict = verify_certificate(certificate_bytes(document))
                assert verdict.ok, verdict.failures
                assert document["verify_url"] == (
                    f"https://trace.example/v1/evidence/{evidence_id}/verify"
                )
    finally:
        gateway.close()


def test_a_stored_statement_altered_after_signing_is_refused(
    sessions: sessionmaker[Session], tenant_id: str
) -> None:
    (evidence_id,) = _proofs(sessions, tenant_id, 1)
    with transaction(sessions) as session:
        row = session.get(Evidence, evidence_id)
        row.statement = bytes(row.statement).replace(b"Distribution", b"Distributiom")
    with transaction(sessions) as session:
        proof = load_proof(session, evidence_id, tenant_id)
        document = certificate_document(
            session, proof, trees=BatchTrees(), public_base_url="https://t.example"
        )
        assert not verify_certificate(certificate_bytes(document)).ok
