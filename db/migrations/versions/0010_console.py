"""the web console: officers' accounts, sessions, set-up links, audit, push, confirmations

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = sqlmodel.sql.sqltypes.AutoString
AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("officer") as batch:
        batch.add_column(sa.Column("username", S(length=64), nullable=True))
        batch.add_column(sa.Column("password_hash", sa.Text(), nullable=True))
        batch.add_column(sa.Column("totp_secret", S(length=64), nullable=True))
        batch.add_column(sa.Column("totp_enrolled_at", AT, nullable=True))
        batch.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("zalo_id", S(length=64), nullable=True))
        batch.add_column(
            sa.Column(
                "notify_by", sa.JSON(), nullable=False, server_default='["webpush", "telegram"]'
            )
        )
        batch.add_column(sa.Column("unit_id", sa.Integer(), nullable=True))
        batch.create_unique_constraint("uq_officer_username", ["username"])
        batch.create_unique_constraint("uq_officer_zalo_id", ["zalo_id"])
        batch.create_index("ix_officer_unit_id", ["unit_id"])
    with op.batch_alter_table("identifier") as batch:
        batch.add_column(sa.Column("confirmed_by", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("confirm_reason", sa.Text(), nullable=True))
        batch.create_foreign_key("fk_identifier_confirmed_by", "officer", ["confirmed_by"], ["id"])
    op.create_table(
        "identifier_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identifier_id", sa.Integer(), sa.ForeignKey("identifier.id"), nullable=False),
        sa.Column("at", AT, nullable=False),
        sa.Column("officer_id", sa.Integer(), sa.ForeignKey("officer.id"), nullable=True),
        sa.Column("actor", S(length=128), nullable=False),
        sa.Column("action", S(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("report_id", sa.Integer(), sa.ForeignKey("report.id"), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_identifier_event_identifier_id", "identifier_event", ["identifier_id"])
    op.create_table(
        "setup_token",
        sa.Column("token_hash", S(length=64), nullable=False),
        sa.Column("officer_id", sa.Integer(), sa.ForeignKey("officer.id"), nullable=False),
        sa.Column("created_at", AT, nullable=False),
        sa.Column("expires_at", AT, nullable=False),
        sa.Column("used_at", AT, nullable=True),
        sa.Column("purpose", S(length=8), nullable=False, server_default="setup"),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_setup_token_officer_id", "setup_token", ["officer_id"])
    op.create_table(
        "console_session",
        sa.Column("token_hash", S(length=64), nullable=False),
        sa.Column("officer_id", sa.Integer(), sa.ForeignKey("officer.id"), nullable=False),
        sa.Column("created_at", AT, nullable=False),
        sa.Column("last_seen_at", AT, nullable=False),
        sa.Column("expires_at", AT, nullable=False),
        sa.Column("ended_at", AT, nullable=True),
        sa.Column("verified_at", AT, nullable=True),
        sa.Column("csrf", S(length=64), nullable=False),
        sa.Column("address", S(length=64), nullable=False),
        sa.Column("agent", S(length=255), nullable=False),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_console_session_officer_id", "console_session", ["officer_id"])
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", AT, nullable=False),
        sa.Column("officer_id", sa.Integer(), sa.ForeignKey("officer.id"), nullable=True),
        sa.Column("action", S(length=32), nullable=False),
        sa.Column("report_id", sa.Integer(), sa.ForeignKey("report.id"), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("address", S(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("at", "officer_id", "report_id"):
        op.create_index(f"ix_audit_event_{column}", "audit_event", [column])
    op.create_table(
        "push_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), sa.ForeignKey("officer.id"), nullable=False),
        sa.Column("endpoint", sa.Text(), nullable=False),
        sa.Column("endpoint_hash", S(length=64), nullable=False),
        sa.Column("p256dh", S(length=128), nullable=False),
        sa.Column("auth", S(length=64), nullable=False),
        sa.Column("created_at", AT, nullable=False),
        sa.Column("last_ok_at", AT, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("endpoint_hash"),
    )
    op.create_index("ix_push_subscription_officer_id", "push_subscription", ["officer_id"])
    op.create_table(
        "report_words",
        sa.Column("report_id", sa.Integer(), sa.ForeignKey("report.id"), nullable=False),
        sa.Column("words", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("report_id"),
    )
    if op.get_bind().dialect.name == "postgresql":
        # pg_trgm is a trusted extension: the database's owner may create it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_index(
        "ix_report_words_trgm",
        "report_words",
        ["words"],
        postgresql_using="gin",
        postgresql_ops={"words": "gin_trgm_ops"},
    )
    _fill_report_words()
    # The queue's order and filters over a million reports (db/queue.py).
    op.create_index("ix_report_urgent_status", "report", ["status", "urgent", "created_at"])
    op.create_index("ix_report_claimed_by", "report", ["claimed_by"])


def _fill_report_words() -> None:
    """Reports filed before this migration become searchable too."""
    import unicodedata

    def fold(text: str) -> str:
        decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
        return " ".join("".join(c for c in decomposed if unicodedata.category(c) != "Mn").split())

    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, account FROM report")).all()
    table = sa.table("report_words", sa.column("report_id"), sa.column("words"))
    if rows:
        op.bulk_insert(table, [{"report_id": r[0], "words": fold(r[1] or "")} for r in rows])


def downgrade() -> None:
    op.drop_index("ix_report_claimed_by", table_name="report")
    op.drop_index("ix_report_urgent_status", table_name="report")
    op.drop_index("ix_report_words_trgm", table_name="report_words")
    op.drop_table("report_words")
    for table in ("push_subscription", "audit_event", "console_session", "setup_token"):
        op.drop_table(table)
    op.drop_table("identifier_event")
    with op.batch_alter_table("identifier") as batch:
        batch.drop_constraint("fk_identifier_confirmed_by", type_="foreignkey")
        batch.drop_column("confirm_reason")
        batch.drop_column("confirmed_by")
    with op.batch_alter_table("officer") as batch:
        batch.drop_index("ix_officer_unit_id")
        batch.drop_constraint("uq_officer_zalo_id", type_="unique")
        batch.drop_constraint("uq_officer_username", type_="unique")
        for column in (
            "unit_id", "notify_by", "zalo_id", "totp_last_step", "totp_enrolled_at",
            "totp_secret", "password_hash", "username",
        ):
            batch.drop_column(column)
