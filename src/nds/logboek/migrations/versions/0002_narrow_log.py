"""logboek: narrow record layout (logboek_log + logboek_keys) instead of wide logboek_records

Each record becomes one row of its chain body (the hashed fields joined by U+001F, exactly the bytes
the chain hash covers after the sequence number) with its two hashes as raw bytes, plus one small
integer index entry per lookup key (data subject, trace, processing activity) in ``logboek_keys``
(``logboek_keys_recent`` holds the newest entries until the writer merges them in). The hashes do not
change: the body is the old chain encoding, so existing checkpoints and tombstones stay valid and
``verify`` accepts the upgraded chain. The conversion is self-contained (it does not import the live
encoding code, which may change later).

Revision ID: logboek_0002
Revises: logboek_0001
"""

import hashlib
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "logboek_0002"
down_revision = "logboek_0001"
branch_labels = None
depends_on = None

_FIELDS = (
    "trace_id",
    "span_id",
    "parent_span_id",
    "name",
    "start_time",
    "end_time",
    "status_code",
    "activity_uri",
    "subject_pseudonym",
    "subject_key_id",
    "subject_type",
    "foreign_trace_id",
    "foreign_span_id",
    "foreign_entity",
    "external_read_api",
    "fsc_transaction_id",
    "resource",
)
_INTS = {"start_time", "end_time", "status_code"}
_CHUNK = 5000


def _signed(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def _keys(f: dict) -> list[int]:
    digest = hashlib.sha256(b"activity\x1f" + f["activity_uri"].encode()).digest()
    out = [_signed(int(f["trace_id"][16:], 16)), _signed(int.from_bytes(digest[:8], "big"))]
    if f["subject_pseudonym"] is not None:
        out.append(_signed(int(f["subject_pseudonym"][:16], 16)))
    return out


def _body(f: dict) -> bytes:
    return "\x1f".join("\x00" if f[c] is None else str(f[c]) for c in _FIELDS).encode("utf-8")


def _unbody(body: bytes) -> dict:
    parts = bytes(body).decode("utf-8").split("\x1f")
    f: dict[str, Any] = {c: (None if v == "\x00" else v) for c, v in zip(_FIELDS, parts, strict=True)}
    for c in _INTS:
        f[c] = int(f[c])
    return f


def _seq() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "logboek_log",
        sa.Column("seq", _seq(), primary_key=True, autoincrement=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("prev_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("record_hash", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_logboek_log"),
    )
    op.create_table(
        "logboek_keys",
        sa.Column("k", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.PrimaryKeyConstraint("k", "seq", name="pk_logboek_keys"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "logboek_keys_recent",
        sa.Column("k", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.PrimaryKeyConstraint("k", "seq", name="pk_logboek_keys_recent"),
        sqlite_with_rowid=False,
    )
    conn = op.get_bind()
    old = sa.table("logboek_records", *(sa.column(c) for c in ("seq", *_FIELDS, "prev_hash", "record_hash")))
    log = sa.table(
        "logboek_log", sa.column("seq"), sa.column("body"), sa.column("prev_hash"), sa.column("record_hash")
    )
    keys = sa.table("logboek_keys", sa.column("k"), sa.column("seq"))
    after = None
    while True:
        q = sa.select(old).order_by(old.c.seq).limit(_CHUNK)
        if after is not None:
            q = q.where(old.c.seq > after)
        rows = [dict(r._mapping) for r in conn.execute(q)]
        if not rows:
            break
        conn.execute(
            log.insert(),
            [
                {
                    "seq": r["seq"],
                    "body": _body(r),
                    "prev_hash": bytes.fromhex(r["prev_hash"]),
                    "record_hash": bytes.fromhex(r["record_hash"]),
                }
                for r in rows
            ],
        )
        entries = {(k, r["seq"]) for r in rows for k in _keys(r)}
        conn.execute(keys.insert(), [{"k": k, "seq": s} for k, s in sorted(entries)])
        after = rows[-1]["seq"]
    op.drop_table("logboek_records")


def downgrade() -> None:
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
    conn = op.get_bind()
    log = sa.table(
        "logboek_log", sa.column("seq"), sa.column("body"), sa.column("prev_hash"), sa.column("record_hash")
    )
    old = sa.table("logboek_records", *(sa.column(c) for c in ("seq", *_FIELDS, "prev_hash", "record_hash")))
    after = None
    while True:
        q = sa.select(log).order_by(log.c.seq).limit(_CHUNK)
        if after is not None:
            q = q.where(log.c.seq > after)
        rows = conn.execute(q).all()
        if not rows:
            break
        conn.execute(
            old.insert(),
            [
                {
                    "seq": r.seq,
                    **_unbody(r.body),
                    "prev_hash": bytes(r.prev_hash).hex(),
                    "record_hash": bytes(r.record_hash).hex(),
                }
                for r in rows
            ],
        )
        after = rows[-1].seq
    op.create_index("ix_logboek_records_subject", "logboek_records", ["subject_pseudonym", "seq"])
    op.create_index("ix_logboek_records_trace", "logboek_records", ["trace_id"])
    op.create_index("ix_logboek_records_activity", "logboek_records", ["activity_uri", "seq"])
    op.create_index("ix_logboek_records_fsc", "logboek_records", ["fsc_transaction_id"])
    op.drop_table("logboek_keys_recent")
    op.drop_table("logboek_keys")
    op.drop_table("logboek_log")
