"""runs over a sent announcement: a broadcast's kind (announcement, reminder, edit, delete)
and parent, and each of its recipient rows' source row

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 15:35:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), server_default="announcement", nullable=False)
        )
        batch_op.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_broadcasts_parent_id_broadcasts"),
            "broadcasts",
            ["parent_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_index(batch_op.f("ix_broadcasts_parent_id"), ["parent_id"], unique=False)
    with op.batch_alter_table("broadcast_recipients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_broadcast_recipients_source_id_broadcast_recipients"),
            "broadcast_recipients",
            ["source_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_index(
            batch_op.f("ix_broadcast_recipients_source_id"), ["source_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("broadcast_recipients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_broadcast_recipients_source_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_broadcast_recipients_source_id_broadcast_recipients"),
            type_="foreignkey",
        )
        batch_op.drop_column("source_id")
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_broadcasts_parent_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_broadcasts_parent_id_broadcasts"), type_="foreignkey"
        )
        batch_op.drop_column("parent_id")
        batch_op.drop_column("kind")
