"""TransactionLog (PostgreSQL): per-party indexes that also give ID order.

``GET /logs`` now reads each party column with its own query, in ID order from the cursor, and stops
after a page (``nds.fsc.txlog.store``): a page costs O(limit) instead of O(the caller's records). An
SQLite index already ends in the row ID, so ``WHERE col = :caller ORDER BY id`` walks it in order;
a PostgreSQL B-tree on ``(col)`` does not, so there the indexes become ``(col, id)``, with the same
partial conditions. Nothing changes on SQLite.

Revision ID: fsc_txlog_0004
Revises: fsc_txlog_0003
"""

import sqlalchemy as sa
from alembic import op

revision = "fsc_txlog_0004"
down_revision = "fsc_txlog_0003"
branch_labels = None
depends_on = None

TABLE = "fsc_txlog_records"
PARTIES = ("outway_peer_id", "service_peer_id", "source_delegator_peer_id", "destination_delegator_peer_id")


def _where(col: str) -> sa.TextClause:
    if col in ("outway_peer_id", "service_peer_id"):
        return sa.text("indexed = 1")
    return sa.text(f"{col} IS NOT NULL AND indexed = 1")


def _recreate(with_id: bool) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for col in PARTIES:
        op.drop_index(f"ix_{TABLE}_{col}", table_name=TABLE)
        op.create_index(
            f"ix_{TABLE}_{col}", TABLE, [col, "id"] if with_id else [col], postgresql_where=_where(col)
        )


def upgrade() -> None:
    _recreate(with_id=True)


def downgrade() -> None:
    _recreate(with_id=False)
