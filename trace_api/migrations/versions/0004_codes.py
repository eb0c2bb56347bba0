"""Codes: products, batches, issuances, per-item codes and their Merkle trees, scans.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)
# On SQLite an INTEGER PRIMARY KEY is the rowid: appends are cheap and the key costs no index.
_KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "products",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("gtin", sa.String(14), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("brand", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("links", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.UniqueConstraint("tenant_id", "gtin"),
    )
    op.create_index("ix_products_tenant_id", "products", ["tenant_id"])
    op.create_table(
        "batches",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("product_id", sa.String(36), sa.ForeignKey("products.id"), nullable=False),
        sa.Column("lot", sa.String(20), nullable=False),
        sa.Column("production_date", sa.Date(), nullable=False),
        sa.Column("factory", sa.String(200), nullable=False),
        sa.Column("expiry", sa.Date(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("recalled_at", _TS, nullable=True),
        sa.Column("recall_reason", sa.Text(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.UniqueConstraint("tenant_id", "product_id", "lot"),
    )
    op.create_index("ix_batches_tenant_id", "batches", ["tenant_id"])
    op.create_table(
        "code_issuances",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("batch_id", sa.String(36), sa.ForeignKey("batches.id"), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("with_pins", sa.Boolean(), nullable=False),
        sa.Column("allocation", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("root", sa.String(66), nullable=True),
        sa.Column("key_id", sa.String(64), nullable=True),
        sa.Column("anchor_job_id", sa.Integer(), sa.ForeignKey("anchor_jobs.id"), nullable=True),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("finished_at", _TS, nullable=True),
        sa.UniqueConstraint("batch_id"),
    )
    op.create_index("ix_code_issuances_tenant_id", "code_issuances", ["tenant_id"])
    op.create_table(
        "code_trees",
        sa.Column(
            "issuance_id", sa.Integer(), sa.ForeignKey("code_issuances.id"), primary_key=True
        ),
        sa.Column("leaf_hashes", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "codes",
        sa.Column("id", _KEY, primary_key=True, autoincrement=True),
        sa.Column("issuance_id", sa.Integer(), sa.ForeignKey("code_issuances.id"), nullable=False),
        sa.Column("idx", sa.BigInteger(), nullable=False),
        sa.Column("serial", sa.String(20), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("pin_hash", sa.LargeBinary(16), nullable=True),
        sa.UniqueConstraint("serial"),
    )
    op.create_index("ix_codes_issuance_idx", "codes", ["issuance_id", "idx"], unique=True)
    op.create_table(
        "code_states",
        sa.Column("code_id", _KEY, sa.ForeignKey("codes.id"), primary_key=True),
        sa.Column("scan_count", sa.BigInteger(), nullable=False),
        sa.Column("first_scan_at", _TS, nullable=True),
        sa.Column("first_scan_region", sa.String(6), nullable=True),
        sa.Column("last_scan_at", _TS, nullable=True),
        sa.Column("located_at", _TS, nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("region", sa.String(6), nullable=True),
        sa.Column("pin_used_at", _TS, nullable=True),
        sa.Column("pin_failures", sa.Integer(), nullable=False),
        sa.Column("recalled_at", _TS, nullable=True),
        sa.Column("recall_reason", sa.Text(), nullable=True),
    )
    op.create_table(
        "code_scans",
        sa.Column("id", _KEY, primary_key=True, autoincrement=True),
        sa.Column("code_id", _KEY, sa.ForeignKey("codes.id"), nullable=False),
        sa.Column("scanned_at", _TS, nullable=False),
        sa.Column("region", sa.String(6), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("client_hash", sa.LargeBinary(16), nullable=False),
        sa.Column("warnings", sa.String(200), nullable=False),
    )
    op.create_index("ix_code_scans_code", "code_scans", ["code_id", "id"])
    op.create_table(
        "resolver_misses",
        sa.Column("id", _KEY, primary_key=True, autoincrement=True),
        sa.Column("at", _TS, nullable=False),
        sa.Column("client_hash", sa.LargeBinary(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
    )
    op.create_index("ix_resolver_misses_client", "resolver_misses", ["client_hash", "at"])


def downgrade() -> None:
    for table in (
        "resolver_misses",
        "code_scans",
        "code_states",
        "codes",
        "code_trees",
        "code_issuances",
        "batches",
        "products",
    ):
        op.drop_table(table)
