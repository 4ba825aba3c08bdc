"""The tables. Every row a resident, officer or sender acts on is declared here."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel, col

from db.clock import utcnow
from db.sealing import SealedBytes, SealedJSON, SealedText


class Conversation(SQLModel, table=True):
    """Where one user stands in the dialogue on one channel; shared by every process."""

    __table_args__ = (UniqueConstraint("channel", "user_id"),)
    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    user_id: str = Field(max_length=64)
    # Sealed (db/sealing.py): a draft holds the account, phone and whereabouts as typed.
    state: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(SealedJSON("conversation.state"), nullable=False)
    )
    # Optimistic lock: two processes never both advance the same conversation.
    version: int = 0
    updated_at: datetime = Field(default_factory=utcnow)


class ProcessedUpdate(SQLModel, table=True):
    """A channel-level update id already handled; a redelivery stops here."""

    __tablename__ = "processed_update"
    channel: str = Field(max_length=16, primary_key=True)
    update_id: str = Field(max_length=64, primary_key=True)
    processed_at: datetime = Field(default_factory=utcnow, index=True)


class Resident(SQLModel, table=True):
    """A person who talks to the bot: their alert subscription and reachability."""

    __table_args__ = (UniqueConstraint("channel", "user_id"),)
    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    user_id: str = Field(max_length=64)
    subscribed: bool = False
    area: str | None = Field(default=None, max_length=32)
    subscribed_at: datetime | None = None
    # The platform refused delivery (user blocked the bot): stop trying.
    blocked: bool = False
    # Opted in to the weekly awareness tip (besides alerts).
    weekly_tips: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class Consent(SQLModel, table=True):
    """A resident's agreement to a purpose, with the exact text version they saw."""

    id: int | None = Field(default=None, primary_key=True)
    resident_id: int = Field(foreign_key="resident.id", index=True)
    purpose: str = Field(max_length=32)
    text_version: str = Field(max_length=32)
    given_at: datetime = Field(default_factory=utcnow)


class Report(SQLModel, table=True):
    """A tip-off about a scam or trafficking, from submission to decision."""

    __table_args__ = (
        Index("ix_report_status_created", "status", "created_at"),
        # The console's queue: open reports, urgent first (db/queue.py).
        Index("ix_report_urgent_status", "status", "urgent", "created_at"),
        Index("ix_report_claimed_by", "claimed_by"),
        Index("ix_report_area", "area"),
    )
    id: int | None = Field(default=None, primary_key=True)
    receipt_code: str = Field(max_length=9, unique=True)
    channel: str = Field(max_length=16)
    # Who reported, as the app reaches them ("channel:user_id"), sealed; and a keyed tag of
    # the same (db/sealing.py) to find a resident's own reports. The database alone does not
    # say whose a report is. Both NULL once the reporter erases their data.
    reporter: str | None = Field(default=None, sa_column=Column(SealedText("report.reporter")))
    reporter_tag: str | None = Field(default=None, max_length=64, index=True)
    # The reporter's area when they reported (a ward code from content/areas), for routing
    # and statistics.
    area: str | None = Field(default=None, max_length=32)
    scam_type: str = Field(max_length=32)
    urgent: bool = False
    account: str = Field(sa_column=Column(SealedText("report.account"), nullable=False))
    victim_info: str | None = Field(
        default=None, sa_column=Column(SealedText("report.victim_info"))
    )
    amount_vnd: int | None = Field(default=None, sa_column=Column(BigInteger))
    occurred_on: date | None = None
    anonymous: bool = True
    contact_phone: str | None = Field(
        default=None, sa_column=Column(SealedText("report.contact_phone"))
    )
    consent_version: str = Field(max_length=32)
    status: str = Field(default="moi", max_length=24)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    ack_due_at: datetime | None = None
    resolve_due_at: datetime | None = None
    # The tip card in the police chat, edited in place as the report moves.
    card_message_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    # The Telegram group that card is in (its unit's, or POLICE_CHAT_ID's when None).
    card_chat_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    claimed_by: int | None = Field(default=None, foreign_key="officer.id")
    # The police unit that handles it (db/units.py): the unit of the reporter's area, else the
    # province's; an officer may transfer it.
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    # Handed up to the ward's leads (by an officer, or unclaimed past an urgent deadline).
    escalated_at: datetime | None = None
    # When retention cleared the account, whereabouts, phone and reporter (db/retention.py).
    cleared_at: datetime | None = None


# Every status at once, in the queue's order: a deep page of "all" is an index walk, not a
# sort of every report (db/queue.py, bench/README.md).
Index(
    "ix_report_queue_order",
    col(Report.urgent).desc(),
    col(Report.created_at),
    col(Report.id),
)


