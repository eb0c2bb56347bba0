"""What the scan page needs: brand media and contacts, clone flags that stay, reports.

`media` holds the images tenants upload (re-encoded, named by their SHA-256);
`tenant_branding` the brand's name, hotline, website and logo; `products.image_id` the
product photo. `code_states` keeps the clone flags of a code until the brand reviews it,
and which client used its PIN; `consumer_reports` holds the shoppers' reports.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)
_CODE_KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "media",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("content_type", sa.String(40), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_index("ix_media_tenant_id", "media", ["tenant_id"])
    op.create_table(
        "tenant_branding",
        sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id"), primary_key=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("hotline", sa.String(40), nullable=False),
        sa.Column("website", sa.String(500), nullable=False),
        sa.Column("logo_id", sa.String(64), sa.ForeignKey("media.id"), nullable=True),
        sa.Column("updated_at", _TS, nullable=False),
    )
    # No foreign key: SQLite would rebuild `products`, which `batches` refers to.
    op.add_column("products", sa.Column("image_id", sa.String(64), nullable=True))
    op.add_column("code_states", sa.Column("pin_used_by", sa.LargeBinary(16), nullable=True))
    op.add_column("code_states", sa.Column("flags", sa.Text(), nullable=True))
    op.add_column("code_states", sa.Column("flagged_at", _TS, nullable=True))
    op.add_column("code_states", sa.Column("reviewed_at", _TS, nullable=True))
    op.add_column("code_states", sa.Column("review_outcome", sa.String(20), nullable=True))
    op.add_column(
        "code_states",
        sa.Column("reviewed_scan_count", sa.BigInteger(), nullable=False, server_default="0"),
    )
    op.create_table(
        "consumer_reports",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id"), nullable=True),
        sa.Column("code_id", _CODE_KEY, sa.ForeignKey("codes.id"), nullable=True),
        sa.Column("gtin", sa.String(14), nullable=False),
        sa.Column("lot", sa.String(20), nullable=True),
        sa.Column("serial", sa.String(20), nullable=False),
        sa.Column("verdict", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(30), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("where_bought", sa.String(200), nullable=False),
        sa.Column("contact", sa.String(100), nullable=False),
        sa.Column("client_hash", sa.LargeBinary(16), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_index(
        "ix_consumer_reports_tenant_at", "consumer_reports", ["tenant_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_consumer_reports_tenant_at", table_name="consumer_reports")
    op.drop_table("consumer_reports")
    with op.batch_alter_table("code_states") as batch:
        for column in ("reviewed_scan_count", "review_outcome", "reviewed_at", "flagged_at"):
            batch.drop_column(column)
        batch.drop_column("flags")
        batch.drop_column("pin_used_by")
    op.execute("ALTER TABLE products DROP COLUMN image_id")
    op.drop_table("tenant_branding")
    op.drop_index("ix_media_tenant_id", table_name="media")
    op.drop_table("media")
