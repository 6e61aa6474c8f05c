"""Monthly reports: one stored run per month's batch of proposals (its parameters, what data it was
computed from, its figures), linked to the per-enterprise recommendation runs that hold the proposals
(so outcomes recorded with ``--run`` attribute to them like any other list).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_runs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("month", sa.String(7), nullable=False, index=True),
        sa.Column("params", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("data_digest", sa.String(64), nullable=False),
        sa.Column("proposals_digest", sa.String(64), nullable=False),
        sa.Column("model_version", sa.String(200), nullable=False),
        sa.Column("ranker_version", sa.String(200), nullable=False),
        sa.Column("summary", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.current_timestamp(), nullable=False),
    )
    op.create_table(
        "report_lists",
        sa.Column("report_id", sa.String(36), sa.ForeignKey("report_runs.id"), primary_key=True),
        sa.Column("run_id", sa.String(36), sa.ForeignKey("recommendation_runs.id"), primary_key=True),
        sa.Column("enterprise_id", sa.String(64), sa.ForeignKey("enterprises.id"), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("report_lists")
    op.drop_table("report_runs")
