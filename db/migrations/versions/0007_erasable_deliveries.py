"""deliveries outlive an erased resident

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 12:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("delivery") as batch:
        batch.alter_column("resident_id", existing_type=sa.Integer(), nullable=True)
        batch.create_index(batch.f("ix_delivery_resident_id"), ["resident_id"], unique=False)


def downgrade() -> None:
    op.execute("DELETE FROM delivery WHERE resident_id IS NULL")
    with op.batch_alter_table("delivery") as batch:
        batch.drop_index(batch.f("ix_delivery_resident_id"))
        batch.alter_column("resident_id", existing_type=sa.Integer(), nullable=False)
