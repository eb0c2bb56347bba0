"""The ``trace`` command line."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console

from trace_api.db import create_db_engine, migrate, session_factory, transaction
from trace_api.errors import ServiceError, UnsafeSettings
from trace_api.keystore import load_master_key
from trace_api.settings import get_settings
from trace_api.tenancy import service as tenancy_service

app = typer.Typer(help="tracechain: traceability and compliance service.", no_args_is_help=True)
admin_app = typer.Typer(help="Tenant administration.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(admin_app, name="admin")
app.add_typer(db_app, name="db")
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
    from trace_api.demo import ensure_demo_tenant

    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    try:
        application = create_app(settings)
    except UnsafeSettings as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    base = f"http://{host}:{port}"
    console.print(f"[bold]tracechain[/bold] on {base}", soft_wrap=True)
    console.print(f"  database     {application.state.engine.url.render_as_string()}")
    console.print(f"  chain        {settings.chain_url}")
    console.print(f"  API docs     {base}/docs")
    console.print(f"  health       {base}/healthz")
    console.print(f"  master key   {application.state.master_key_source}")
    if demo:
        keys = ensure_demo_tenant(
            application.state.sessions, application.state.master_key, settings.data_dir
        )
        console.print("[bold]demo tenant 'demo'[/bold], API keys (Authorization: Bearer <key>):")
        for role, key in keys.items():
            typer.echo(f"  {role:<11} {key}")
        typer.echo(f"  try: curl -H 'Authorization: Bearer {keys['admin']}' {base}/v1/whoami")
    uvicorn.run(application, host=host, port=port, log_level=settings.log_level)


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
    """Run the anchoring worker (a JSON-RPC chain; the embedded one lives in `trace serve`)."""
    import signal
    import threading

    from trace_api.anchoring.gateway import ChainGateway
    from trace_api.anchoring.worker import AnchorWorker

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
    if once:
        report = anchor_worker.run_until_idle()
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
    typer.echo(f"anchoring worker started on {settings.chain_url}")
    sys.stdout.flush()
    anchor_worker.run_forever(stop, interval)


if __name__ == "__main__":
    app()
