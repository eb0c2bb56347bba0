"""The ``trace`` command line."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn, Protocol

import typer
from rich.console import Console
from sqlalchemy import select
from sqlalchemy.orm import Session

from trace_api.db import create_db_engine, migrate, session_factory, transaction
from trace_api.errors import ServiceError, UnsafeSettings
from trace_api.json_input import restore_recursion_limit
from trace_api.keystore import load_master_key
from trace_api.models import Tenant
from trace_api.private_files import open_private
from trace_api.settings import get_settings
from trace_api.tenancy import service as tenancy_service

restore_recursion_limit()  # libraries imported above (py_ecc) raise it past what the C stack holds
app = typer.Typer(help="tracechain: traceability and compliance service.", no_args_is_help=True)
admin_app = typer.Typer(help="Tenant administration.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(admin_app, name="admin")
app.add_typer(db_app, name="db")
audit_app = typer.Typer(help="The tenant audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
codes_app = typer.Typer(help="Per-item codes: issue, verify proofs.", no_args_is_help=True)
app.add_typer(codes_app, name="codes")
console = Console()


@app.command()
def serve(
    demo: Annotated[bool, typer.Option(help="Set up and print a demo tenant.")] = False,
    host: Annotated[str | None, typer.Option(help="Default: TRACE_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Default: TRACE_PORT.")] = None,
) -> None:
    """Serve the API and pages."""
    import uvicorn

    from trace_api.app import create_app
    from trace_api.components import Components
    from trace_api.demo import ensure_demo_codes, ensure_demo_tenant

    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    if "public_base_url" not in settings.model_fields_set:  # labels point at this server
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
        settings = settings.model_copy(update={"public_base_url": f"http://{shown}:{port}"})
    try:
        application = create_app(settings)
    except UnsafeSettings as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    parts = Components.of(application)
    base = f"http://{host}:{port}"
    console.print(f"[bold]tracechain[/bold] on {base}", soft_wrap=True)
    console.print(f"  database     {parts.engine.url.render_as_string()}")
    console.print(f"  chain        {settings.chain_url}")
    console.print(f"  API docs     {base}/docs")
    console.print(f"  health       {base}/healthz")
    console.print(f"  master key   {parts.master_key_source}")
    if demo:
        keys = ensure_demo_tenant(parts.sessions, parts.master_key, settings.data_dir)
        console.print("[bold]demo tenant 'demo'[/bold], API keys (Authorization: Bearer <key>):")
        for role, key in keys.items():
            typer.echo(f"  {role:<11} {key}")
        typer.echo(f"  try: curl -H 'Authorization: Bearer {keys['admin']}' {base}/v1/whoami")
        pages = ensure_demo_codes(parts.sessions, parts.code_issuer, settings.public_base_url)
        typer.echo("demo scan pages (a consumer's view of three issued codes):")
        for page in pages:
            typer.echo(f"  {page}")
    trusted = [p.strip() for p in settings.trusted_proxies.split(",") if p.strip()]
    uvicorn.run(
        application,
        host=host,
        port=port,
        log_level=settings.log_level,
        # X-Forwarded-For and -Proto are believed from the listed proxies only.
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted or None,
    )


@admin_app.command("create-tenant")
def create_tenant(name: str) -> None:
    """Create a tenant and print its first admin API key (shown once)."""
    settings = get_settings()
    engine = create_db_engine(settings.resolved_database_url)
    migrate(engine)
    master_key, _ = load_master_key(settings)
    try:
        with transaction(session_factory(engine)) as session:
            tenant, admin = tenancy_service.create_tenant(
                session=session, master_key=master_key, name=name
            )
    except ServiceError as exc:
        console.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"tenant {tenant.name} ({tenant.id})")
    console.print("first admin API key (shown once, store it now):")
    typer.echo(admin.text)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the schema migrations."""
    settings = get_settings()
    migrate(create_db_engine(settings.resolved_database_url), revision)
    console.print(f"schema at {revision}")


