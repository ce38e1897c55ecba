"""deactivated accounts: users whose Telegram account is deleted, apart from those who
blocked the bot

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 09:00:00.000000

Until now "user is deactivated" set bot_blocked_at. Users so marked whose failures say
"deactivated" get the new mark instead, from the same time; downgrading folds it back.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("telegram_deactivated_at", db.types.UTCDateTime(), nullable=True)
        )
    op.execute(
        "UPDATE users SET telegram_deactivated_at = bot_blocked_at, bot_blocked_at = NULL"
        " WHERE bot_blocked_at IS NOT NULL AND EXISTS (SELECT 1 FROM broadcast_recipients"
        " WHERE broadcast_recipients.recipient_id = users.id"
        " AND broadcast_recipients.error_code = 'deactivated')"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE users SET bot_blocked_at = telegram_deactivated_at"
        " WHERE bot_blocked_at IS NULL AND telegram_deactivated_at IS NOT NULL"
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("telegram_deactivated_at")
