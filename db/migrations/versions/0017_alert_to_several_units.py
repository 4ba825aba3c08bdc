"""an alert's audience may name many units ('unit:3,5,8,…')

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-23 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("broadcast") as batch:
        batch.alter_column(
            "audience", type_=sa.String(length=4096), existing_type=sa.String(length=48)
        )


def downgrade() -> None:
    with op.batch_alter_table("broadcast") as batch:
        batch.alter_column(
            "audience", type_=sa.String(length=48), existing_type=sa.String(length=4096)
        )
