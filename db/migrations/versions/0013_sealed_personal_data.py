"""personal data sealed at rest; a report keeps a keyed tag of its reporter, not a link

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-23 19:00:00

Rows written before this revision are sealed here with the current key, and each report's
link to its resident becomes a sealed address plus a keyed tag (db/sealing.py): so the key
ring must be installed (settings DATA_KEYS or DATA_KEY_FILE) when a database holding data
is upgraded. An empty database needs none.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PLACEHOLDER = "[đã xóa theo thời hạn lưu trữ]"
# The sealed columns as of this revision: (table, primary key, column, binary).
SEALED = [
    ("conversation", "id", "state", False),
    ("report", "id", "account", False),
    ("report", "id", "victim_info", False),
    ("report", "id", "contact_phone", False),
    ("report", "id", "reporter", False),
    ("report_event", "id", "note", False),
    ("officer", "id", "totp_secret", False),
    ("evidence", "id", "data", True),
    ("outbox", "id", "payload", False),
    ("app_secret", "key", "value", False),
    ("failed_update", "id", "body", False),
    ("console_session", "token_hash", "pending_totp", False),
    ("audit_event", "id", "detail", False),
]


def _to_text(table: str, column: str, nullable: bool) -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table(table) as batch:
        batch.alter_column(
            column,
            type_=sa.Text(),
            existing_nullable=nullable,
            postgresql_using=f"{column}::text" if postgres else None,
        )


def upgrade() -> None:
    for table, column in [
        ("conversation", "state"),
        ("outbox", "payload"),
        ("failed_update", "body"),
    ]:
        _to_text(table, column, nullable=False)
    for table, column in [
        ("report", "contact_phone"),
        ("officer", "totp_secret"),
        ("console_session", "pending_totp"),
    ]:
        _to_text(table, column, nullable=True)
    with op.batch_alter_table("report") as batch:
        batch.add_column(sa.Column("reporter", sa.Text(), nullable=True))
        batch.add_column(sa.Column("reporter_tag", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("area", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_report_reporter_tag", ["reporter_tag"], unique=False)
        batch.create_index("ix_report_area", ["area"], unique=False)
    _link_reports_by_tag()
    with op.batch_alter_table("report") as batch:
        batch.drop_index("ix_report_resident_id")
        batch.drop_column("resident_id")


def _link_reports_by_tag() -> None:
    """Each linked report gets its reporter's sealed address, keyed tag and area; retention's
    placeholder becomes `cleared_at`; then every stored value is sealed."""
    from db import rekey, sealing

    conn = op.get_bind()
    report = sa.table(
        "report",
        sa.column("id"),
        sa.column("resident_id"),
        sa.column("reporter", sa.Text()),
        sa.column("reporter_tag"),
        sa.column("area"),
        sa.column("account", sa.Text()),
        sa.column("updated_at"),
        sa.column("cleared_at"),
    )
    conn.execute(
        sa.update(report)
        .where(report.c.account == PLACEHOLDER)
        .values(cleared_at=report.c.updated_at)
    )
    resident = sa.table(
        "resident", sa.column("id"), sa.column("channel"), sa.column("user_id"), sa.column("area")
    )
    linked = conn.execute(
        sa.select(report.c.id, resident.c.channel, resident.c.user_id, resident.c.area).join(
            resident, resident.c.id == report.c.resident_id
        )
    ).all()
    holds_data = linked or any(
        conn.execute(sa.select(sa.func.count()).select_from(sa.table(table))).scalar()
        for table in {table for table, *_ in SEALED}
    )
    if not holds_data:
        return
    sealing.ring()  # fails with a clear message when the keys are not set
    for report_id, channel, user_id, area in linked:
        owner = f"{channel}:{user_id}"
        conn.execute(
            sa.update(report)
            .where(report.c.id == report_id)
            .values(
                reporter=sealing.seal_text(owner, "report.reporter"),
                reporter_tag=sealing.reporter_tag(owner),
                area=area,
            )
        )
    places = [
        rekey.SealedColumn(table, key, column, binary, f"{table}.{column}")
        for table, key, column, binary in SEALED
        if column != "reporter"  # sealed just above
    ]
    rekey.reseal(rekey.one_connection(conn), places, assume_plain=True)


def downgrade() -> None:
    raise NotImplementedError("sealed data cannot be turned back into plaintext by a migration")
