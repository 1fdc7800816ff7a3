"""TransactionLog: indexes matched to the GET /logs queries (cheaper durable writes).

Every acknowledged record used to update eight secondary indexes. ``GET /logs`` always restricts to
the caller (source, destination or either delegator), so the planner drives every query from the
per-party indexes (or from ``transaction_id``); ``grant_hash``, ``service_name`` and
``created_at_us`` are only ever residual filters on those rows. Keep:

- ``transaction_id`` (the ``transaction_ids`` filter), ``outway_peer_id``, ``service_peer_id``;
- the two delegator columns as *partial* indexes (``WHERE ... IS NOT NULL``): most records have no
  delegator and then cost no index entry; ``col = :caller`` implies ``col IS NOT NULL``, so SQLite
  and PostgreSQL still use them for the caller restriction.

Drop ``grant_hash``, ``service_name`` and ``created_at_us``. Data is untouched.

Revision ID: fsc_txlog_0002
Revises: fsc_txlog_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "fsc_txlog_0002"
down_revision = "fsc_txlog_0001"
branch_labels = None
depends_on = None

TABLE = "fsc_txlog_records"
DROPPED = ("grant_hash", "service_name", "created_at_us")
PARTIAL = ("source_delegator_peer_id", "destination_delegator_peer_id")


def upgrade() -> None:
    for col in DROPPED + PARTIAL:
        op.drop_index(f"ix_{TABLE}_{col}", table_name=TABLE)
    for col in PARTIAL:
        where = sa.text(f"{col} IS NOT NULL")
        op.create_index(f"ix_{TABLE}_{col}", TABLE, [col], sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    for col in PARTIAL:
        op.drop_index(f"ix_{TABLE}_{col}", table_name=TABLE)
    for col in DROPPED + PARTIAL:
        op.create_index(f"ix_{TABLE}_{col}", TABLE, [col])
