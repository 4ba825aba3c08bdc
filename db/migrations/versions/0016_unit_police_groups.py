"""a unit's own Telegram police group, and the group a report's card is in

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-23 21:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("unit") as batch:
        batch.add_column(sa.Column("telegram_chat_id", sa.BigInteger(), nullable=True))
    # Cards posted before this are in POLICE_CHAT_ID's group: None says so.
    with op.batch_alter_table("report") as batch:
        batch.add_column(sa.Column("card_chat_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("report") as batch:
        batch.drop_column("card_chat_id")
    with op.batch_alter_table("unit") as batch:
        batch.drop_column("telegram_chat_id")
