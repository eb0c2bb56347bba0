"""Signatures arriving at once are taken one after the other: the proof completes once,
and a signature that loses the race to completion is refused rather than changing the
leaf of a proof already complete."""

from __future__ import annotations

import contextlib
import threading

from fastapi import FastAPI
from fastapi.testclient import TestClient
from submission_support import (
    Signer,
    add_signer,
    audit_data,
    proof_body,
    submit,
)

from compliance.evidence.statement import leaf_hash
from fixtures.app import TenantKeys
from trace_api.components import Components
from trace_api.db import transaction
from trace_api.errors import Conflict
from trace_api.evidence import service
from trace_api.evidence.certificates import read_statement
from trace_api.models import Evidence


def _sign_at_once(app: FastAPI, tenant: TenantKeys, proof: dict, signers: list[Signer]) -> list:
    """Each signer signs in a transaction of its own, which then waits for the other to get
    as far before it commits (were they not serialised, both would); what each raised."""
    sessions = Components.of(app).sessions
    both_signed = threading.Barrier(len(signers))
    outcomes: list[BaseException | None] = [None] * len(signers)

    def sign(n: int) -> None:
        try:
            with transaction(sessions) as session:
                service.sign(
                    session=session,
                    tenant_id=tenant.tenant_id,
                    evidence_id=proof["id"],
                    party_id=signers[n].party,
                    signature=signers[n].sign(proof["statement_text"]),
                    actor="test",
                )
                # Broken: the other transaction is waiting for this one's lock.
                with contextlib.suppress(threading.BrokenBarrierError):
                    both_signed.wait(timeout=2)
        except BaseException as exc:
            outcomes[n] = exc

    threads = [threading.Thread(target=sign, args=(n,)) for n in range(len(signers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return outcomes


def test_the_last_two_signatures_at_once_complete_the_proof_once(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    signers = [add_signer(client, tenant), add_signer(client, tenant)]
    proof = submit(client, tenant, proof_body(signers))
    assert _sign_at_once(app, tenant, proof, signers) == [None, None]
    with transaction(Components.of(app).sessions) as session:
        row = session.get(Evidence, proof["id"])
        assert row is not None and row.status == "complete"
    assert len(audit_data(app, tenant.tenant_id, "evidence.completed")) == 1


def test_an_optional_signature_racing_the_completing_one_never_changes_the_leaf(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    required, optional = add_signer(client, tenant), add_signer(client, tenant)
    body = proof_body([required])
    body["parties"].append({"party": optional.party, "required": False})
    proof = submit(client, tenant, body)
    outcomes = _sign_at_once(app, tenant, proof, [required, optional])
    assert outcomes[0] is None
    assert outcomes[1] is None or isinstance(outcomes[1], Conflict)
    assert len(audit_data(app, tenant.tenant_id, "evidence.completed")) == 1
    with transaction(Components.of(app).sessions) as session:
        row = session.get(Evidence, proof["id"])
        assert row is not None and row.leaf_hash is not None
        signatures = service.stored_signatures(session, [row.id]).get(row.id, [])
        assert len(signatures) == (2 if outcomes[1] is None else 1)
        assert bytes(row.leaf_hash) == leaf_hash(read_statement(row), signatures)
