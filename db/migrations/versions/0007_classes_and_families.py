"""classes and families: a student's class and a teacher's homeroom class on users (each with
its casefolded key), and guardian_links between parents and their children

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 15:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CLASS_COLUMNS = ("class_name", "class_key", "homeroom_class", "homeroom_class_key")


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        for name in CLASS_COLUMNS:
            batch_op.add_column(sa.Column(name, sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_users_class_key"), ["class_key"], unique=False)
    op.create_table(
        "guardian_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("guardian_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["guardian_id"],
            ["users.id"],
            name=op.f("fk_guardian_links_guardian_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["users.id"],
            name=op.f("fk_guardian_links_student_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guardian_links")),
        sa.UniqueConstraint(
            "guardian_id", "student_id", name=op.f("uq_guardian_links_guardian_id_student_id")
        ),
    )
    op.create_index(
        op.f("ix_guardian_links_student_id"), "guardian_links", ["student_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_guardian_links_student_id"), table_name="guardian_links")
    op.drop_table("guardian_links")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_class_key"))
        for name in reversed(CLASS_COLUMNS):
            batch_op.drop_column(name)
