"""broadcasts and deliveries

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "broadcast",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("photo", sa.LargeBinary(), nullable=True),
        sa.Column("link_url", sqlmodel.sql.sqltypes.AutoString(length=512), nullable=True),
        sa.Column("link_label", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("audience", sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
        sa.Column("send_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("author", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("decided_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["author_id"], ["officer.id"], name="fk_broadcast_author"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_broadcast_status"), "broadcast", ["status"], unique=False)
    op.create_table(
        "delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("recipient", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["broadcast_id"], ["broadcast.id"], name="fk_delivery_broadcast"
        ),
        sa.ForeignKeyConstraint(["resident_id"], ["resident.id"], name="fk_delivery_resident"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("broadcast_id", "resident_id"),
    )
    op.create_index(op.f("ix_delivery_broadcast_id"), "delivery", ["broadcast_id"], unique=False)
    op.create_index("ix_delivery_due", "delivery", ["status", "next_attempt_at"], unique=False)
    with op.batch_alter_table("resident") as batch:
        batch.add_column(
            sa.Column("weekly_tips", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("resident") as batch:
        batch.drop_column("weekly_tips")
    op.drop_index("ix_delivery_due", table_name="delivery")
    op.drop_index(op.f("ix_delivery_broadcast_id"), table_name="delivery")
    op.drop_table("delivery")
    op.drop_index(op.f("ix_broadcast_status"), table_name="broadcast")
    op.drop_table("broadcast")