@app.command()
def worker(
    once: Annotated[bool, typer.Option(help="Work until the queue is idle, then exit.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between quiet passes.")] = 1.0,
) -> None:
    """Run the anchoring worker and the batchers of contract proofs and invoices (a JSON-RPC
    chain; the embedded one lives in `trace serve`, which then runs them itself)."""
    import signal
    import threading

    from trace_api.anchoring.gateway import ChainGateway
    from trace_api.anchoring.worker import AnchorWorker
    from trace_api.audit.leaf_batches import BATCH_INTERVAL
    from trace_api.evidence.batches import EvidenceBatcher
    from trace_api.invoices.batches import InvoiceBatcher

    settings = get_settings()
    if settings.chain_url == "embedded":
        console.print(
            "[red]the embedded chain lives inside `trace serve`, which runs the worker "
            "itself; set TRACE_CHAIN_URL to run a separate worker[/red]"
        )
        raise typer.Exit(2)
    engine = create_db_engine(settings.resolved_database_url)
    migrate(engine)
    sessions = session_factory(engine)
    anchor_worker = AnchorWorker(
        sessions=sessions,
        gateway=ChainGateway(settings, sessions),
        confirmations=settings.chain_confirmations,
    )
    batchers = [EvidenceBatcher(sessions=sessions), InvoiceBatcher(sessions=sessions)]
    if once:
        for batcher in batchers:  # leaves waiting for a batch get one, and its anchor job
            batcher.run_once()
        report = anchor_worker.run_until_idle()
        for batcher in batchers:  # batches now confirmed are logged anchored
            batcher.run_once()
        console.print(
            f"submitted {report.submitted}, adopted {report.adopted}, confirmed "
            f"{report.confirmed}, requeued {report.requeued}, failed {report.failed}"
        )
        if report.errors:
            console.print(f"[red]chain error: {report.errors[-1]}[/red]")
            raise typer.Exit(1)
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    for batcher in batchers:
        threading.Thread(
            target=batcher.run_forever,
            args=(stop, BATCH_INTERVAL),
            name=f"{batcher.kind.anchor_kind}-batcher",
            daemon=True,
        ).start()
    typer.echo(f"anchoring worker started on {settings.chain_url}")
    sys.stdout.flush()
    anchor_worker.run_forever(stop, interval)


def _tenant_id(session: Session, name: str) -> str:
    tenant_id = session.scalar(select(Tenant.id).where((Tenant.name == name) | (Tenant.id == name)))
    if tenant_id is None:
        console.print(f"[red]no tenant named {name!r}[/red]")
        raise typer.Exit(2)
    return str(tenant_id)


