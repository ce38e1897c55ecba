"""edit and delete for everyone: a broadcast's content revision, and its history

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 10:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("content_revision", sa.Integer(), server_default="0", nullable=False)
        )
    op.create_table(
        "broadcast_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("at", db.types.UTCDateTime(), nullable=False),
        sa.Column("previous_text", sa.Text(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_broadcast_events_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["broadcast_id"],
            ["broadcasts.id"],
            name=op.f("fk_broadcast_events_broadcast_id_broadcasts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["broadcasts.id"],
            name=op.f("fk_broadcast_events_run_id_broadcasts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcast_events")),
    )
    op.create_index(
        op.f("ix_broadcast_events_broadcast_id_id"),
        "broadcast_events",
        ["broadcast_id", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_broadcast_events_broadcast_id_id"), table_name="broadcast_events")
    op.drop_table("broadcast_events")
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.drop_column("content_revision")
