"""how a timed session ends by itself: each test's break and idle limit, and each session's close time and due time

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Tests imported before get the documented defaults; sessions read as due at once, so the next
    # sweep looks at each active one once and records its real time.
    with op.batch_alter_table("tests") as batch_op:
        batch_op.add_column(sa.Column("break_seconds", sa.Integer(), server_default="600", nullable=True))
        batch_op.add_column(sa.Column("idle_limit_seconds", sa.Integer(), server_default="86400", nullable=True))
    with op.batch_alter_table("user_test_sessions") as batch_op:
        batch_op.add_column(sa.Column("closes_at", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("due_at", sa.BigInteger(), server_default="0", nullable=False))
        batch_op.create_index("ix_user_test_sessions_status_due_at", ["status", "due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("user_test_sessions") as batch_op:
        batch_op.drop_index("ix_user_test_sessions_status_due_at")
        batch_op.drop_column("due_at")
        batch_op.drop_column("closes_at")
    with op.batch_alter_table("tests") as batch_op:
        batch_op.drop_column("idle_limit_seconds")
        batch_op.drop_column("break_seconds")
