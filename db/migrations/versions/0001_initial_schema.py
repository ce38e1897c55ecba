"""initial schema: roster and broadcasts

Revision ID: 0001
Revises:
Create Date: 2026-11-28 10:45:45.739067
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "subjects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subjects")),
        sa.UniqueConstraint("name", name=op.f("uq_subjects_name")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("full_name", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column(
            "role",
            sa.Enum(
                "student",
                "teacher",
                "tutor",
                "parent",
                "admin",
                name="user_role",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("telegram_id", sa.BigInteger(), nullable=True),
        sa.Column("telegram_username", sa.String(length=64), nullable=True),
        sa.Column("language_code", sa.String(length=16), nullable=True),
        sa.Column("bot_blocked_at", db.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("external_id", name=op.f("uq_users_external_id")),
        sa.UniqueConstraint("telegram_id", name=op.f("uq_users_telegram_id")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_users_role_is_active"), ["role", "is_active"], unique=False
        )

    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column(
            "target_group",
            sa.Enum(
                "all_students",
                "all_teachers",
                "all_tutors",
                "all_parents",
                "by_subject",
                "by_tutor",
                "by_teacher",
                "custom",
                name="target_group",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("target_filter", sa.JSON(), nullable=False),
        sa.Column(
            "content_kind",
            sa.Enum(
                "text",
                "photo",
                "video",
                "document",
                "animation",
                name="content_kind",
                native_enum=False,
                length=16,
            ),
            server_default="text",
            nullable=False,
        ),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("entities", sa.JSON(), nullable=True),
        sa.Column("file_id", sa.String(length=255), nullable=True),
        sa.Column("recipient_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("sent_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("failed_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error_log", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "scheduled",
                "sending",
                "sent",
                "completed",
                "failed",
                "cancelled",
                name="broadcast_status",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("scheduled_at", db.types.UTCDateTime(), nullable=True),
        sa.Column("sent_at", db.types.UTCDateTime(), nullable=True),
        sa.Column("completed_at", db.types.UTCDateTime(), nullable=True),
        sa.Column("cancelled_at", db.types.UTCDateTime(), nullable=True),
        sa.Column("progress_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("progress_message_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", db.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_broadcasts_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcasts")),
    )
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_broadcasts_created_by_id_id"), ["created_by_id", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_broadcasts_scheduled_at"), ["scheduled_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_broadcasts_status"), ["status"], unique=False)

    op.create_table(
        "enrollments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("teacher_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["users.id"],
            name=op.f("fk_enrollments_student_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name=op.f("fk_enrollments_subject_id_subjects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["teacher_id"],
            ["users.id"],
            name=op.f("fk_enrollments_teacher_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollments")),
        sa.UniqueConstraint(
            "student_id",
            "subject_id",
            "teacher_id",
            name=op.f("uq_enrollments_student_id_subject_id_teacher_id"),
        ),
    )
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enrollments_subject_id"), ["subject_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_enrollments_teacher_id"), ["teacher_id"], unique=False)

    op.create_table(
        "tutor_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tutor_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["users.id"],
            name=op.f("fk_tutor_assignments_student_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tutor_id"],
            ["users.id"],
            name=op.f("fk_tutor_assignments_tutor_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tutor_assignments")),
        sa.UniqueConstraint(
            "tutor_id", "student_id", name=op.f("uq_tutor_assignments_tutor_id_student_id")
        ),
    )
    with op.batch_alter_table("tutor_assignments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tutor_assignments_student_id"), ["student_id"], unique=False
        )

    op.create_table(
        "broadcast_recipients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending", "sent", "failed", name="recipient_status", native_enum=False, length=16
            ),
            server_default="pending",
            nullable=False,
        ),
        sa.Column("telegram_sent", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("telegram_message_id", sa.String(length=32), nullable=True),
        sa.Column("telegram_error", sa.Text(), nullable=True),
        sa.Column("error_code", sa.String(length=32), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", db.types.UTCDateTime(), nullable=True),
        sa.Column("sent_at", db.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["broadcast_id"],
            ["broadcasts.id"],
            name=op.f("fk_broadcast_recipients_broadcast_id_broadcasts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["users.id"],
            name=op.f("fk_broadcast_recipients_recipient_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcast_recipients")),
        sa.UniqueConstraint(
            "broadcast_id",
            "recipient_id",
            name=op.f("uq_broadcast_recipients_broadcast_id_recipient_id"),
        ),
    )
    with op.batch_alter_table("broadcast_recipients", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_broadcast_recipients_broadcast_id_status"),
            ["broadcast_id", "status"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_broadcast_recipients_recipient_id"), ["recipient_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_broadcast_recipients_telegram_sent"), ["telegram_sent"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("broadcast_recipients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_broadcast_recipients_telegram_sent"))
        batch_op.drop_index(batch_op.f("ix_broadcast_recipients_recipient_id"))
        batch_op.drop_index(batch_op.f("ix_broadcast_recipients_broadcast_id_status"))

    op.drop_table("broadcast_recipients")
    with op.batch_alter_table("tutor_assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tutor_assignments_student_id"))

    op.drop_table("tutor_assignments")
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrollments_teacher_id"))
        batch_op.drop_index(batch_op.f("ix_enrollments_subject_id"))

    op.drop_table("enrollments")
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_broadcasts_status"))
        batch_op.drop_index(batch_op.f("ix_broadcasts_scheduled_at"))
        batch_op.drop_index(batch_op.f("ix_broadcasts_created_by_id_id"))

    op.drop_table("broadcasts")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_role_is_active"))

    op.drop_table("users")
    op.drop_table("subjects")
