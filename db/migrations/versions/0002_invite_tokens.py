"""invite tokens: hashed one-time tokens behind the personal /start links

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 10:50:36.725918
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "invite_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", db.types.UTCDateTime(), nullable=False),
        sa.Column("used_at", db.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_invite_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invite_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_invite_tokens_token_hash")),
    )
    with op.batch_alter_table("invite_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invite_tokens_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("invite_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invite_tokens_user_id"))

    op.drop_table("invite_tokens")