@app.command("export-audit")
def export_audit(
    tenant: Annotated[str, typer.Option(help="Tenant name or id.")],
    out: Annotated[Path, typer.Option(help="Where to write the bundle (.zip).")],
    since: Annotated[datetime | None, typer.Option(help="Entries at or after (UTC).")] = None,
    until: Annotated[datetime | None, typer.Option(help="Entries before (UTC).")] = None,
    kind: Annotated[list[str] | None, typer.Option(help="Entry kinds (repeatable).")] = None,
    organisation: Annotated[str | None, typer.Option(help="Organisation id.")] = None,
    item: Annotated[str | None, typer.Option(help="Item, case or batch id.")] = None,
) -> None:
    """Export a tenant's audit bundle that anyone can verify offline."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from sqlalchemy import func

    from trace_api.audit.export import ExportFilters, entry_query, export_bundle
    from trace_api.audit.log import log_size
    from trace_api.audit.trees import LogTrees
    from trace_api.keystore import load_signing_key

    settings = get_settings()
    engine = create_db_engine(settings.resolved_database_url)
    migrate(engine)
    sessions = session_factory(engine)
    signing_key, _ = load_signing_key(settings)
    filters = ExportFilters(
        since=_utc(since),
        until=_utc(until),
        kinds=kind or [],
        organisation_id=organisation,
        item=item,
    )
    with transaction(sessions) as session:
        tenant_id = _tenant_id(session, tenant)
        size = log_size(session=session, tenant_id=tenant_id)
        query = entry_query(tenant_id, filters, size).order_by(None)
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    columns = (
        TextColumn("exporting"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"),
        TimeElapsedColumn(),
    )
    try:
        with (
            Progress(*columns, console=console) as progress,
            os.fdopen(open_private(out), "wb") as handle,
        ):
            task = progress.add_task("export", total=total)
            stats = export_bundle(
                sessions=sessions,
                tenant_id=tenant_id,
                filters=filters,
                signing_key=signing_key,
                trees=LogTrees(),
                out=handle,
                progress=lambda n: progress.update(task, completed=n),
            )
            progress.update(task, completed=stats.entries)
    except ServiceError as exc:
        out.unlink(missing_ok=True)
        console.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"wrote {out}: {stats.entries:,} entries")


VERIFY_EXIT_CODES = {"verified": 0, "not verified": 1, "untrusted": 3}


@app.command("verify-bundle")
def verify_bundle_command(
    bundle: Annotated[Path, typer.Argument(help="The audit bundle (.zip).")],
    rpc: Annotated[str | None, typer.Option(help="Check anchors on this chain (JSON-RPC).")] = None,
    contract: Annotated[
        str | None, typer.Option(help="The service's TraceAnchor address (with --rpc).")
    ] = None,
    key: Annotated[str | None, typer.Option(help="Expected SM2 public key (hex).")] = None,
    key_fingerprint: Annotated[
        str | None, typer.Option(help="Expected SM3 fingerprint of the SM2 key (hex).")
    ] = None,
    confirmations: Annotated[int, typer.Option(help="Confirmations an anchor needs.")] = 1,
) -> None:
    """Verify an audit bundle offline, and on chain with --rpc.

    Exit 0: verified against a trust root (--key, --key-fingerprint, or --rpc with
    --contract). Exit 1: not verified. Exit 3: internally consistent but UNTRUSTED, as
    no trust root was given: anyone with an SM2 key can make such a bundle.
    """
    from compliance.verify import verify_bundle

    if contract is not None and rpc is None:
        raise typer.BadParameter("--contract needs --rpc", param_hint="--contract")
    verdict = verify_bundle(
        bundle,
        rpc_url=rpc,
        min_confirmations=confirmations,
        expected_public_key=_hex_option(key, "--key"),
        expected_key_fingerprint=_hex_option(key_fingerprint, "--key-fingerprint"),
        expected_contract=contract,
    )
    typer.echo(verdict.describe())
    raise typer.Exit(VERIFY_EXIT_CODES[verdict.outcome])


def _hex_option(value: str | None, name: str) -> bytes | None:
    if value is None:
        return None
    try:
        return bytes.fromhex(value.removeprefix("0x"))
    except ValueError as exc:
        raise typer.BadParameter("not hex", param_hint=name) from exc


@app.command("verify-evidence")
def verify_evidence_command(
    certificate: Annotated[
        Path, typer.Argument(help="A contract-proof certificate (JSON).", dir_okay=False)
    ],
    document: Annotated[
        Path | None, typer.Option(help="The document it proves: its digests are checked.")
    ] = None,
    rpc: Annotated[
        str | None, typer.Option(help="Check the anchor on this chain (JSON-RPC).")
    ] = None,
    contract: Annotated[
        str | None, typer.Option(help="The service's TraceAnchor address (with --rpc).")
    ] = None,
    min_confirmations: Annotated[int, typer.Option(help="Confirmations the anchor needs.")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON.")] = False,
) -> None:
    """Verify a contract-proof certificate offline: digests, signatures, inclusion, anchor.

    Needs no server and no database. Exit 0 only when every check held; 1 when one did
    not (the first failure is named), 2 for a usage error.
    """

    from compliance.evidence.certificate import MAX_CERTIFICATE_BYTES
    from compliance.evidence.verify import verify_certificate

    data = _offline_input(certificate, MAX_CERTIFICATE_BYTES, "CERTIFICATE", rpc, contract)
    verdict = verify_certificate(
        data,
        document=document,
        rpc_url=rpc,
        expected_contract=contract,
        min_confirmations=min_confirmations,
    )
    _print_verdict(verdict, as_json=as_json)


def _offline_input(
    path: Path, limit: int, hint: str, rpc: str | None, contract: str | None
) -> bytes:
    """The file an offline check reads (one byte past ``limit`` is read, so the check can
    refuse it), after the options are checked."""
    if contract is not None and rpc is None:
        raise typer.BadParameter("--contract needs --rpc", param_hint="--contract")
    try:
        with path.open("rb") as handle:
            return handle.read(limit + 1)
    except OSError as exc:
        raise typer.BadParameter(f"cannot read it: {exc}", param_hint=hint) from exc


class _Verdict(Protocol):
    @property
    def ok(self) -> bool: ...
    def describe(self) -> str: ...
    def to_json(self) -> dict[str, Any]: ...


def _print_verdict(verdict: _Verdict, *, as_json: bool) -> NoReturn:
    """Print an offline verdict (headline in colour, or JSON) and exit 0 if it holds, else 1."""
    import json

    from rich.markup import escape

    if as_json:
        typer.echo(json.dumps(verdict.to_json(), ensure_ascii=False, indent=2))
    else:
        headline, _, rest = verdict.describe().partition("\n")
        colour = "green" if verdict.ok else "red"
        console.print(f"[bold {colour}]{escape(headline)}[/]", soft_wrap=True)
        console.print(escape(rest), soft_wrap=True, highlight=False)
    raise typer.Exit(0 if verdict.ok else 1)


@app.command("verify-invoice")
def verify_invoice_command(
    invoice: Annotated[Path, typer.Argument(help="An invoice's XML file.", dir_okay=False)],
    rpc: Annotated[
        str | None, typer.Option(help="Check the anchor on this chain (JSON-RPC).")
    ] = None,
    contract: Annotated[
        str | None, typer.Option(help="The service's TraceAnchor address (with --rpc).")
    ] = None,
    min_confirmations: Annotated[int, typer.Option(help="Confirmations the anchor needs.")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON.")] = False,
) -> None:
    """Verify an invoice's XML offline: its schema, every figure, its proof and anchor.

    Needs no server and no database. Exit 0 only when every check held; 1 when one did
    not (the first failure is named), 2 for a usage error.
    """

    from compliance.invoice.verify import verify_invoice
    from compliance.invoice.xml import MAX_XML_BYTES

    data = _offline_input(invoice, MAX_XML_BYTES, "INVOICE", rpc, contract)
    verdict = verify_invoice(
        data, rpc_url=rpc, expected_contract=contract, min_confirmations=min_confirmations
    )
    _print_verdict(verdict, as_json=as_json)


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Checkpoint every tenant whose log grew (signed, queued for anchoring)."""
    from trace_api.audit.scheduler import Checkpointer
    from trace_api.audit.trees import LogTrees
    from trace_api.keystore import load_signing_key

    settings = get_settings()
    engine = create_db_engine(settings.resolved_database_url)
    migrate(engine)
    signing_key, _ = load_signing_key(settings)
    checkpointer = Checkpointer(
        sessions=session_factory(engine), signing_key=signing_key, trees=LogTrees()
    )
    made = checkpointer.run_once()
    console.print(f"{made} checkpoint(s) made")
    for tenant_id, failure in checkpointer.integrity_failures.items():
        console.print(f"[red]tenant {tenant_id}: {failure}[/red]")
    if checkpointer.integrity_failures:
        raise typer.Exit(1)


