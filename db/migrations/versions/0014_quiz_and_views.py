"""quiz rounds and scam-trick views, counted without anyone's name (the periodic report)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-23 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "quiz_round",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_quiz_round_finished_at"), "quiz_round", ["finished_at"], unique=False)
    op.create_table(
        "scam_view",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("scam", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "scam"),
    )


def downgrade() -> None:
    op.drop_table("scam_view")
    op.drop_index(op.f("ix_quiz_round_finished_at"), table_name="quiz_round")
    op.drop_table("quiz_round")
