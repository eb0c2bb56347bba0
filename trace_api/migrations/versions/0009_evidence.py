"""Contract proofs (存证): parties and their SM2 keys, proofs, signatures, links, batches.

`evidence` holds each proof's signed statement bytes; `evidence_signers` its parties,
`evidence_signatures` the verified signatures, `evidence_links` the objects it is about,
`evidence_document_chunks` the sealed document when it is kept; `evidence_batches` the
Merkle batches of complete proofs, each anchored by one anchor job.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def _tenant() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "evidence_parties",
        sa.Column("id", sa.String(36), primary_key=True),
        _tenant(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("uscc", sa.String(18), nullable=True),
        sa.Column(
            "organisation_id", sa.String(36), sa.ForeignKey("organisations.id"), nullable=True
        ),
        sa.Column("created_at", _TS, nullable=False),
        sa.UniqueConstraint("tenant_id", "organisation_id"),
        sa.UniqueConstraint("tenant_id", "uscc"),
    )
    op.create_index("ix_evidence_parties_tenant_id", "evidence_parties", ["tenant_id"])
    op.create_table(
        "evidence_party_keys",
        sa.Column("id", sa.String(36), primary_key=True),
        _tenant(),
        sa.Column("party_id", sa.String(36), sa.ForeignKey("evidence_parties.id"), nullable=False),
        sa.Column("public_key", sa.String(130), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("registered_at", _TS, nullable=False),
        sa.Column("revoked_at", _TS, nullable=True),
        sa.UniqueConstraint("tenant_id", "fingerprint"),
    )
    op.create_index("ix_evidence_party_keys_party_id", "evidence_party_keys", ["party_id"])
    op.create_table(
        "evidence_batches",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _tenant(),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("root", sa.String(64), nullable=False),
        sa.Column("leaf_hashes", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("anchored_at", _TS, nullable=True),
    )
    op.create_index("ix_evidence_batches_tenant_id", "evidence_batches", ["tenant_id"])
    op.create_table(
        "evidence",
        sa.Column("id", sa.String(36), primary_key=True),
        _tenant(),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("sm3", sa.String(64), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("statement", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("completed_at", _TS, nullable=True),
        sa.Column("leaf_hash", sa.LargeBinary(32), nullable=True),
        sa.Column("batch_id", sa.Integer(), sa.ForeignKey("evidence_batches.id"), nullable=True),
        sa.Column("leaf_index", sa.Integer(), nullable=True),
        sa.Column("document_key_id", sa.String(64), nullable=True),
        sa.Column("document_chunks", sa.Integer(), nullable=False),
    )
    op.create_index("ix_evidence_tenant_created", "evidence", ["tenant_id", "created_at"])
    op.create_index("ix_evidence_tenant_status", "evidence", ["tenant_id", "status"])
    op.create_index("ix_evidence_sm3", "evidence", ["sm3"])
    op.create_index("ix_evidence_sha256", "evidence", ["sha256"])
    op.create_index("ix_evidence_batch_id", "evidence", ["batch_id"])
    op.create_table(
        "evidence_signers",
        sa.Column("evidence_id", sa.String(36), sa.ForeignKey("evidence.id"), primary_key=True),
        sa.Column(
            "party_id", sa.String(36), sa.ForeignKey("evidence_parties.id"), primary_key=True
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_evidence_signers_party_id", "evidence_signers", ["party_id"])
    op.create_table(
        "evidence_signatures",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("evidence_id", sa.String(36), sa.ForeignKey("evidence.id"), nullable=False),
        sa.Column("party_id", sa.String(36), sa.ForeignKey("evidence_parties.id"), nullable=False),
        sa.Column("key_id", sa.String(36), sa.ForeignKey("evidence_party_keys.id"), nullable=False),
        sa.Column("signature", sa.String(160), nullable=False),
        sa.Column("signed_at", _TS, nullable=False),
        sa.UniqueConstraint("evidence_id", "party_id"),
    )
    op.create_index("ix_evidence_signatures_evidence_id", "evidence_signatures", ["evidence_id"])
    op.create_table(
        "evidence_links",
        sa.Column("evidence_id", sa.String(36), sa.ForeignKey("evidence.id"), primary_key=True),
        sa.Column("link_type", sa.String(32), primary_key=True),
        sa.Column("object_id", sa.String(200), primary_key=True),
    )
    op.create_index("ix_evidence_links_object", "evidence_links", ["link_type", "object_id"])
    op.create_table(
        "evidence_document_chunks",
        sa.Column("evidence_id", sa.String(36), sa.ForeignKey("evidence.id"), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "evidence_document_chunks",
        "evidence_links",
        "evidence_signatures",
        "evidence_signers",
        "evidence",
        "evidence_batches",
        "evidence_party_keys",
        "evidence_parties",
    ):
        op.drop_table(table)
