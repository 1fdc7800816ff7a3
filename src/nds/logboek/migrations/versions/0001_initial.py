"""logboek: records, chain head, checkpoints, tombstones, register, audit log

Revision ID: logboek_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "logboek_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "logboek_records",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("trace_id", sa.String(32), nullable=False),
        sa.Column("span_id", sa.String(16), nullable=False),
        sa.Column("parent_span_id", sa.String(16)),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("start_time", sa.BigInteger, nullable=False),
        sa.Column("end_time", sa.BigInteger, nullable=False),
        sa.Column("status_code", sa.SmallInteger, nullable=False),
        sa.Column("activity_uri", sa.String(500), nullable=False),
        sa.Column("subject_pseudonym", sa.String(64)),
        sa.Column("subject_key_id", sa.String(40)),
        sa.Column("subject_type", sa.String(100)),
        sa.Column("foreign_trace_id", sa.String(32)),
        sa.Column("foreign_span_id", sa.String(16)),
        sa.Column("foreign_entity", sa.String(500)),
        sa.Column("external_read_api", sa.String(500)),
        sa.Column("fsc_transaction_id", sa.String(64)),
        sa.Column("resource", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("record_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_logboek_records"),
    )
    op.create_index("ix_logboek_records_subject", "logboek_records", ["subject_pseudonym", "seq"])
    op.create_index("ix_logboek_records_trace", "logboek_records", ["trace_id"])
    op.create_index("ix_logboek_records_activity", "logboek_records", ["activity_uri", "seq"])
    op.create_index("ix_logboek_records_fsc", "logboek_records", ["fsc_transaction_id"])
    op.create_table(
        "logboek_head",
        sa.Column("id", sa.SmallInteger, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_logboek_head"),
    )
    op.execute("INSERT INTO logboek_head (id, seq, hash) VALUES (1, 0, '" + "0" * 64 + "')")
    op.create_table(
        "logboek_checkpoints",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("upto_seq", sa.BigInteger, nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("statement", sa.Text, nullable=False),
        sa.Column("signature", sa.Text, nullable=False),
        sa.Column("witness", sa.String(200), nullable=False),
        sa.Column("witness_signature", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_logboek_checkpoints"),
    )
    op.create_table(
        "logboek_tombstones",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("statement", sa.Text, nullable=False),
        sa.Column("signature", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_logboek_tombstones"),
    )
    op.create_table(
        "logboek_purged",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("record_hash", sa.String(64), nullable=False),
        sa.Column("tombstone_id", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_logboek_purged"),
        sa.ForeignKeyConstraint(
            ["tombstone_id"],
            ["logboek_tombstones.id"],
            name="fk_logboek_purged_tombstone_id_logboek_tombstones",
        ),
    )
    op.create_table(
        "logboek_activities",
        sa.Column("uri", sa.String(500), primary_key=True),
        sa.Column("slug", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("uri", name="pk_logboek_activities"),
        sa.UniqueConstraint("slug", "version", name="uq_logboek_activities_slug_version"),
    )
    op.create_table(
        "logboek_audit",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("officer", sa.String(200), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.Column("trace_id", sa.String(32)),
        sa.PrimaryKeyConstraint("id", name="pk_logboek_audit"),
    )


def downgrade() -> None:
    for t in (
        "logboek_audit",
        "logboek_activities",
        "logboek_purged",
        "logboek_tombstones",
        "logboek_checkpoints",
        "logboek_head",
        "logboek_records",
    ):
        op.drop_table(t)
