"""Audit log: entries, per-tenant heads, item refs, checkpoints, witnesses, exports.

Entries and checkpoints are append-only: triggers refuse UPDATE and DELETE on both
PostgreSQL and SQLite (and TRUNCATE on PostgreSQL).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)
_APPEND_ONLY = ("audit_entries", "audit_checkpoints")


def upgrade() -> None:
    op.create_table(
        "audit_heads",
        sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id"), primary_key=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "audit_entries",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("recorded_at", _TS, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("organisation_id", sa.String(36), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
        sa.UniqueConstraint("tenant_id", "seq"),
    )
    op.create_index("ix_audit_entries_tenant_kind", "audit_entries", ["tenant_id", "kind"])
    op.create_index("ix_audit_entries_tenant_time", "audit_entries", ["tenant_id", "recorded_at"])
    op.create_index(
        "ix_audit_entries_tenant_org", "audit_entries", ["tenant_id", "organisation_id"]
    )
    op.create_table(
        "audit_item_refs",
        sa.Column("tenant_id", sa.String(36), primary_key=True),
        sa.Column("item", sa.String(200), primary_key=True),
        sa.Column("seq", sa.BigInteger(), primary_key=True),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.String(66), nullable=False),
        sa.Column("issued_at", _TS, nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("anchor_job_id", sa.Integer(), sa.ForeignKey("anchor_jobs.id"), nullable=True),
        sa.UniqueConstraint("tenant_id", "size"),
    )
    op.create_table(
        "audit_witnesses",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("public_key", sa.LargeBinary(48), nullable=False),
        sa.Column("proof_of_possession", sa.LargeBinary(96), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.UniqueConstraint("tenant_id", "public_key"),
    )
    op.create_index("ix_audit_witnesses_tenant_id", "audit_witnesses", ["tenant_id"])
    op.create_table(
        "audit_cosignatures",
        sa.Column(
            "checkpoint_id",
            sa.Integer(),
            sa.ForeignKey("audit_checkpoints.id"),
            primary_key=True,
        ),
        sa.Column(
            "witness_id", sa.String(36), sa.ForeignKey("audit_witnesses.id"), primary_key=True
        ),
        sa.Column("signature", sa.LargeBinary(96), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "audit_exports",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("filters", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("entries", sa.BigInteger(), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("finished_at", _TS, nullable=True),
    )
    op.create_index("ix_audit_exports_tenant_id", "audit_exports", ["tenant_id"])
    _append_only_triggers()


def _append_only_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(
            """
            CREATE OR REPLACE FUNCTION trace_refuse_change() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
                    USING ERRCODE = 'insufficient_privilege';
            END
            $$ LANGUAGE plpgsql
            """
        )
        for table in _APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION trace_refuse_change()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION trace_refuse_change()"
            )
    elif dialect == "sqlite":
        for table in _APPEND_ONLY:
            for operation in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {operation} refused'); "
                    "END"
                )


def downgrade() -> None:
    for table in (
        "audit_exports",
        "audit_cosignatures",
        "audit_witnesses",
        "audit_checkpoints",
        "audit_item_refs",
        "audit_entries",
        "audit_heads",
    ):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS trace_refuse_change()")
