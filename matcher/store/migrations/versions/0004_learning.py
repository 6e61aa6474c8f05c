"""Learning to rank: the rank a pair was shown at (for position-bias correction) and trained ranker
models, versioned with their metrics and data window.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outcome_events") as batch:
        batch.add_column(sa.Column("shown_rank", sa.Integer()))
    op.create_table(
        "ranker_models",
        sa.Column("version", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("weights", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("metrics", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("data_window", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("beat_scorer", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.current_timestamp(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ranker_models")
    with op.batch_alter_table("outcome_events") as batch:
        batch.drop_column("shown_rank")
