"""TransactionLog records.

Revision ID: fsc_txlog_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "fsc_txlog_0001"
down_revision = None
branch_labels = ("fsc_txlog",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fsc_txlog_records",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("transaction_id", sa.String(64), nullable=False),
        sa.Column("direction", sa.String(24), nullable=False),
        sa.Column("grant_hash", sa.String(1024), nullable=False),
        sa.Column("outway_peer_id", sa.String(64), nullable=False),
        sa.Column("source_delegator_peer_id", sa.String(64), nullable=True),
        sa.Column("service_peer_id", sa.String(64), nullable=False),
        sa.Column("destination_delegator_peer_id", sa.String(64), nullable=True),
        sa.Column("service_name", sa.String(255), nullable=False),
        sa.Column("created_at_us", sa.BigInteger(), nullable=False),
    )
    for col in (
        "transaction_id",
        "grant_hash",
        "outway_peer_id",
        "source_delegator_peer_id",
        "service_peer_id",
        "destination_delegator_peer_id",
        "service_name",
        "created_at_us",
    ):
        op.create_index(f"ix_fsc_txlog_records_{col}", "fsc_txlog_records", [col])


def downgrade() -> None:
    op.drop_table("fsc_txlog_records")
