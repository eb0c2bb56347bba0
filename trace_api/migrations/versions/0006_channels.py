"""Channels, allocations, item state and movements, diversion alerts.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)
_ID = sa.String(500)  # a canonical identifier key


def _org(name: str, *, primary_key: bool = False, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(
        name,
        sa.String(36),
        sa.ForeignKey("organisations.id"),
        primary_key=primary_key,
        nullable=nullable,
    )


def upgrade() -> None:
    op.add_column("products", sa.Column("product_group", sa.String(64), nullable=True))
    op.add_column("epcis_events", sa.Column("audit_seq", sa.BigInteger(), nullable=True))
    op.create_table(
        "channel_territories",
        sa.Column("tenant_id", sa.String(36), nullable=False),
        _org("organisation_id", primary_key=True),
        sa.Column("division_code", sa.String(6), primary_key=True),
    )
    op.create_index("ix_channel_territories_tenant_id", "channel_territories", ["tenant_id"])
    op.create_table(
        "channel_geofences",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        _org("organisation_id", nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("geojson", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_index("ix_channel_geofences_tenant_id", "channel_geofences", ["tenant_id"])
    op.create_index(
        "ix_channel_geofences_organisation_id", "channel_geofences", ["organisation_id"]
    )
    op.create_table(
        "channel_product_scopes",
        sa.Column("tenant_id", sa.String(36), nullable=False),
        _org("organisation_id", primary_key=True),
        sa.Column("scope", sa.String(80), primary_key=True),
    )
    op.create_index("ix_channel_product_scopes_tenant_id", "channel_product_scopes", ["tenant_id"])
    op.create_table(
        "channel_cross_edges",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        _org("from_org", nullable=False),
        _org("to_org", nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("revoked_at", _TS, nullable=True),
    )
    op.create_index(
        "ix_channel_cross_edges_pair", "channel_cross_edges", ["tenant_id", "from_org", "to_org"]
    )
    op.create_table(
        "channel_locations",
        sa.Column("tenant_id", sa.String(36), primary_key=True),
        sa.Column("identifier", _ID, primary_key=True),
        sa.Column("division_code", sa.String(6), nullable=False),
    )
    op.create_table(
        "allocations",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("target_kind", sa.String(16), nullable=False),
        sa.Column("target", _ID, nullable=False),
        _org("organisation_id", nullable=False),
        sa.Column("division_code", sa.String(6), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("replaced_at", _TS, nullable=True),
    )
    op.create_index("ix_allocations_target", "allocations", ["tenant_id", "target", "replaced_at"])
    op.create_table(
        "item_states",
        sa.Column("tenant_id", sa.String(36), primary_key=True),
        sa.Column("item", _ID, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("gtin", sa.String(14), nullable=True),
        sa.Column("batch_id", sa.String(36), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("holder_org", sa.String(36), nullable=True),
        sa.Column("shipped_to_org", sa.String(36), nullable=True),
        sa.Column("location", _ID, nullable=True),
        sa.Column("division_code", sa.String(6), nullable=True),
        sa.Column("parent", _ID, nullable=True),
        sa.Column("last_event_pk", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_index("ix_item_states_parent", "item_states", ["tenant_id", "parent"])
    op.create_index("ix_item_states_holder", "item_states", ["tenant_id", "holder_org"])
    op.create_table(
        "item_movements",
        sa.Column("tenant_id", sa.String(36), primary_key=True),
        sa.Column("item", _ID, primary_key=True),
        sa.Column("event_pk", sa.BigInteger(), primary_key=True),
        sa.Column("step", sa.String(16), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("from_org", sa.String(36), nullable=True),
        sa.Column("to_org", sa.String(36), nullable=True),
        sa.Column("division_code", sa.String(6), nullable=True),
        sa.Column("via", _ID, nullable=True),
        sa.Column("verdict", sa.String(16), nullable=False),
    )
    op.create_table(
        "diversion_alerts",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("subject", _ID, nullable=False),
        sa.Column("subject_kind", sa.String(16), nullable=False),
        sa.Column("item_count", sa.BigInteger(), nullable=False),
        sa.Column("rule", sa.String(40), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("expected_org", sa.String(36), nullable=True),
        sa.Column("expected_division", sa.String(6), nullable=True),
        sa.Column("observed_org", sa.String(36), nullable=True),
        sa.Column("observed_division", sa.String(6), nullable=True),
        sa.Column("blamed_org", sa.String(36), nullable=True),
        sa.Column("event_pk", sa.BigInteger(), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_index(
        "ix_diversion_alerts_status", "diversion_alerts", ["tenant_id", "status", "created_at"]
    )
    op.create_index("ix_diversion_alerts_subject", "diversion_alerts", ["tenant_id", "subject"])
    op.create_index("ix_diversion_alerts_blamed", "diversion_alerts", ["tenant_id", "blamed_org"])
    op.create_table(
        "diversion_alert_changes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("alert_id", sa.String(36), sa.ForeignKey("diversion_alerts.id"), nullable=False),
        sa.Column("from_status", sa.String(16), nullable=False),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("at", _TS, nullable=False),
    )
    op.create_index("ix_diversion_alert_changes_alert_id", "diversion_alert_changes", ["alert_id"])


def downgrade() -> None:
    for table in (
        "diversion_alert_changes",
        "diversion_alerts",
        "item_movements",
        "item_states",
        "allocations",
        "channel_locations",
        "channel_cross_edges",
        "channel_product_scopes",
        "channel_geofences",
        "channel_territories",
    ):
        op.drop_table(table)
    op.drop_column("epcis_events", "audit_seq")
    op.drop_column("products", "product_group")
