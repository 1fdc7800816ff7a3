"""The logboek's own tables (prefix ``logboek_``); created by its Alembic scripts."""

from __future__ import annotations

import sqlalchemy as sa

from nds.db import component_metadata

metadata = component_metadata()

# A sequence number: INTEGER on SQLite, so that it is the rowid itself (no second B-tree).
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# One narrow row per record: its chain body (``chain.encode_body``: the LDV fields joined by U+001F,
# exactly the bytes that are hashed after the sequence number) and the two chain hashes (raw 32 bytes).
log = sa.Table(
    "logboek_log",
    metadata,
    sa.Column("seq", SEQ, primary_key=True, autoincrement=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("prev_hash", sa.LargeBinary(32), nullable=False),
    sa.Column("record_hash", sa.LargeBinary(32), nullable=False),
)

# The lookup index: one small entry per record per key kind (``keys.py``: the data subject's
# pseudonym, the trace, the processing activity), each key a signed 64-bit prefix of a hash. A lookup
# reads the candidates in sequence order and checks the full values in the decoded record, so a
# prefix collision costs a wasted read, never a wrong answer. Derived data: ``verify`` checks it.
keys = sa.Table(
    "logboek_keys",
    metadata,
    sa.Column("k", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sqlite_with_rowid=False,
)

# The index's small, recent level. A group commit adds its records' entries here: random keys land
# in a table of a few hundred pages instead of all over the large index, so a commit writes far
# fewer pages to the WAL. Every ``store.MERGE_EVERY`` records the writer moves them into
# ``logboek_keys`` in key order (each index page written once per merge). Lookups read both.
keys_recent = sa.Table(
    "logboek_keys_recent",
    metadata,
    sa.Column("k", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sqlite_with_rowid=False,
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
