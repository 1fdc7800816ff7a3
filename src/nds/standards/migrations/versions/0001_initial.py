"""standards: rounds, targets, raw results, explanations, accessibility statements

Revision ID: standards_0001
Revises:
"""

from alembic import op

from nds.standards.store import metadata

revision = "standards_0001"
down_revision = None
branch_labels = None
depends_on = None

_TABLES = (
    "standards_rounds",
    "standards_targets",
    "standards_results",
    "standards_explanations",
    "standards_accessibility",
)


def upgrade() -> None:
    bind = op.get_bind()
    for name in _TABLES:
        metadata.tables[name].create(bind)


def downgrade() -> None:
    bind = op.get_bind()
    for name in reversed(_TABLES):
        metadata.tables[name].drop(bind)
