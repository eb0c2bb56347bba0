"""The application factory."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import eth  # noqa: F401  (py-evm and py-ecc raise the recursion limit at import:
import py_ecc  # noqa: F401  import both before it is set back, below)
from fastapi import APIRouter, FastAPI
from sqlalchemy import Engine

from trace_api import __version__
from trace_api.alerts.routes import router as alerts_router
from trace_api.anchoring.gateway import ChainGateway
from trace_api.anchoring.routes import router as anchoring_router
from trace_api.anchoring.worker import AnchorWorker
from trace_api.api_docs import install_api_docs
from trace_api.audit.exports import ExportRunner
from trace_api.audit.integrity import LogIntegrity, watch_appends
from trace_api.audit.reverify import LogReverifier
from trace_api.audit.routes import router as audit_router
from trace_api.audit.scheduler import Checkpointer
from trace_api.audit.trees import LogTrees
from trace_api.body_guard import RequestBodyGuard
from trace_api.branding.routes import router as branding_router
from trace_api.channels.routes import router as channels_router
from trace_api.codes.jobs import IssueRunner
from trace_api.codes.routes import router as codes_router
from trace_api.components import Components
from trace_api.db import create_db_engine, migrate, session_factory
from trace_api.epcis.query_routes import parties_router as epcis_parties_router
from trace_api.epcis.query_routes import router as epcis_queries_router
from trace_api.epcis.routes import router as epcis_router
from trace_api.epcis.webhooks import WebhookDeliverer
from trace_api.evidence.batches import BATCH_INTERVAL, EvidenceBatcher
from trace_api.evidence.certificates import BatchTrees
from trace_api.evidence.proof_routes import router as evidence_proof_router
from trace_api.evidence.routes import router as evidence_router
from trace_api.evidence.verification import EvidenceProofs
from trace_api.health import router as health_router
from trace_api.invoices.batches import InvoiceBatcher
from trace_api.invoices.proof_routes import router as invoice_proofs_router
from trace_api.invoices.proofs import new_invoice_proofs
from trace_api.invoices.routes import router as invoices_router
from trace_api.json_input import restore_recursion_limit
from trace_api.keystore import load_master_key, load_signing_key
from trace_api.media.routes import router as media_router
from trace_api.movements import engine as movements_engine
from trace_api.movements.routes import router as movements_router
from trace_api.problems import RefuseNul, install_problem_handlers
from trace_api.ratelimit import TokenBuckets
from trace_api.resolver.fastlane import ResolverFastLane
from trace_api.resolver.routes import router as resolver_router
from trace_api.resolver.seals import ScanSealer
from trace_api.resolver.service import Resolver
from trace_api.settings import Settings, get_settings
from trace_api.tenancy.routes import router as tenancy_router

_log = logging.getLogger(__name__)
restore_recursion_limit()


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    """A ready app: settings checked, schema migrated, master key loaded, routes mounted."""
    settings = settings or get_settings()
    settings.check_production_safety()
    engine = engine or create_db_engine(settings.resolved_database_url)
    migrate(engine)
    components = build_components(settings, engine)
    app = FastAPI(
        title="tracechain",
        version=__version__,
        description="Blockchain-backed traceability and compliance: per-item codes, "
        "custody events, anti-diversion, contract proofs, e-invoices, audit trails.",
        lifespan=_lifespan,
        docs_url=None,  # served by install_api_docs, without a CDN
        redoc_url=None,
    )
    app.state.components = components
    install_problem_handlers(app)
    app.add_middleware(ResolverFastLane)
    app.add_middleware(RefuseNul)
    app.add_middleware(RequestBodyGuard, settings=settings)  # added last: runs first
    install_api_docs(app)
    for router in ROUTERS:
        app.include_router(router)
    return app


ROUTERS: tuple[APIRouter, ...] = (  # mounted in this order (it decides the API document's)
    health_router,
    tenancy_router,
    anchoring_router,
    audit_router,
    codes_router,
    branding_router,
    media_router,
    resolver_router,
    epcis_router,
    epcis_queries_router,
    epcis_parties_router,
    channels_router,
    movements_router,
    alerts_router,
    evidence_router,  # its parties' routes first: /v1/evidence/parties is no proof's id
    evidence_proof_router,
    invoices_router,
    invoice_proofs_router,
)


def build_components(settings: Settings, engine: Engine) -> Components:
    """Every long-lived part of the app, wired to each other (trace_api/components.py)."""
    master_key, master_key_source = load_master_key(settings)
    signing_key, signing_key_source = load_signing_key(settings)
    sessions = session_factory(engine)
    trees = LogTrees()
    gateway = ChainGateway(settings, sessions)
    integrity = LogIntegrity()
    watch_appends(sessions, integrity)
    return Components(
        settings=settings,
        engine=engine,
        sessions=sessions,
        master_key=master_key,
        master_key_source=master_key_source,
        signing_key=signing_key,
        signing_key_source=signing_key_source,
        auth_failures=TokenBuckets(settings.auth_failure_rate, settings.auth_failure_burst),
        media_requests=TokenBuckets(settings.resolver_rate, settings.resolver_burst),
        log_trees=trees,
        log_integrity=integrity,
        log_reverifier=LogReverifier(
            sessions=sessions,
            integrity=integrity,
            public_key=signing_key.public_key,
            chunk=settings.audit_verify_chunk,
        ),
        checkpointer=Checkpointer(
            sessions=sessions, signing_key=signing_key, trees=trees, integrity=integrity
        ),
        exports=ExportRunner(
            sessions=sessions,
            signing_key=signing_key,
            trees=trees,
            directory=settings.data_dir / "exports",
            integrity=integrity,
        ),
        gateway=gateway,
        worker=AnchorWorker(
            sessions=sessions, gateway=gateway, confirmations=settings.chain_confirmations
        ),
        code_issuer=IssueRunner(
            sessions=sessions,
            master_key=master_key,
            workers=settings.codes_issue_workers,
            directory=settings.data_dir / "issuances",
        ),
        resolver=Resolver(settings=settings, master_key=master_key, gateway=gateway),
        epcis_webhooks=WebhookDeliverer(sessions=sessions, settings=settings),
        epcis_on_stored=movements_engine.on_stored,  # goods move as events land
        evidence_batcher=EvidenceBatcher(sessions=sessions),
        invoice_batcher=InvoiceBatcher(sessions=sessions),
        invoice_proofs=new_invoice_proofs(settings.resolver_rate, settings.resolver_burst),
        evidence_proofs=EvidenceProofs(
            trees=BatchTrees(),
            public_requests=TokenBuckets(settings.resolver_rate, settings.resolver_burst),
            public_base_url=settings.public_base_url,
        ),
    )


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    parts = Components.of(app)
    settings = parts.settings
    stop = threading.Event()
    threads = []
    if settings.worker_in_process:
        interval = settings.checkpoint_interval
        threads = [
            threading.Thread(target=parts.worker.run_forever, args=(stop,), name="anchor-worker"),
            threading.Thread(
                target=parts.checkpointer.run_forever, args=(stop, interval), name="checkpointer"
            ),
            threading.Thread(  # scan records into the log, which the checkpoints sign
                target=ScanSealer(sessions=parts.sessions).run_forever,
                args=(stop, interval),
                name="scan-sealer",
            ),
            threading.Thread(
                target=parts.log_reverifier.run_forever,
                args=(stop, settings.audit_verify_interval),
                name="audit-reverifier",
            ),
            threading.Thread(
                target=parts.epcis_webhooks.run_forever, args=(stop,), name="epcis-webhooks"
            ),
            threading.Thread(
                target=parts.evidence_batcher.run_forever,
                args=(stop, BATCH_INTERVAL),
                name="evidence-batcher",
            ),
            threading.Thread(
                target=parts.invoice_batcher.run_forever,
                args=(stop, BATCH_INTERVAL),
                name="invoice-batcher",
            ),
        ]
        for thread in threads:
            thread.daemon = True
            thread.start()
    parts.code_issuer.resume()  # jobs a previous process left unfinished
    try:
        yield
    finally:
        stop.set()
        parts.code_issuer.shutdown()  # the running job stops at its next chunk
        for thread in threads:
            thread.join(timeout=30)
        parts.exports.shutdown()
        parts.epcis_webhooks.close()
        parts.gateway.close()
