"""Scan records a count is checked against; PIN back-off per code and per client.

`code_scans` gets `seq`, the scan's number for its code (1, 2, 3, ...; unique per code),
filled in for the rows already there in id order, and becomes append-only: triggers refuse
UPDATE and DELETE on both PostgreSQL (also TRUNCATE) and SQLite, as for the audit log.
`code_states` gets the PIN back-off of a code (`pin_failed_at`, `pin_blocked_until`), and
`pin_clients` holds the same per client.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("code_states", sa.Column("pin_failed_at", _TS, nullable=True))
    op.add_column("code_states", sa.Column("pin_blocked_until", _TS, nullable=True))
    op.create_table(
        "pin_clients",
        sa.Column("client_hash", sa.LargeBinary(16), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("failed_at", _TS, nullable=True),
        sa.Column("blocked_until", _TS, nullable=True),
    )
    op.create_index("ix_pin_clients_failed_at", "pin_clients", ["failed_at"])

    op.add_column("code_scans", sa.Column("seq", sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE code_scans SET seq = (SELECT count(*) FROM code_scans AS earlier "
        "WHERE earlier.code_id = code_scans.code_id AND earlier.id <= code_scans.id)"
    )
    with op.batch_alter_table("code_scans") as batch:  # SQLite: the table is rebuilt
        batch.alter_column("seq", existing_type=sa.BigInteger(), nullable=False)
    op.drop_index("ix_code_scans_code", table_name="code_scans")
    op.create_index("ix_code_scans_code_seq", "code_scans", ["code_id", "seq"], unique=True)
    _append_only("code_scans")


def _append_only(table: str) -> None:
    """The triggers of 0003 (its PostgreSQL function `trace_refuse_change`), for ``table``."""
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION trace_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION trace_refuse_change()"
        )
    elif dialect == "sqlite":
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {operation} refused'); END"
            )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS code_scans_append_only ON code_scans")
        op.execute("DROP TRIGGER IF EXISTS code_scans_no_truncate ON code_scans")
    elif dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS code_scans_no_update")
        op.execute("DROP TRIGGER IF EXISTS code_scans_no_delete")
    op.drop_index("ix_code_scans_code_seq", table_name="code_scans")
    op.create_index("ix_code_scans_code", "code_scans", ["code_id", "id"])
    with op.batch_alter_table("code_scans") as batch:
        batch.drop_column("seq")
    op.drop_index("ix_pin_clients_failed_at", table_name="pin_clients")
    op.drop_table("pin_clients")
    with op.batch_alter_table("code_states") as batch:
        batch.drop_column("pin_blocked_until")
        batch.drop_column("pin_failed_at")
