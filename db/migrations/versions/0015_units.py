"""police units and the areas they cover; every report handled by one unit

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-23 19:30:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    unit = op.create_table(
        "unit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("duty_phone", sa.String(length=32), nullable=False),
        sa.Column("address", sa.String(length=255), nullable=False),
        sa.Column("ack_hours", sa.Float(), nullable=True),
        sa.Column("urgent_ack_minutes", sa.Float(), nullable=True),
        sa.Column("resolve_days", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "area",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("folded", sa.String(length=128), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"]),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_index(op.f("ix_area_folded"), "area", ["folded"], unique=False)
    op.create_index(op.f("ix_area_unit_id"), "area", ["unit_id"], unique=False)
    # The one unit of a single-ward deployment (renamed with `canhgiac unit set 1 --name`).
    op.bulk_insert(
        unit,
        [
            {
                "id": 1,
                "name": "Công an phường",
                "kind": "ward",
                "duty_phone": "",
                "address": "",
                "created_at": datetime.now(UTC),
            }
        ],
    )
    if op.get_bind().dialect.name == "postgresql":  # the explicit id 1 left the sequence at 1
        op.execute("SELECT setval(pg_get_serial_sequence('unit', 'id'), 1)")
    with op.batch_alter_table("report") as batch:
        batch.add_column(sa.Column("unit_id", sa.Integer(), nullable=True))
        batch.create_index(batch.f("ix_report_unit_id"), ["unit_id"], unique=False)
        batch.create_foreign_key("fk_report_unit_id", "unit", ["unit_id"], ["id"])
    op.execute("UPDATE report SET unit_id = 1")
    op.execute("UPDATE officer SET unit_id = 1 WHERE unit_id IS NULL")


def downgrade() -> None:
    with op.batch_alter_table("report") as batch:
        batch.drop_constraint("fk_report_unit_id", type_="foreignkey")
        batch.drop_index(batch.f("ix_report_unit_id"))
        batch.drop_column("unit_id")
    op.drop_index(op.f("ix_area_unit_id"), table_name="area")
    op.drop_index(op.f("ix_area_folded"), table_name="area")
    op.drop_table("area")
    op.drop_table("unit")
