"""report events name officers by id

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 12:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("report_event") as batch:
        batch.alter_column(
            "actor",
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=64),
            type_=sqlmodel.sql.sqltypes.AutoString(length=128),
            existing_nullable=False,
        )
        batch.add_column(sa.Column("officer_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_report_event_officer_id", "officer", ["officer_id"], ["id"])
        batch.create_index(batch.f("ix_report_event_officer_id"), ["officer_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("report_event") as batch:
        batch.drop_index(batch.f("ix_report_event_officer_id"))
        batch.drop_constraint("fk_report_event_officer_id", type_="foreignkey")
        batch.drop_column("officer_id")
        batch.alter_column(
            "actor",
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=128),
            type_=sqlmodel.sql.sqltypes.AutoString(length=64),
            existing_nullable=False,
        )
