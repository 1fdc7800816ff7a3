"""services: the Regulated Area a Service belongs to (fsc-regulated-area)

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("fsc_manager_services") as batch_op:
        batch_op.add_column(sa.Column("regulated_area", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("fsc_manager_services") as batch_op:
        batch_op.drop_column("regulated_area")
