"""extra time per section of a session, so that staff give it to one section or split it over the session

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("test_section_states") as batch_op:
        batch_op.add_column(sa.Column("extra_ms", sa.BigInteger(), server_default="0", nullable=False))
    # A session's extra time used to be added to each of its sections: each keeps it.
    op.execute("UPDATE test_section_states SET extra_ms = (SELECT s.extra_ms FROM user_test_sessions s"
               " WHERE s.id = test_section_states.session_id)")
    # Plain ALTER (SQLite 3.35+ and PostgreSQL): rebuilding the table would risk its partial unique index.
    op.execute("ALTER TABLE user_test_sessions DROP COLUMN extra_ms")


def downgrade() -> None:
    # What every section of a session has is the most that can be given back to all of them.
    op.execute("ALTER TABLE user_test_sessions ADD COLUMN extra_ms INTEGER DEFAULT 0 NOT NULL")
    op.execute("UPDATE user_test_sessions SET extra_ms = COALESCE((SELECT MIN(t.extra_ms) FROM test_section_states t"
               " WHERE t.session_id = user_test_sessions.id), 0)")
    with op.batch_alter_table("test_section_states") as batch_op:
        batch_op.drop_column("extra_ms")