@codes_app.command("issue")
def codes_issue(
    batch: Annotated[str, typer.Option(help="Batch id.")],
    count: Annotated[int, typer.Option(help="How many codes.", min=1)],
    pins: Annotated[bool, typer.Option(help="Also issue scratch-off PINs.")] = False,
    pins_out: Annotated[Path | None, typer.Option(help="Where to write the PINs (CSV).")] = None,
    workers: Annotated[int | None, typer.Option(help="Sealing processes.")] = None,
) -> None:
    """Issue a batch's codes with a progress bar (one transaction; anchored by the worker)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from trace_api.codes import service as codes_service
    from trace_api.codes.issuing import SealerPool, issue_codes
    from trace_api.codes.jobs import pins_csv
    from trace_api.models import Batch

    if pins and pins_out is None:
        console.print("[red]--pins needs --pins-out: PINs are shown once and kept as hashes[/red]")
        raise typer.Exit(2)
    settings = get_settings()
    engine = create_db_engine(settings.resolved_database_url)
    migrate(engine)
    master_key, _ = load_master_key(settings)
    sealers = SealerPool(settings.codes_issue_workers if workers is None else workers)
    columns = (
        TextColumn("issuing"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"),
        TimeElapsedColumn(),
    )
    try:
        with transaction(session_factory(engine)) as session:
            record = session.get(Batch, batch)
            if record is None:
                console.print(f"[red]no batch {batch}[/red]")
                raise typer.Exit(2)
            issuance = codes_service.start_issuance(
                session=session,
                tenant_id=record.tenant_id,
                batch_id=batch,
                count=count,
                with_pins=pins,
                allocation=None,
                max_count=settings.codes_max_per_issue,
                actor="cli",
            )
            keyring = tenancy_service.tenant_keyring(
                session=session, master_key=master_key, tenant_id=record.tenant_id
            )
            with Progress(*columns, console=console) as progress:
                task = progress.add_task("issue", total=count)
                result = issue_codes(
                    session=session,
                    issuance=issuance,
                    keyring=keyring,
                    pin_key=codes_service.pin_key(master_key),
                    sealers=sealers,
                    progress=lambda n: progress.update(task, completed=n),
                )
            if pins_out is not None and result.pins is not None:
                pins_out.write_text(pins_csv(result.pins))
                pins_out.chmod(0o600)
    except ServiceError as exc:
        console.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(1) from exc
    finally:
        sealers.close()
    console.print(f"issued {result.count:,} codes; batch root 0x{result.root.hex()}")


@codes_app.command("verify-proof")
def codes_verify_proof(
    proof: Annotated[Path, typer.Argument(help="A proof JSON from /v1/codes/{serial}/proof.")],
) -> None:
    """Check a code's inclusion proof offline with the crypto library alone."""
    import json

    from crypto.merkle import verify_inclusion

    document = json.loads(proof.read_text())
    try:
        ok = verify_inclusion(
            bytes.fromhex(document["leaf"]),
            int(document["index"]),
            int(document["tree_size"]),
            [bytes.fromhex(p) for p in document["path"]],
            bytes.fromhex(document["root"]),
            hash=document["hash"],
        )
    except (KeyError, TypeError, ValueError) as exc:
        typer.echo(f"not a proof: {exc}")
        raise typer.Exit(1) from exc
    anchor = document.get("anchor", {})
    where = f"anchor {anchor.get('anchor_id')} ({anchor.get('status')})"
    typer.echo(
        f"{'OK' if ok else 'FAILED'}: leaf {document['index']} of {document['tree_size']}, {where}"
    )
    raise typer.Exit(0 if ok else 1)


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


if __name__ == "__main__":
    app()