class Officer(SQLModel, table=True):
    """A member of ward staff and what they may do (officer, lead, staff, admin)."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=128)
    role: str = Field(max_length=16)
    telegram_id: int | None = Field(default=None, sa_column=Column(BigInteger, unique=True))
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)
    # The console account: chosen at set-up (db/accounts.py), none until then.
    username: str | None = Field(default=None, max_length=64, unique=True)
    password_hash: str | None = Field(default=None, sa_column=Column(Text))
    # RFC 6238 secret (base32); leads and admins must enrol one before they act.
    totp_secret: str | None = Field(
        default=None, sa_column=Column(SealedText("officer.totp_secret"))
    )
    totp_enrolled_at: datetime | None = None
    # The last TOTP time step used: a code is accepted once.
    totp_last_step: int | None = Field(default=None, sa_column=Column(BigInteger))
    # The officer's Zalo account with the ward's OA, linked to receive notices there.
    zalo_id: str | None = Field(default=None, max_length=64, unique=True)
    # How the officer wants notices: any of "webpush", "zalo", "telegram".
    notify_by: list[str] = Field(
        default_factory=lambda: ["webpush", "telegram"], sa_column=Column(JSON, nullable=False)
    )
    # The police unit the officer belongs to (issue 15 adds units; one unit until then).
    unit_id: int | None = Field(default=None, index=True)


class Unit(SQLModel, table=True):
    """A police unit: a ward's or commune's police, or the province's, which sees them all.
    A single-ward deployment has one, made by the migration."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=128)
    kind: str = Field(default="ward", max_length=16)  # "ward" or "province"
    # Told to residents of its areas (the menu's duty line); empty: the hotlines file's.
    duty_phone: str = Field(default="", max_length=32)
    address: str = Field(default="", max_length=255)
    # Its own deadlines, if it sets them (else the deployment's settings).
    ack_hours: float | None = None
    urgent_ack_minutes: float | None = None
    resolve_days: int | None = None
    # Its own Telegram police group for tip cards and the digest (else POLICE_CHAT_ID's).
    telegram_chat_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    created_at: datetime = Field(default_factory=utcnow)


class Area(SQLModel, table=True):
    """A commune or ward a resident can live in, and the unit its reports go to. Loaded from a
    province's CSV (`canhgiac unit import`); while none is loaded, content/areas.yaml's list
    serves, all of it the one unit's."""

    code: str = Field(max_length=32, primary_key=True)
    name: str = Field(max_length=128)
    # The name folded (lower case, no accents) for residents who type it.
    folded: str = Field(max_length=128, index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)


class ReportEvent(SQLModel, table=True):
    """The audit trail: who moved a report, when, from what to what, and why."""

    __tablename__ = "report_event"
    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="report.id", index=True)
    at: datetime = Field(default_factory=utcnow)
    # The name as it was then (an officer's name may be 128 long) or a role word.
    actor: str = Field(max_length=128)
    # The officer who acted, when one did: who they are, whatever their name becomes.
    officer_id: int | None = Field(default=None, foreign_key="officer.id", index=True)
    action: str = Field(max_length=32)
    from_status: str | None = Field(default=None, max_length=24)
    to_status: str | None = Field(default=None, max_length=24)
    note: str | None = Field(default=None, sa_column=Column(SealedText("report_event.note")))


class Identifier(SQLModel, table=True):
    """A normalised phone, bank account, link or social account named in reports."""

    __table_args__ = (UniqueConstraint("kind", "value", "bank"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=8)
    value: str = Field(max_length=255)
    # Empty string, not NULL, so the unique constraint holds for non-bank kinds too.
    bank: str = Field(default="", max_length=32)
    display: str = Field(max_length=255)
    confirmed_scam: bool = False
    confirmed_at: datetime | None = None
    confirmed_by: int | None = Field(default=None, foreign_key="officer.id")
    confirm_reason: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow)


class ReportIdentifier(SQLModel, table=True):
    """Which identifiers a report names."""

    __tablename__ = "report_identifier"
    report_id: int = Field(foreign_key="report.id", primary_key=True)
    identifier_id: int = Field(foreign_key="identifier.id", primary_key=True, index=True)


