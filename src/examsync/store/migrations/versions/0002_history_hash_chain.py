"""a tamper-evident hash chain over each session's log; an index for the expiry sweep

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("question_attempt_history") as batch_op:
        batch_op.add_column(sa.Column("hash", sa.String(length=64), server_default="", nullable=False))
    with op.batch_alter_table("user_test_sessions") as batch_op:
        batch_op.add_column(sa.Column("last_hash", sa.String(length=64), server_default="", nullable=False))
    with op.batch_alter_table("test_section_states") as batch_op:
        batch_op.create_index(batch_op.f("ix_test_section_states_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("test_section_states") as batch_op:
        batch_op.drop_index(batch_op.f("ix_test_section_states_status"))
    with op.batch_alter_table("user_test_sessions") as batch_op:
        batch_op.drop_column("last_hash")
    with op.batch_alter_table("question_attempt_history") as batch_op:
        batch_op.drop_column("hash")
