"""Feedback: append-only outcome events and stored recommendation runs.

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
    op.create_table(
        "recommendation_runs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("query", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("model_version", sa.String(200), nullable=False),
        sa.Column("ranker_version", sa.String(200), nullable=False),
        sa.Column("params", sa.JSON(none_as_null=True)),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.current_timestamp(), nullable=False),
    )
    op.create_table(
        "recommendation_items",
        sa.Column("run_id", sa.String(36), sa.ForeignKey("recommendation_runs.id"), primary_key=True),
        sa.Column("rank", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.String(64), sa.ForeignKey("teams.id")),
        sa.Column("need_id", sa.String(64), sa.ForeignKey("needs.id")),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("explanation", sa.JSON(none_as_null=True)),
    )
    op.create_index("ix_recommendation_items_team_id", "recommendation_items", ["team_id"])
    op.create_index("ix_recommendation_items_need_id", "recommendation_items", ["need_id"])
    op.create_table(
        "outcome_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("need_id", sa.String(64), sa.ForeignKey("needs.id"), nullable=False),
        sa.Column("team_id", sa.String(64), sa.ForeignKey("teams.id"), nullable=False),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("amount_wan", sa.Float()),
        sa.Column("date", sa.Date()),
        sa.Column("reason_code", sa.String(32)),
        sa.Column("reason_text", sa.Text()),
        sa.Column("run_id", sa.String(36), sa.ForeignKey("recommendation_runs.id")),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("idempotency_key", sa.String(128), unique=True),
        sa.Column("recorded_at", sa.DateTime(), server_default=sa.func.current_timestamp(), nullable=False),
    )
    op.create_index("ix_outcome_events_need_id", "outcome_events", ["need_id"])
    op.create_index("ix_outcome_events_team_id", "outcome_events", ["team_id"])
    op.create_index("ix_outcome_events_run_id", "outcome_events", ["run_id"])
    _forbid_changes_to_outcome_events()


def _forbid_changes_to_outcome_events() -> None:
    """The event log is append-only at the database level, not only by convention."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER outcome_events_no_{action.lower()} BEFORE {action} ON outcome_events "
                "BEGIN SELECT RAISE(ABORT, 'outcome_events is append-only: record a new event'); END"
            )
    elif dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION outcome_events_append_only() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'outcome_events is append-only: record a new event'; END $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER outcome_events_append_only BEFORE UPDATE OR DELETE ON outcome_events "
            "FOR EACH ROW EXECUTE FUNCTION outcome_events_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS outcome_events_append_only ON outcome_events")
        op.execute("DROP FUNCTION IF EXISTS outcome_events_append_only()")
    op.drop_table("outcome_events")
    op.drop_table("recommendation_items")
    op.drop_table("recommendation_runs")
