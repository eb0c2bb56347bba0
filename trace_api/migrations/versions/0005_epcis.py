"""EPCIS repository: capture jobs, events and their identifier index, custody, named
queries and webhook subscriptions.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)
# On SQLite an INTEGER PRIMARY KEY is the rowid: appends are cheap and the key costs no index.
_KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_ID = sa.String(500)  # a canonical identifier key


def upgrade() -> None:
    op.create_table(
        "epcis_capture_jobs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("organisation_id", sa.String(36), nullable=True),
        sa.Column("error_behaviour", sa.String(16), nullable=False),
        sa.Column("running", sa.Boolean(), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("event_count", sa.BigInteger(), nullable=False),
        sa.Column("stored_count", sa.BigInteger(), nullable=False),
        sa.Column("errors", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("finished_at", _TS, nullable=True),
    )
    op.create_index(
        "ix_epcis_capture_jobs_tenant_created", "epcis_capture_jobs", ["tenant_id", "created_at"]
    )
    op.create_table(
        "epcis_events",
        sa.Column("id", _KEY, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("event_id", sa.String(1000), nullable=False),
        sa.Column("event_id_generated", sa.Boolean(), nullable=False),
        sa.Column("event_type", sa.String(300), nullable=False),
        sa.Column("action", sa.String(8), nullable=True),
        sa.Column("event_time", _TS, nullable=False),
        sa.Column("record_time", _TS, nullable=False),
        sa.Column("biz_step", sa.String(500), nullable=True),
        sa.Column("disposition", sa.String(500), nullable=True),
        sa.Column("read_point", _ID, nullable=True),
        sa.Column("biz_location", _ID, nullable=True),
        sa.Column("declared_at", _TS, nullable=True),
        sa.Column("corrects_id", _KEY, nullable=True),
        sa.Column("group_id", _KEY, nullable=False),
        sa.Column("capture_id", sa.String(36), nullable=False),
        sa.Column("organisation_id", sa.String(36), nullable=True),
        sa.Column("digest", sa.LargeBinary(32), nullable=False),
        sa.Column("content_key", sa.LargeBinary(32), nullable=False),
        sa.Column("context", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
    )
    for column in (
        "event_id",
        "content_key",
        "event_time",
        "record_time",
        "biz_step",
        "disposition",
        "read_point",
        "biz_location",
        "declared_at",
    ):
        op.create_index(f"ix_epcis_events_tenant_{column}", "epcis_events", ["tenant_id", column])
    op.create_index("ix_epcis_events_corrects", "epcis_events", ["corrects_id"])
    # Results come in capture order with each error declaration right after the event it
    # corrects: the order key is (group_id, id).
    op.create_index("ix_epcis_events_tenant_group", "epcis_events", ["tenant_id", "group_id", "id"])
    op.create_table(
        "epcis_event_epcs",
        sa.Column("tenant_id", sa.String(36), primary_key=True),
        sa.Column("epc", _ID, primary_key=True),
        sa.Column("role", sa.String(2), primary_key=True),
        sa.Column("event_pk", _KEY, primary_key=True),
    )
    op.create_index("ix_epcis_event_epcs_event", "epcis_event_epcs", ["event_pk"])
    op.create_table(
        "epcis_event_parties",
        sa.Column("tenant_id", sa.String(36), primary_key=True),
        sa.Column("party", _ID, primary_key=True),
        sa.Column("event_pk", _KEY, primary_key=True),
    )
    op.create_index("ix_epcis_event_parties_event", "epcis_event_parties", ["event_pk"])
    op.create_table(
        "epcis_party_identifiers",
        sa.Column("tenant_id", sa.String(36), primary_key=True),
        sa.Column("identifier", _ID, primary_key=True),
        sa.Column(
            "organisation_id", sa.String(36), sa.ForeignKey("organisations.id"), nullable=False
        ),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "epcis_containment",
        sa.Column("tenant_id", sa.String(36), primary_key=True),
        sa.Column("parent", _ID, primary_key=True),
        sa.Column("child", _ID, primary_key=True),
    )
    op.create_table(
        "epcis_custody",
        sa.Column("tenant_id", sa.String(36), primary_key=True),
        sa.Column("organisation_id", sa.String(36), primary_key=True),
        sa.Column("epc", _ID, primary_key=True),
    )
    op.create_table(
        "epcis_queries",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.UniqueConstraint("tenant_id", "name"),
    )
    op.create_table(
        "epcis_subscriptions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("query_id", sa.Integer(), sa.ForeignKey("epcis_queries.id"), nullable=False),
        sa.Column("dest", sa.Text(), nullable=False),
        sa.Column("signature_token", sa.Text(), nullable=True),
        sa.Column("stream", sa.Boolean(), nullable=False),
        sa.Column("schedule", sa.Text(), nullable=True),
        sa.Column("report_if_empty", sa.Boolean(), nullable=False),
        sa.Column("initial_record_time", _TS, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("organisation_id", sa.String(36), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_attempt_at", _TS, nullable=True),
        sa.Column("next_attempt_at", _TS, nullable=False),
        sa.Column("last_notified_at", _TS, nullable=True),
        sa.Column("delivered_events", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_epcis_subscriptions_tenant_id", "epcis_subscriptions", ["tenant_id"])
    op.create_index("ix_epcis_subscriptions_query_id", "epcis_subscriptions", ["query_id"])
    op.create_table(
        "epcis_subscription_backlog",
        sa.Column(
            "subscription_id",
            sa.String(36),
            sa.ForeignKey("epcis_subscriptions.id"),
            primary_key=True,
        ),
        sa.Column("capture_id", sa.String(36), primary_key=True),
        sa.Column("after_pk", _KEY, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "epcis_subscription_backlog",
        "epcis_subscriptions",
        "epcis_queries",
        "epcis_custody",
        "epcis_containment",
        "epcis_party_identifiers",
        "epcis_event_parties",
        "epcis_event_epcs",
        "epcis_events",
        "epcis_capture_jobs",
    ):
        op.drop_table(table)
