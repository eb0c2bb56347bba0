"""The application's long-lived parts, in one typed container, and the routes' way to them.

`trace_api/app.py` builds one `Components` per app and keeps it on ``app.state``; routes
never read ``app.state`` themselves but take the part they need as a typed dependency
(``resolver: ResolverDep``), so a test swaps a part with ``app.dependency_overrides``
instead of mutating the live app. Code outside a route's dependencies (the lifespan,
middleware, ``/healthz``, tests that drive the real parts) reads ``Components.of(app)``.

The getters are ``async``: reading a part then costs no threadpool hop, which matters to
the resolver's routes, run on the event loop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette

from crypto import sm2
from trace_api.anchoring.gateway import ChainGateway
from trace_api.anchoring.worker import AnchorWorker
from trace_api.audit.exports import ExportRunner
from trace_api.audit.integrity import LogIntegrity
from trace_api.audit.reverify import LogReverifier
from trace_api.audit.scheduler import Checkpointer
from trace_api.audit.trees import LogTrees
from trace_api.codes.jobs import IssueRunner
from trace_api.epcis.stored import OnStored
from trace_api.epcis.webhooks import WebhookDeliverer
from trace_api.evidence.batches import EvidenceBatcher
from trace_api.evidence.verification import EvidenceProofs
from trace_api.invoices.batches import InvoiceBatcher
from trace_api.invoices.proofs import InvoiceProofs
from trace_api.ratelimit import TokenBuckets
from trace_api.resolver.service import Resolver
from trace_api.settings import Settings

_Part = TypeVar("_Part")


@dataclass(frozen=True, kw_only=True)
class Components:
    """Every part the app holds for its lifetime; built once, in `trace_api.app.create_app`."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    master_key: bytes
    master_key_source: str  # where the master key came from (for `trace serve` to say)
    signing_key: sm2.PrivateKey  # signs the audit log's checkpoints and exports
    signing_key_source: str
    auth_failures: TokenBuckets  # wrong API keys, per client (trace_api/deps.py)
    media_requests: TokenBuckets  # image requests, per client (trace_api/media/routes.py)
    log_trees: LogTrees
    log_integrity: LogIntegrity
    log_reverifier: LogReverifier
    checkpointer: Checkpointer
    exports: ExportRunner
    gateway: ChainGateway
    worker: AnchorWorker
    code_issuer: IssueRunner
    resolver: Resolver
    epcis_webhooks: WebhookDeliverer
    epcis_on_stored: OnStored  # what capture calls for the events it stores
    evidence_batcher: EvidenceBatcher  # complete contract proofs into anchored batches
    evidence_proofs: EvidenceProofs  # certificates and the public verification
    invoice_batcher: InvoiceBatcher  # issued invoices into anchored batches
    invoice_proofs: InvoiceProofs  # invoices' proofs and the public check

    @staticmethod
    def of(app: Starlette) -> Components:
        """The parts of ``app``, as `create_app` set them."""
        components: Components = app.state.components
        return components


def _part(read: Callable[[Components], _Part]) -> Callable[[Request], Awaitable[_Part]]:
    """A dependency giving one part of the app (each its own function, to override)."""

    async def part(request: Request) -> _Part:
        return read(Components.of(request.app))

    return part


get_sessions = _part(lambda parts: parts.sessions)
get_engine = _part(lambda parts: parts.engine)
get_master_key = _part(lambda parts: parts.master_key)
get_signing_key = _part(lambda parts: parts.signing_key)
get_auth_failures = _part(lambda parts: parts.auth_failures)
get_media_requests = _part(lambda parts: parts.media_requests)
get_log_trees = _part(lambda parts: parts.log_trees)
get_log_integrity = _part(lambda parts: parts.log_integrity)
get_exports = _part(lambda parts: parts.exports)
get_code_issuer = _part(lambda parts: parts.code_issuer)
get_resolver = _part(lambda parts: parts.resolver)
get_on_stored = _part(lambda parts: parts.epcis_on_stored)
get_evidence_proofs = _part(lambda parts: parts.evidence_proofs)
get_invoice_proofs = _part(lambda parts: parts.invoice_proofs)

SessionsDep = Annotated[sessionmaker[Session], Depends(get_sessions)]
"""The session factory, for work that outlives the request's own session (streams, jobs)."""
EngineDep = Annotated[Engine, Depends(get_engine)]
MasterKeyDep = Annotated[bytes, Depends(get_master_key)]
SigningKeyDep = Annotated[sm2.PrivateKey, Depends(get_signing_key)]
AuthFailuresDep = Annotated[TokenBuckets, Depends(get_auth_failures)]
MediaRequestsDep = Annotated[TokenBuckets, Depends(get_media_requests)]
LogTreesDep = Annotated[LogTrees, Depends(get_log_trees)]
LogIntegrityDep = Annotated[LogIntegrity, Depends(get_log_integrity)]
ExportsDep = Annotated[ExportRunner, Depends(get_exports)]
CodeIssuerDep = Annotated[IssueRunner, Depends(get_code_issuer)]
ResolverDep = Annotated[Resolver, Depends(get_resolver)]
OnStoredDep = Annotated[OnStored, Depends(get_on_stored)]
EvidenceProofsDep = Annotated[EvidenceProofs, Depends(get_evidence_proofs)]
InvoiceProofsDep = Annotated[InvoiceProofs, Depends(get_invoice_proofs)]
