"""Entities imported by staff: institutions, teams, achievements, enterprises, needs, challenges.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.current_timestamp(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), server_default=sa.func.current_timestamp(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "institutions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("type", sa.String(32)),
        sa.Column("province", sa.String(32)),
        sa.Column("city", sa.String(64)),
        sa.Column("tier", sa.String(64)),
        *_timestamps(),
    )
    op.create_table(
        "teams",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("institution_id", sa.String(64), sa.ForeignKey("institutions.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("discipline", sa.String(100)),
        sa.Column("description", sa.Text()),
        sa.Column("capacity", sa.Integer()),
        *_timestamps(),
    )
    op.create_index("ix_teams_institution_id", "teams", ["institution_id"])
    op.create_table(
        "achievements",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("team_id", sa.String(64), sa.ForeignKey("teams.id"), nullable=False),
        sa.Column("kind", sa.String(16)),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("abstract", sa.Text()),
        sa.Column("keywords", sa.JSON(none_as_null=True)),
        sa.Column("year", sa.Integer()),
        sa.Column("trl", sa.Integer()),
        *_timestamps(),
    )
    op.create_index("ix_achievements_team_id", "achievements", ["team_id"])
    op.create_table(
        "enterprises",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("province", sa.String(32)),
        sa.Column("city", sa.String(64)),
        sa.Column("county", sa.String(64)),
        sa.Column("industry", sa.String(64)),
        sa.Column("high_tech", sa.Boolean()),
        sa.Column("above_scale", sa.Boolean()),
        sa.Column("has_rd_platform", sa.Boolean()),
        sa.Column("description", sa.Text()),
        sa.Column("contact_person", sa.String(64)),
        sa.Column("contact_phone", sa.String(64)),
        sa.Column("contacts_public", sa.Boolean()),
        sa.Column("key_enterprise", sa.Boolean()),
        sa.Column("rd_conditions", sa.Text()),
        sa.Column("cooperation", sa.Text()),
        sa.Column("wished_institutions", sa.JSON(none_as_null=True)),
        sa.Column("innovation_plan", sa.Text()),
        *_timestamps(),
    )
    op.create_index("ix_enterprises_name", "enterprises", ["name"])
    op.create_table(
        "needs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("enterprise_id", sa.String(64), sa.ForeignKey("enterprises.id"), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("keywords", sa.JSON(none_as_null=True)),
        sa.Column("budget_wan", sa.Float()),
        sa.Column("deadline", sa.Date()),
        sa.Column("status", sa.String(16), server_default="open", nullable=False),
        *_timestamps(),
    )
    op.create_index("ix_needs_enterprise_id", "needs", ["enterprise_id"])
    op.create_table(
        "challenges",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("issuer_enterprise_id", sa.String(64), sa.ForeignKey("enterprises.id")),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("indicators", sa.Text()),
        sa.Column("budget_wan", sa.Float()),
        sa.Column("deadline", sa.Date()),
        sa.Column("eligible_provinces", sa.JSON(none_as_null=True)),
        sa.Column("eligible_types", sa.JSON(none_as_null=True)),
        sa.Column("min_trl", sa.Integer()),
        *_timestamps(),
    )
    op.create_index("ix_challenges_issuer_enterprise_id", "challenges", ["issuer_enterprise_id"])


def downgrade() -> None:
    for table in ("challenges", "needs", "enterprises", "achievements", "teams", "institutions"):
        op.drop_table(table)
