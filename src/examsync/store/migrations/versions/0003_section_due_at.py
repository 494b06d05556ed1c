"""when each section can next run out of time, so the expiry sweep reads only the sections that are due

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows written before this column existed read as due at once: the next sweep
    # looks at each of them once and records its real time.
    with op.batch_alter_table("test_section_states") as batch_op:
        batch_op.add_column(sa.Column("due_at", sa.BigInteger(), server_default="0", nullable=False))
        batch_op.drop_index(batch_op.f("ix_test_section_states_status"))
        batch_op.create_index("ix_test_section_states_status_due_at", ["status", "due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("test_section_states") as batch_op:
        batch_op.drop_index("ix_test_section_states_status_due_at")
        batch_op.create_index(batch_op.f("ix_test_section_states_status"), ["status"], unique=False)
        batch_op.drop_column("due_at")
