"""The tables: the school roster (users, subjects, enrollments, tutoring, families), broadcasts.

Models are dialect-neutral so the same schema runs on SQLite and PostgreSQL. Enumerated
values are stored as lowercase strings (the service document's names), timestamps as aware UTC.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from db.types import UTCDateTime, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


class Role(enum.StrEnum):
    STUDENT = "student"
    TEACHER = "teacher"
    TUTOR = "tutor"
    PARENT = "parent"
    ADMIN = "admin"


class BroadcastStatus(enum.StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    SENT = "sent"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_finished(self) -> bool:
        return self in FINISHED_STATUSES


FINISHED_STATUSES = frozenset(
    {
        BroadcastStatus.SENT,
        BroadcastStatus.COMPLETED,
        BroadcastStatus.FAILED,
        BroadcastStatus.CANCELLED,
    }
)


class BroadcastKind(enum.StrEnum):
    """What a broadcast's run does to each recipient. An announcement is what an admin
    composes; the others are runs over an announcement's delivered messages (`parent_id`),
    each recipient row pointing at the row of the message it acts on (`source_id`), so
    they reuse the engine: its pacing, retries, leases and live progress message."""

    ANNOUNCEMENT = "announcement"
    REMINDER = "reminder"  # a reply to the original, to those who have not confirmed
    EDIT = "edit"  # the original's text or caption corrected in every chat
    DELETE = "delete"  # the original deleted in every chat


class BroadcastEventKind(enum.StrEnum):
    """What happened to an announcement, in its history (`BroadcastEvent`). Reminders are
    runs of their own (`BroadcastKind.REMINDER`): no event is recorded for them, their
    rows are read as `reminded` entries beside the events (services/history.py)."""

    CREATED = "created"
    SCHEDULED = "scheduled"
    SENT = "sent"  # sending started
    EDITED = "edited"  # with the text it had before
    DELETED = "deleted"
    CANCELLED = "cancelled"
    REMINDED = "reminded"


class TargetGroup(enum.StrEnum):
    ALL_STUDENTS = "all_students"
    ALL_TEACHERS = "all_teachers"
    ALL_TUTORS = "all_tutors"
    ALL_PARENTS = "all_parents"
    BY_CLASS = "by_class"
    BY_SUBJECT = "by_subject"
    BY_TUTOR = "by_tutor"
    BY_TEACHER = "by_teacher"
    CUSTOM = "custom"


class ContentKind(enum.StrEnum):
    TEXT = "text"
    PHOTO = "photo"
    VIDEO = "video"
    DOCUMENT = "document"
    ANIMATION = "animation"


class RecipientStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


def _enum(enum_class: type[enum.StrEnum], name: str) -> Enum:
    """A VARCHAR column holding the enum's lowercase values (no native PostgreSQL ENUM)."""
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=False,
        length=16,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class User(Base):
    __tablename__ = "users"
    __table_args__ = (Index(None, "role", "is_active"), Index(None, "class_key"))

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(_enum(Role, "user_role"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    telegram_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    telegram_username: Mapped[str | None] = mapped_column(String(64))
    language_code: Mapped[str | None] = mapped_column(String(16))
    # A student's class as the roster spells it ("5B", "10А"), and for a teacher the class
    # they are homeroom teacher of. Each has a casefolded key beside it, the one compared:
    # SQLite's lower() folds ASCII only, and "10а" must match "10А".
    class_name: Mapped[str | None] = mapped_column(String(64))
    class_key: Mapped[str | None] = mapped_column(String(64))
    homeroom_class: Mapped[str | None] = mapped_column(String(64))
    homeroom_class_key: Mapped[str | None] = mapped_column(String(64))
    bot_blocked_at: Mapped[datetime | None]
    # Telegram answered "user is deactivated": the account was deleted. Kept apart from
    # bot_blocked_at (the person's choice) so previews can say which is which.
    telegram_deactivated_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Subject(Base):
    __tablename__ = "subjects"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)


class Enrollment(Base):
    __tablename__ = "enrollments"
    __table_args__ = (
        UniqueConstraint("student_id", "subject_id", "teacher_id"),
        Index(None, "subject_id"),
        Index(None, "teacher_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id", ondelete="CASCADE"))
    teacher_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class TutorAssignment(Base):
    __tablename__ = "tutor_assignments"
    __table_args__ = (UniqueConstraint("tutor_id", "student_id"), Index(None, "student_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    tutor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))


class GuardianLink(Base):
    """A family: a parent (role `parent`) and one of their children (role `student`)."""

    __tablename__ = "guardian_links"
    __table_args__ = (UniqueConstraint("guardian_id", "student_id"), Index(None, "student_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    guardian_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))


class Broadcast(Base):
    __tablename__ = "broadcasts"
    __table_args__ = (
        Index(None, "status"),
        Index(None, "scheduled_at"),
        Index(None, "created_by_id", "id"),
        Index(None, "parent_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[BroadcastKind] = mapped_column(
        _enum(BroadcastKind, "broadcast_kind"),
        default=BroadcastKind.ANNOUNCEMENT,
        server_default=BroadcastKind.ANNOUNCEMENT.value,
    )
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    target_group: Mapped[TargetGroup] = mapped_column(_enum(TargetGroup, "target_group"))
    target_filter: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Content: `message` is the text, or the caption of a media message.
    content_kind: Mapped[ContentKind] = mapped_column(
        _enum(ContentKind, "content_kind"), default=ContentKind.TEXT, server_default="text"
    )
    message: Mapped[str] = mapped_column(Text)
    entities: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    file_id: Mapped[str | None] = mapped_column(String(255))
    # Delivery options (services/options.py): a "✅ I have read it" button on every
    # delivered message, no sound, no forwarding or saving, sent even in quiet hours.
    ask_confirmation: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    silent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    protected: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    urgent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # An automatic reminder to those who have not confirmed, this long after sending
    # starts (services/reminders.py); NULL: none.
    auto_remind_after_minutes: Mapped[int | None] = mapped_column(Integer)
    # One more at every correction of the text (services/amend.py): a run sending the
    # announcement records its results only under the revision it sends, so a message
    # that went out with the previous text is corrected before it is counted.
    content_revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    recipient_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    sent_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failed_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    error_log: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    status: Mapped[BroadcastStatus] = mapped_column(
        _enum(BroadcastStatus, "broadcast_status"), default=BroadcastStatus.DRAFT
    )
    scheduled_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    # The admin's live progress message, kept so a resumed broadcast edits the same one,
    # and the language it is drawn in (that admin's; NULL: the bot's default language).
    progress_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_language: Mapped[str | None] = mapped_column(String(16))
    # Which bot instance sends it, until when (services/lease.py): one sender per broadcast.
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    created_by: Mapped[User | None] = relationship(lazy="raise")

    @property
    def pending_count(self) -> int:
        return max(self.recipient_count - self.sent_count - self.failed_count, 0)


class BroadcastRecipient(Base):
    __tablename__ = "broadcast_recipients"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "recipient_id"),
        Index(None, "broadcast_id", "status"),
        Index(None, "telegram_sent"),
        Index(None, "recipient_id"),
        Index(None, "broadcast_id", "confirmed_at"),  # counting confirmations
        Index(None, "source_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # In a reminder, edit or delete run: the announcement's row whose message this acts on.
    source_id: Mapped[int | None] = mapped_column(
        ForeignKey("broadcast_recipients.id", ondelete="CASCADE")
    )
    status: Mapped[RecipientStatus] = mapped_column(
        _enum(RecipientStatus, "recipient_status"),
        default=RecipientStatus.PENDING,
        server_default=RecipientStatus.PENDING.value,
    )
    telegram_sent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    telegram_message_id: Mapped[str | None] = mapped_column(String(32))
    telegram_error: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    # When the recipient pressed "I have read it" (services/confirmations.py).
    confirmed_at: Mapped[datetime | None]

    recipient: Mapped[User] = relationship(lazy="raise")


class BroadcastEvent(Base):
    """One entry of an announcement's history: what happened, who did it, when; an edit
    keeps the text it replaced, and an edit or a delete names its run."""

    __tablename__ = "broadcast_events"
    __table_args__ = (Index(None, "broadcast_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    kind: Mapped[BroadcastEventKind] = mapped_column(_enum(BroadcastEventKind, "event_kind"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    previous_text: Mapped[str | None] = mapped_column(Text)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("broadcasts.id", ondelete="SET NULL"))


class InviteToken(Base):
    """A personal invite link's token, stored as its SHA-256 so a database leak reveals no links.

    A user has at most one unused token: issuing links again deletes the unused ones.
    """

    __tablename__ = "invite_tokens"
    __table_args__ = (Index(None, "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]
