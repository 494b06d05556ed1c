"""staff ops: a session paused by staff (when, by whom), section clocks that stand still, sections reopened once

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTERs (as in 0006): batch mode would rebuild these tables on SQLite, and dropping the old table would
    # cascade into the rows that refer to it.
    op.execute("ALTER TABLE user_test_sessions ADD COLUMN paused_at BIGINT")
    op.execute("ALTER TABLE user_test_sessions ADD COLUMN paused_by VARCHAR(36)")
    op.execute("ALTER TABLE user_test_sessions ADD COLUMN paused_by_name VARCHAR(200)")
    op.execute("ALTER TABLE test_section_states ADD COLUMN stopped_ms BIGINT DEFAULT 0 NOT NULL")
    op.execute("ALTER TABLE test_section_states ADD COLUMN stopped_since BIGINT")
    op.execute("ALTER TABLE test_section_states ADD COLUMN reopened BOOLEAN DEFAULT false NOT NULL")


def downgrade() -> None:
    for table, column in [("test_section_states", "reopened"), ("test_section_states", "stopped_since"),
                          ("test_section_states", "stopped_ms"), ("user_test_sessions", "paused_by_name"),
                          ("user_test_sessions", "paused_by"), ("user_test_sessions", "paused_at")]:
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
