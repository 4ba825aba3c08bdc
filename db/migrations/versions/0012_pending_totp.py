"""a TOTP secret kept on the session that is enrolling, not on the officer

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23 16:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("console_session") as batch:
        batch.add_column(
            sa.Column(
                "pending_totp", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("console_session") as batch:
        batch.drop_column("pending_totp")
