"""E-invoices (数电票): organisations' invoice profiles, per-tenant yearly sequences,
issued invoices with their XML and lines, their anchored Merkle batches, red-letter
confirmations, how products are invoiced and priced per channel, and the shipments
invoices were drafted from.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def _tenant() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id"), nullable=False)


def _fen(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.BigInteger(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "invoice_profiles",
        sa.Column(
            "organisation_id", sa.String(36), sa.ForeignKey("organisations.id"), primary_key=True
        ),
        _tenant(),
        sa.Column("division_code", sa.String(6), nullable=False),
        sa.Column("address", sa.String(200), nullable=False),
        sa.Column("phone", sa.String(200), nullable=False),
        sa.Column("bank", sa.String(200), nullable=False),
        sa.Column("account", sa.String(200), nullable=False),
        sa.Column("channel", sa.Integer(), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_index("ix_invoice_profiles_tenant_id", "invoice_profiles", ["tenant_id"])
    op.create_table(
        "invoice_sequences",
        sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id"), primary_key=True),
        sa.Column("year", sa.Integer(), primary_key=True),
        sa.Column("last", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "invoice_batches",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _tenant(),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("root", sa.String(64), nullable=False),
        sa.Column("leaf_hashes", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("anchored_at", _TS, nullable=True),
    )
    op.create_index("ix_invoice_batches_tenant_id", "invoice_batches", ["tenant_id"])
    op.create_table(
        "invoices",
        sa.Column("id", sa.String(36), primary_key=True),
        _tenant(),
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("colour", sa.String(4), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("original_id", sa.String(36), sa.ForeignKey("invoices.id"), nullable=True),
        sa.Column("issued_at", _TS, nullable=False),
        sa.Column("issued_by", sa.String(64), nullable=False),
        sa.Column(
            "seller_org_id", sa.String(36), sa.ForeignKey("organisations.id"), nullable=False
        ),
        sa.Column("buyer_org_id", sa.String(36), sa.ForeignKey("organisations.id"), nullable=True),
        sa.Column("buyer_name", sa.String(200), nullable=False),
        sa.Column("buyer_credit_code", sa.String(18), nullable=True),
        _fen("amount_fen"),
        _fen("tax_fen"),
        _fen("total_fen"),
        _fen("reversed_fen"),
        sa.Column("red_reason", sa.String(2), nullable=True),
        sa.Column("accepted_at", _TS, nullable=True),
        sa.Column("xml", sa.LargeBinary(), nullable=False),
        sa.Column("digest", sa.LargeBinary(32), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("batch_id", sa.Integer(), sa.ForeignKey("invoice_batches.id"), nullable=True),
        sa.Column("leaf_index", sa.Integer(), nullable=True),
        sa.UniqueConstraint("tenant_id", "number"),
        sa.UniqueConstraint("tenant_id", "year", "sequence"),
    )
    op.create_index("ix_invoices_tenant_issued", "invoices", ["tenant_id", "issued_at"])
    op.create_index("ix_invoices_number", "invoices", ["number"])
    op.create_index("ix_invoices_batch_id", "invoices", ["batch_id"])
    op.create_table(
        "invoice_lines",
        sa.Column("invoice_id", sa.String(36), sa.ForeignKey("invoices.id"), primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("original_position", sa.Integer(), nullable=True),
        sa.Column("product_id", sa.String(36), sa.ForeignKey("products.id"), nullable=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("tax_code", sa.String(19), nullable=False),
        sa.Column("rate", sa.String(8), nullable=False),
        sa.Column("discount", sa.Boolean(), nullable=False),
        sa.Column("quantity", sa.String(20), nullable=True),
        sa.Column("unit_price", sa.String(20), nullable=True),
        sa.Column("price_includes_tax", sa.Boolean(), nullable=False),
        _fen("amount_fen"),
        _fen("tax_fen"),
        sa.Column("reversed_quantity", sa.String(20), nullable=False),
        _fen("reversed_amount_fen"),
        _fen("reversed_tax_fen"),
    )
    op.create_table(
        "red_confirmations",
        sa.Column("id", sa.String(36), primary_key=True),
        _tenant(),
        sa.Column("number", sa.String(24), nullable=False),
        sa.Column("invoice_id", sa.String(36), sa.ForeignKey("invoices.id"), nullable=False),
        sa.Column("reason", sa.String(2), nullable=False),
        sa.Column("lines", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("entered_by", sa.String(64), nullable=False),
        sa.Column("entered_at", _TS, nullable=False),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_at", _TS, nullable=True),
        sa.Column("red_invoice_id", sa.String(36), sa.ForeignKey("invoices.id"), nullable=True),
        sa.UniqueConstraint("tenant_id", "number"),
    )
    op.create_index("ix_red_confirmations_invoice_id", "red_confirmations", ["invoice_id"])
    op.create_table(
        "invoice_items",
        sa.Column("product_id", sa.String(36), sa.ForeignKey("products.id"), primary_key=True),
        _tenant(),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("tax_code", sa.String(19), nullable=False),
        sa.Column("rate", sa.String(8), nullable=False),
        sa.Column("unit", sa.String(20), nullable=False),
        sa.Column("specification", sa.String(100), nullable=False),
    )
    op.create_index("ix_invoice_items_tenant_id", "invoice_items", ["tenant_id"])
    op.create_table(
        "invoice_prices",
        sa.Column("product_id", sa.String(36), sa.ForeignKey("products.id"), primary_key=True),
        sa.Column("channel", sa.String(16), primary_key=True),
        _tenant(),
        sa.Column("unit_price", sa.String(20), nullable=False),
        sa.Column("price_includes_tax", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_invoice_prices_tenant_id", "invoice_prices", ["tenant_id"])
    op.create_table(
        "invoice_shipments",
        sa.Column("invoice_id", sa.String(36), sa.ForeignKey("invoices.id"), primary_key=True),
        sa.Column("event_pk", sa.BigInteger(), primary_key=True),
        _tenant(),
        sa.UniqueConstraint("tenant_id", "event_pk"),
    )


def downgrade() -> None:
    for table in (
        "invoice_shipments",
        "invoice_prices",
        "invoice_items",
        "red_confirmations",
        "invoice_lines",
        "invoices",
        "invoice_batches",
        "invoice_sequences",
        "invoice_profiles",
    ):
        op.drop_table(table)
