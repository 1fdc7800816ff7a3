"""TransactionLog: index new records after their durable commit, not in it (SQLite).

A durable commit in SQLite's WAL mode appends one 4 KiB frame per B-tree page it changed and then
fsyncs. A one-record commit changed four pages — the table leaf and one leaf in each of the three
secondary indexes — and on this project's virtual disk the three index frames cost ≈ 30 µs per
commit, twice per proxied request (docs/fsc/dataplane.md, "Step 4").

From this revision a record is committed with ``indexed = 0``: the secondary indexes are *partial*
(``WHERE indexed = 1``), so the durable commit changes only the table leaf. A background step of the
writer (``nds.fsc.txlog.writer``) later sets ``indexed = 1`` for everything up to a point and moves
``fsc_txlog_index_state.indexed_through`` to it, in one transaction. ``GET /logs`` reads the
indexed records through the indexes and the few newer ones by row ID range (``id >
indexed_through``), so every record is found at every moment. PostgreSQL writes ``indexed = 1``
(the default) at once: there a commit flushes PostgreSQL's own WAL, whose size does not grow per
index page the way SQLite's frames do.

Existing records get ``indexed = 1``; ``indexed_through`` starts at the highest existing ID.

Revision ID: fsc_txlog_0003
Revises: fsc_txlog_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "fsc_txlog_0003"
down_revision = "fsc_txlog_0002"
branch_labels = None
depends_on = None

TABLE = "fsc_txlog_records"
STATE = "fsc_txlog_index_state"
PLAIN = ("transaction_id", "outway_peer_id", "service_peer_id")
DELEGATORS = ("source_delegator_peer_id", "destination_delegator_peer_id")


def upgrade() -> None:
    for col in PLAIN + DELEGATORS:
        op.drop_index(f"ix_{TABLE}_{col}", table_name=TABLE)
    # A constant default: existing rows read as 1 without a table rewrite (SQLite and PostgreSQL ≥ 11).
    with op.batch_alter_table(TABLE, recreate="never") as batch:
        batch.add_column(sa.Column("indexed", sa.SmallInteger(), nullable=False, server_default="1"))
    for col in PLAIN:
        where = sa.text("indexed = 1")
        op.create_index(f"ix_{TABLE}_{col}", TABLE, [col], sqlite_where=where, postgresql_where=where)
    for col in DELEGATORS:
        where = sa.text(f"{col} IS NOT NULL AND indexed = 1")
        op.create_index(f"ix_{TABLE}_{col}", TABLE, [col], sqlite_where=where, postgresql_where=where)
    op.create_table(
        STATE,
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("indexed_through", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_fsc_txlog_index_state_one_row"),
    )
    op.execute(f"INSERT INTO {STATE} (id, indexed_through) SELECT 1, COALESCE(MAX(id), 0) FROM {TABLE}")  # noqa: S608


def downgrade() -> None:
    op.execute(f"UPDATE {TABLE} SET indexed = 1 WHERE indexed <> 1")  # noqa: S608 - constants
    op.drop_table(STATE)
    for col in PLAIN + DELEGATORS:
        op.drop_index(f"ix_{TABLE}_{col}", table_name=TABLE)
    with op.batch_alter_table(TABLE, recreate="never") as batch:
        batch.drop_column("indexed")
    for col in PLAIN:
        op.create_index(f"ix_{TABLE}_{col}", TABLE, [col])
    for col in DELEGATORS:
        where = sa.text(f"{col} IS NOT NULL")
        op.create_index(f"ix_{TABLE}_{col}", TABLE, [col], sqlite_where=where, postgresql_where=where)
