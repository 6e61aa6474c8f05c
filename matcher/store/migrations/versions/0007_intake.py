"""Intake as bureaus hold their data: an enterprise's 统一社会信用代码 and the 行政区划 code of its
place, a need budget's upper end (预算 20-30万 keeps both ends), and outcome events marked as
corrections (a stage that goes backwards is accepted only as one).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("enterprises") as table:
        table.add_column(sa.Column("credit_code", sa.String(32)))
        table.add_column(sa.Column("place_code", sa.String(12)))
        table.create_index("ix_enterprises_credit_code", ["credit_code"])
    with op.batch_alter_table("needs") as table:
        table.add_column(sa.Column("budget_max_wan", sa.Float()))
    with op.batch_alter_table("outcome_events") as table:
        table.add_column(sa.Column("correction", sa.Boolean()))


def downgrade() -> None:
    with op.batch_alter_table("outcome_events") as table:
        table.drop_column("correction")
    with op.batch_alter_table("needs") as table:
        table.drop_column("budget_max_wan")
    with op.batch_alter_table("enterprises") as table:
        table.drop_index("ix_enterprises_credit_code")
        table.drop_column("place_code")
        table.drop_column("credit_code")
