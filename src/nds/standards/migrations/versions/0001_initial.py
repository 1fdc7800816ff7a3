"""standards: rounds, targets, raw results, explanations, accessibility statements

Revision ID: standards_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "standards_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "standards_rounds",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("profile", sa.String(40), nullable=False),
        sa.Column("targets_file", sa.String(500), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "standards_targets",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "round_id", sa.Integer(), sa.ForeignKey("standards_rounds.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("organisation", sa.String(300), nullable=False),
        sa.Column("org_type", sa.String(100), nullable=False),
        sa.Column("bestuursorgaan", sa.Boolean(), nullable=False),
        sa.Column("domain", sa.String(253), nullable=False),
        sa.Column("check_web", sa.Boolean(), nullable=False),
        sa.Column("check_mail", sa.Boolean(), nullable=False),
        sa.UniqueConstraint(
            "round_id", "organisation", "domain", name="uq_standards_targets_round_org_domain"
        ),
    )
    op.create_table(
        "standards_results",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "round_id", sa.Integer(), sa.ForeignKey("standards_rounds.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "target_id",
            sa.Integer(),
            sa.ForeignKey("standards_targets.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("profile", sa.String(40), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("standards", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.UniqueConstraint("target_id", "kind", name="uq_standards_results_target_kind"),
    )
    op.create_table(
        "standards_explanations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("organisation", sa.String(300), nullable=False),
        sa.Column("standard", sa.String(100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("valid_until", sa.Date()),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("organisation", "standard", name="uq_standards_explanations_org_standard"),
    )
    op.create_table(
        "standards_accessibility",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("organisation", sa.String(300), nullable=False),
        sa.Column("site", sa.String(500), nullable=False),
        sa.Column("status", sa.String(1), nullable=False),
        sa.Column("statement_date", sa.Date()),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(500), nullable=False),
        sa.UniqueConstraint("organisation", "site", name="uq_standards_accessibility_org_site"),
    )

    op.create_index("ix_standards_targets_round_id", "standards_targets", ["round_id"])
    op.create_index("ix_standards_results_round_id", "standards_results", ["round_id"])


def downgrade() -> None:
    for name in (
        "standards_accessibility",
        "standards_explanations",
        "standards_results",
        "standards_targets",
        "standards_rounds",
    ):
        op.drop_table(name)
