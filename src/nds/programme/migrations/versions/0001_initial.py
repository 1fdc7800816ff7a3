"""programme: documents, pairs, references, commitments, audit trail

Revision ID: programme_0001
Revises:
"""

from alembic import op

from nds.programme.store import metadata

revision = "programme_0001"
down_revision = None
branch_labels = None
depends_on = None

_TABLES = (
    "programme_documents",
    "programme_pairs",
    "programme_references",
    "programme_commitments",
    "programme_audit",
)


def upgrade() -> None:
    bind = op.get_bind()
    for name in _TABLES:
        metadata.tables[name].create(bind)


def downgrade() -> None:
    bind = op.get_bind()
    for name in reversed(_TABLES):
        metadata.tables[name].drop(bind)
