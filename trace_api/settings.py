"""Service settings: one pydantic-settings class, prefix ``TRACE_``.

Every setting has a default that is safe for local use; ``TRACE_ENV=production``
refuses to start on a default that is only safe locally.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from trace_api.errors import UnsafeSettings


class Settings(BaseSettings):
    """All configuration of the service; read from ``TRACE_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="TRACE_", env_file=None, extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = Field(default=Path(".trace"), description="Local state: SQLite file, keys.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file in data_dir (WAL mode)."
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    public_base_url: str = Field(
        default="http://127.0.0.1:8000", description="Base of GS1 Digital Link URIs on labels."
    )
    master_key: SecretStr | None = Field(
        default=None,
        description="32 hex digits (SM4 key) wrapping tenant data keys; default: generated "
        "once into data_dir/master.key with 0600 permissions.",
    )
    signing_key: SecretStr | None = Field(
        default=None,
        description="64 hex digits: the SM2 private key that signs audit checkpoints and "
        "bundles; default: generated once into data_dir/signing.key with 0600 permissions.",
    )
    checkpoint_interval: float = Field(
        default=60.0, gt=0, description="Seconds between scheduled audit log checkpoints."
    )
    chain_url: str = Field(default="embedded", description="'embedded' or a JSON-RPC URL.")
    chain_private_key: SecretStr | None = Field(
        default=None, description="Hex key that signs anchor transactions; dev key if unset."
    )
    chain_contract: str | None = Field(
        default=None, description="TraceAnchor address to attach to; deployed when unset."
    )
    chain_confirmations: int = Field(default=1, ge=0, le=1000)
    worker_in_process: bool = Field(
        default=True, description="Run the anchoring worker inside `trace serve`."
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # -- codes, labels and the public resolver -------------------------------------------
    codes_sync_limit: int = Field(
        default=10_000,
        ge=1,
        description="Issue up to this many codes within the request; more run as a job.",
    )
    codes_max_per_issue: int = Field(
        default=5_000_000, ge=1, description="The most codes one batch may be issued."
    )
    codes_issue_workers: int = Field(
        default=2,
        ge=0,
        le=64,
        description="Worker processes that seal codes for issuance jobs (0: seal in-process).",
    )
    label_pdf_max: int = Field(
        default=500,
        ge=1,
        description="The most labels one PDF sheet holds; larger batches print from the CSV.",
    )
    resolver_rate: float = Field(
        default=5.0,
        gt=0,
        description="Public resolver and proof requests per second per client (token refill).",
    )
    resolver_burst: int = Field(
        default=30, ge=1, description="Public requests a client may make at once (bucket size)."
    )
    resolver_miss_rate: float = Field(
        default=0.05,
        gt=0,
        description="Lookups of unknown serials per second per client (0.05: one per 20 s).",
    )
    resolver_miss_burst: int = Field(
        default=10, ge=1, description="Unknown serials a client may look up before waiting."
    )
    scan_warn_count: int = Field(
        default=20, ge=1, description="Scans of one code beyond which the page warns of copies."
    )
    scan_max_speed_kmh: float = Field(
        default=900.0,
        gt=0,
        description="Fastest plausible travel between two scans of one item (km/h).",
    )
    pin_max_failures: int = Field(
        default=5,
        ge=1,
        description="Wrong PINs for one code before it backs off (never a permanent lock).",
    )
    pin_client_max_failures: int = Field(
        default=5, ge=1, description="Wrong PINs from one client before it backs off."
    )
    pin_backoff_seconds: float = Field(
        default=60.0,
        gt=0,
        description="First back-off after too many wrong PINs; doubles with each further "
        "failure, up to pin_backoff_max_seconds.",
    )
    pin_backoff_max_seconds: float = Field(
        default=3600.0, gt=0, description="Longest PIN back-off, for a code or a client."
    )
    proof_cache_leaves: int = Field(
        default=4_000_000,
        ge=0,
        description="Leaves of batch Merkle trees kept in memory to answer proofs.",
    )
    chain_head_cache_seconds: float = Field(
        default=2.0, ge=0, description="How long the resolver reuses the chain head it read."
    )

    # -- EPCIS repository ------------------------------------------------------------------
    epcis_capture_limit: int = Field(
        default=100_000,
        ge=1,
        description="Most events one capture document may hold (GS1-EPCIS-Capture-Limit).",
    )
    epcis_capture_file_size_limit: int = Field(
        default=64 * 1024 * 1024,
        ge=1024,
        description="Largest capture body in bytes (GS1-EPCIS-Capture-File-Size-Limit).",
    )
    epcis_capture_sync_limit: int = Field(
        default=2_000,
        ge=0,
        description="Capture documents up to this many events are stored before the 202 "
        "answer; larger ones are stored after it (poll the capture job).",
    )
    epcis_max_per_page: int = Field(
        default=1_000, ge=1, description="Upper bound of perPage on EPCIS query results."
    )
    epcis_webhook_timeout: float = Field(
        default=10.0, gt=0, description="Seconds a webhook subscriber has to answer."
    )
    epcis_webhook_batch: int = Field(
        default=500, ge=1, description="Most events one webhook delivery carries."
    )
    epcis_webhook_retry_max: float = Field(
        default=300.0,
        gt=0,
        description="Longest wait in seconds between retries of a failing webhook "
        "(the wait doubles from 1 s up to this).",
    )
    epcis_webhook_poll: float = Field(
        default=1.0, gt=0, description="Seconds between looks for webhook work."
    )
    epcis_webhook_allow_private: bool = Field(
        default=False,
        description="Allow webhook destinations on loopback, private, link-local and other "
        "non-public networks (tests and closed networks only; refused in production).",
    )

    # -- request guards and audit integrity -------------------------------------------------
    max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="Largest request body in bytes on every route but EPCIS capture "
        "(which has epcis_capture_file_size_limit).",
    )
    max_large_bodies: int = Field(
        default=4,
        ge=1,
        description="Request bodies over max_body_bytes (EPCIS captures, images) received "
        "at once; more wait for a 503 with Retry-After.",
    )
    max_json_depth: int = Field(
        default=64,
        ge=2,
        le=256,
        description="Deepest nesting of arrays and objects a JSON body may have.",
    )
    trusted_proxies: str = Field(
        default="",
        description="Comma-separated IPs or networks of reverse proxies whose "
        "X-Forwarded-For / X-Forwarded-Proto are believed; empty: none, the peer is the client.",
    )
    auth_failure_rate: float = Field(
        default=0.2,
        gt=0,
        description="Requests with a wrong API key per second per client (token refill).",
    )
    auth_failure_burst: int = Field(
        default=10, ge=1, description="Wrong API keys a client may send before waiting."
    )
    audit_verify_interval: float = Field(
        default=1.0,
        gt=0,
        description="Seconds between steps of the background re-verification of every "
        "stored audit entry against its leaf hash.",
    )
    audit_verify_chunk: int = Field(
        default=20_000,
        ge=100,
        description="Audit entries re-verified per step (a full pass walks the whole log).",
    )

    # -- the scan page and its media --------------------------------------------------------
    chain_explorer_url: str = Field(
        default="",
        description="A block explorer's address; the scan page links each anchor's "
        "transaction as <url>/tx/<hash> (empty: no link).",
    )
    service_operator: str = Field(
        default="",
        description="Who runs this service, as the scan page names it (e.g. a company name).",
    )
    media_max_bytes: int = Field(
        default=2 * 1024 * 1024,
        ge=1024,
        description="Largest image upload (brand logo, product photo) in bytes.",
    )
    media_max_pixels: int = Field(
        default=4096,
        ge=64,
        description="Longest side of an uploaded image in pixels (larger is refused).",
    )

    # -- channels and anti-diversion --------------------------------------------------------
    route_checks: bool = Field(
        default=True,
        description="Evaluate the route rules (docs/channels.md) on every captured event and "
        "consumer scan; item state and movements are tracked either way.",
    )

    # -- contract proofs ----------------------------------------------------------------------
    evidence_max_bytes: int = Field(
        default=100 * 1024 * 1024,
        ge=1024,
        description="Largest document a contract proof is uploaded with (POST /v1/evidence), "
        "in bytes; it is streamed to disk, hashed and sealed as it is read, never held whole.",
    )
    max_public_uploads: int = Field(
        default=2,
        ge=1,
        description="Documents over max_body_bytes uploaded at once, without a key, to the "
        "public check POST /v1/evidence/verify; more wait for a 503 with Retry-After.",
    )
    upload_idle_seconds: float = Field(
        default=15.0,
        gt=0,
        description="A streamed upload (a proof's document, a document checked publicly) that "
        "sends nothing for this long is dropped with a 408, so that an idle client does not "
        "hold an upload slot.",
    )
    public_upload_seconds: float = Field(
        default=120.0,
        gt=0,
        description="A document uploaded without a key to POST /v1/evidence/verify must "
        "arrive whole within this many seconds (408 otherwise): a trickle cannot hold one of "
        "the max_public_uploads slots for long.",
    )

    @field_validator("public_base_url")
    @classmethod
    def _strip_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def resolved_database_url(self) -> str:
        """The database URL in use: the configured one, or the local SQLite file."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'trace.db').as_posix()}"

    def check_production_safety(self) -> None:
        """Raise UnsafeSettings when production would run on a locally-safe default."""
        if self.env != "production":
            return
        problems = []
        if self.master_key is None:
            problems.append("TRACE_MASTER_KEY must be set (a generated local key is not safe)")
        if self.signing_key is None:
            problems.append("TRACE_SIGNING_KEY must be set (a generated local key is not safe)")
        if self.resolved_database_url.startswith("sqlite"):
            problems.append("TRACE_DATABASE_URL must name a server database, not SQLite")
        if self.chain_url == "embedded":
            problems.append("TRACE_CHAIN_URL must name a real chain, not the embedded dev chain")
        if self.chain_url != "embedded" and self.chain_private_key is None:
            problems.append("TRACE_CHAIN_PRIVATE_KEY must be set")
        if self.public_base_url.startswith("http://"):
            problems.append("TRACE_PUBLIC_BASE_URL must be https")
        if self.epcis_webhook_allow_private:
            problems.append(
                "TRACE_EPCIS_WEBHOOK_ALLOW_PRIVATE must be false (webhooks to private "
                "networks let a subscriber reach internal services)"
            )
        if problems:
            raise UnsafeSettings(problems)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