class Evidence(SQLModel, table=True):
    """A photo a resident sent with a report; held for the draft until it is submitted."""

    id: int | None = Field(default=None, primary_key=True)
    report_id: int | None = Field(default=None, foreign_key="report.id", index=True)
    # The draft it belongs to, "channel:user", until the report is saved.
    draft_owner: str | None = Field(default=None, max_length=96, index=True)
    sha256: str = Field(max_length=64)
    size: int
    mime: str = Field(default="image/jpeg", max_length=64)
    data: bytes = Field(sa_column=Column(SealedBytes("evidence.data"), nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class Outbox(SQLModel, table=True):
    """A message owed to someone, committed with the change that caused it."""

    __table_args__ = (Index("ix_outbox_due", "status", "priority", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    recipient: str = Field(max_length=64)
    kind: str = Field(max_length=24)
    payload: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(SealedJSON("outbox.payload"), nullable=False)
    )
    # 0 = a reply someone waits for; larger = bulk, sent after.
    priority: int = 0
    status: str = Field(default="pending", max_length=12)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    # Whoever holds the lease sends; an expired lease means the holder died.
    lease_until: datetime | None = None
    report_id: int | None = Field(default=None, foreign_key="report.id")
    last_error: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None


class Throttle(SQLModel, table=True):
    """A fixed-window counter, e.g. receipt-code guesses per user per hour."""

    key: str = Field(max_length=128, primary_key=True)
    window_start: datetime
    count: int = 0


class AppSecret(SQLModel, table=True):
    """A secret the app generates or rotates itself (webhook secret, platform tokens)."""

    __tablename__ = "app_secret"
    key: str = Field(max_length=64, primary_key=True)
    value: str = Field(sa_column=Column(SealedText("app_secret.value"), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow)


class Invite(SQLModel, table=True):
    """A one-time code an admin gives a new officer to bind their Telegram account."""

    code: str = Field(max_length=16, primary_key=True)
    role: str = Field(max_length=16)
    created_by: int = Field(foreign_key="officer.id")
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_by: int | None = Field(default=None, foreign_key="officer.id")
    used_at: datetime | None = None


class JobRun(SQLModel, table=True):
    """A scheduled job's run for one period (a day's digest, a report's fifth-minute
    reminder): the key is taken with the run's messages in one transaction, so a job
    fires once however many processes tick, and again after a crash before commit."""

    __tablename__ = "job_run"
    key: str = Field(max_length=64, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)


class Broadcast(SQLModel, table=True):
    """An alert to subscribers: written by staff, approved by a lead, sent at the platform's
    pace. Status: cho_duyet → da_duyet → dang_gui → da_gui, or tu_choi / da_huy."""

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(default="alert", max_length=8)  # "alert", or "tip" (the weekly tip)
    text: str = Field(sa_column=Column(Text, nullable=False))
    photo: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    link_url: str | None = Field(default=None, max_length=512)
    link_label: str | None = Field(default=None, max_length=64)
    # "all", "area:<code>", "channel:<name>", "unit:<id>[,<id>…]" (a province: many units).
    audience: str = Field(default="all", max_length=4096)
    send_at: datetime = Field(default_factory=utcnow)
    status: str = Field(default="cho_duyet", max_length=12, index=True)
    author_id: int | None = Field(default=None, foreign_key="officer.id")
    author: str = Field(max_length=128)
    decided_by: str | None = Field(default=None, max_length=128)
    decided_at: datetime | None = None
    reason: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None


class Delivery(SQLModel, table=True):
    """One broadcast to one resident: claimed, sent and marked on its own, so a crash or a
    second worker neither skips nor repeats anyone."""

    __table_args__ = (
        UniqueConstraint("broadcast_id", "resident_id"),
        Index("ix_delivery_due", "status", "next_attempt_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    broadcast_id: int = Field(foreign_key="broadcast.id", index=True)
    # Unlinked (NULL, recipient blanked) when the resident erases their data; the count stays.
    resident_id: int | None = Field(default=None, foreign_key="resident.id", index=True)
    channel: str = Field(max_length=16)
    recipient: str = Field(max_length=64)
    # pending → sent | blocked | failed; "waiting" until the resident writes again (channels
    # that may only answer recent contacts).
    status: str = Field(default="pending", max_length=12)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    lease_until: datetime | None = None
    sent_at: datetime | None = None
    last_error: str | None = Field(default=None, max_length=255)


class FailedUpdate(SQLModel, table=True):
    """An update from a platform that could not be handled after a few tries: set aside so
    the updates behind it go on, kept whole for an admin to see and replay."""

    __tablename__ = "failed_update"
    __table_args__ = (UniqueConstraint("channel", "update_id"),)
    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    update_id: str = Field(max_length=64)
    body: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(SealedJSON("failed_update.body"), nullable=False)
    )
    error: str = Field(sa_column=Column(Text, nullable=False))
    attempts: int = 0
    # failed → replay (an admin asked) → replayed, or failed again.
    status: str = Field(default="failed", max_length=12, index=True)
    failed_at: datetime = Field(default_factory=utcnow)
    replayed_at: datetime | None = None


class IdentifierEvent(SQLModel, table=True):
    """A confirmation of one identifier as a scammer's, or its withdrawal: who, when, why."""

    __tablename__ = "identifier_event"
    id: int | None = Field(default=None, primary_key=True)
    identifier_id: int = Field(foreign_key="identifier.id", index=True)
    at: datetime = Field(default_factory=utcnow)
    officer_id: int | None = Field(default=None, foreign_key="officer.id")
    actor: str = Field(max_length=128)
    action: str = Field(max_length=16)  # "confirm" or "withdraw"
    reason: str = Field(sa_column=Column(Text, nullable=False))
    report_id: int | None = Field(default=None, foreign_key="report.id")


class SetupToken(SQLModel, table=True):
    """A one-time link for an officer to choose their username and password (24 hours).
    Only the token's hash is kept: the database alone cannot be used to sign in."""

    __tablename__ = "setup_token"
    token_hash: str = Field(max_length=64, primary_key=True)
    officer_id: int = Field(foreign_key="officer.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: datetime | None = None
    # A sign-in link (make run's local admin) signs straight in; a set-up link sets a password.
    purpose: str = Field(default="setup", max_length=8)


class ConsoleSession(SQLModel, table=True):
    """A signed-in browser. The cookie holds a random token; the row holds its hash, so
    ending a session (or deactivating its officer) takes effect on the next request."""

    __tablename__ = "console_session"
    token_hash: str = Field(max_length=64, primary_key=True)
    officer_id: int = Field(foreign_key="officer.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    ended_at: datetime | None = None
    # The second factor was given in this session (leads and admins need it to act).
    verified_at: datetime | None = None
    # A TOTP secret shown to this session for enrolment, until it is confirmed.
    pending_totp: str | None = Field(
        default=None, sa_column=Column(SealedText("console_session.pending_totp"))
    )
    csrf: str = Field(max_length=64)
    address: str = Field(default="", max_length=64)
    agent: str = Field(default="", max_length=255)


class AuditEvent(SQLModel, table=True):
    """What an officer did in the console, and every opening of a report's personal data."""

    __tablename__ = "audit_event"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    officer_id: int | None = Field(default=None, foreign_key="officer.id", index=True)
    action: str = Field(max_length=32)
    report_id: int | None = Field(default=None, foreign_key="report.id", index=True)
    detail: str | None = Field(default=None, sa_column=Column(SealedText("audit_event.detail")))
    address: str = Field(default="", max_length=64)


class ReportWords(SQLModel, table=True):
    """A report's account folded for search (lower case, no accents), kept apart from the
    report so that searching never reads the account itself and erasing it is one row. On
    PostgreSQL a trigram index serves `LIKE '%…%'` over millions of reports."""

    __tablename__ = "report_words"
    __table_args__ = (
        Index(
            "ix_report_words_trgm",
            "words",
            postgresql_using="gin",
            postgresql_ops={"words": "gin_trgm_ops"},
        ),
    )
    report_id: int = Field(foreign_key="report.id", primary_key=True)
    words: str = Field(sa_column=Column(Text, nullable=False))


class PushSubscription(SQLModel, table=True):
    """A browser an officer allowed to show notices (Web Push, RFC 8030/8291)."""

    __tablename__ = "push_subscription"
    id: int | None = Field(default=None, primary_key=True)
    officer_id: int = Field(foreign_key="officer.id", index=True)
    endpoint: str = Field(sa_column=Column(Text, nullable=False))
    # The endpoint's SHA-256, unique: the same browser subscribing twice is one row.
    endpoint_hash: str = Field(max_length=64, unique=True)
    p256dh: str = Field(max_length=128)
    auth: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    last_ok_at: datetime | None = None


class PurgeRun(SQLModel, table=True):
    """One run of the retention purge (db/retention.py): when, whether it was only counted,
    and how many rows of each kind it cleared. Counts only: nothing about anyone."""

    __tablename__ = "purge_run"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    dry_run: bool = False
    counts: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class QuizRound(SQLModel, table=True):
    """A quiz round a resident finished: when, on which channel, and the score. Nothing
    about who: the periodic report counts rounds and the average score."""

    __tablename__ = "quiz_round"
    id: int | None = Field(default=None, primary_key=True)
    finished_at: datetime = Field(default_factory=utcnow, index=True)
    channel: str = Field(max_length=16)
    score: int
    total: int


class ScamView(SQLModel, table=True):
    """How many times a scam trick's page was opened on a day (Vietnam time): one counter
    per day and trick, nothing about who opened it."""

    __tablename__ = "scam_view"
    day: date = Field(primary_key=True)
    scam: str = Field(max_length=64, primary_key=True)
    count: int = 0
