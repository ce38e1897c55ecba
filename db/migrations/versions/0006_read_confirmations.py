"""read confirmations and delivery options: ask_confirmation, silent and protected on
broadcasts, confirmed_at on their recipients

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 09:12:40.118204
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        for name in ("ask_confirmation", "silent", "protected"):
            batch_op.add_column(
                sa.Column(name, sa.Boolean(), server_default=sa.false(), nullable=False)
            )
    with op.batch_alter_table("broadcast_recipients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("confirmed_at", db.types.UTCDateTime(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_broadcast_recipients_broadcast_id_confirmed_at"),
            ["broadcast_id", "confirmed_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("broadcast_recipients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_broadcast_recipients_broadcast_id_confirmed_at"))
        batch_op.drop_column("confirmed_at")
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.drop_column("protected")
        batch_op.drop_column("silent")
        batch_op.drop_column("ask_confirmation")
