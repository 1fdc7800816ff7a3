"""The logboek's own tables (prefix ``logboek_``); created by its Alembic scripts."""

from __future__ import annotations

import sqlalchemy as sa

from nds.db import component_metadata

metadata = component_metadata()

records = sa.Table(
    "logboek_records",
    metadata,
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
    sa.Column("resource", sa.Text, nullable=False),  # JSON text, as hashed (chain.resource_json)
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("record_hash", sa.String(64), nullable=False),
    sa.Index("ix_logboek_records_subject", "subject_pseudonym", "seq"),
    sa.Index("ix_logboek_records_trace", "trace_id"),
    sa.Index("ix_logboek_records_activity", "activity_uri", "seq"),
    sa.Index("ix_logboek_records_fsc", "fsc_transaction_id"),
)

# One row: the chain head. Writers lock it (BEGIN IMMEDIATE on SQLite, FOR UPDATE on PostgreSQL),
# so any number of writer processes append to one chain in a single order.
head = sa.Table(
    "logboek_head",
    metadata,
    sa.Column("id", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

checkpoints = sa.Table(
    "logboek_checkpoints",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("upto_seq", sa.BigInteger, nullable=False),
    sa.Column("head_hash", sa.String(64), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("statement", sa.Text, nullable=False),  # the signed statement (canonical JSON)
    sa.Column("signature", sa.Text, nullable=False),  # the organisation's signature
    sa.Column("witness", sa.String(200), nullable=False),  # who countersigned
    sa.Column("witness_signature", sa.Text, nullable=False),
)

tombstones = sa.Table(
    "logboek_tombstones",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("statement", sa.Text, nullable=False),  # reason, cutoff, purged (seq, hash) list digest
    sa.Column("signature", sa.Text, nullable=False),
)

purged = sa.Table(
    "logboek_purged",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("record_hash", sa.String(64), nullable=False),
    sa.Column("tombstone_id", sa.Integer, sa.ForeignKey("logboek_tombstones.id"), nullable=False),
)

activities = sa.Table(
    "logboek_activities",
    metadata,
    sa.Column("uri", sa.String(500), primary_key=True),
    sa.Column("slug", sa.String(100), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.UniqueConstraint("slug", "version", name="uq_logboek_activities_slug_version"),
)

# Officer identities never go into LDV records; they go here.
audit = sa.Table(
    "logboek_audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.BigInteger, nullable=False),
    sa.Column("officer", sa.String(200), nullable=False),
    sa.Column("action", sa.String(100), nullable=False),
    sa.Column("detail", sa.JSON, nullable=False),
    sa.Column("trace_id", sa.String(32)),
)
