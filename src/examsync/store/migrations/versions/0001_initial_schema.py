"""initial schema, with row-level security on PostgreSQL

Revision ID: 0001
Revises: 
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('skill_areas',
    sa.Column('slug', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('slug', name=op.f('pk_skill_areas'))
    )
    op.create_table('users',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=True),
    sa.Column('display_name', sa.String(length=200), server_default='', nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('external_subject', sa.String(length=255), nullable=True),
    sa.Column('time_multiplier', sa.Float(), server_default='1', nullable=False),
    sa.Column('extra_seconds', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email')),
    sa.UniqueConstraint('external_subject', name=op.f('uq_users_external_subject'))
    )
    op.create_table('sub_skills',
    sa.Column('slug', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('skill_area_slug', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['skill_area_slug'], ['skill_areas.slug'], name=op.f('fk_sub_skills_skill_area_slug_skill_areas')),
    sa.PrimaryKeyConstraint('slug', name=op.f('pk_sub_skills'))
    )
    op.create_table('tests',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('slug', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), server_default='', nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('timer_policy', sa.String(length=16), nullable=False),
    sa.Column('allow_untimed', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('time_multipliers', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('sub_skill_slug', sa.String(length=100), nullable=True),
    sa.Column('position', sa.Integer(), server_default='0', nullable=False),
    sa.Column('content_version', sa.Integer(), server_default='1', nullable=False),
    sa.ForeignKeyConstraint(['sub_skill_slug'], ['sub_skills.slug'], name=op.f('fk_tests_sub_skill_slug_sub_skills')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tests')),
    sa.UniqueConstraint('slug', name=op.f('uq_tests_slug'))
    )
    op.create_table('user_sub_skill_performance',
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('sub_skill_slug', sa.String(length=100), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('correct', sa.Integer(), nullable=False),
    sa.Column('points', sa.Float(), nullable=False),
    sa.Column('max_points', sa.Float(), nullable=False),
    sa.Column('sessions', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['sub_skill_slug'], ['sub_skills.slug'], name=op.f('fk_user_sub_skill_performance_sub_skill_slug_sub_skills')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_sub_skill_performance_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'sub_skill_slug', name=op.f('pk_user_sub_skill_performance'))
    )
    op.create_table('test_sections',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('test_id', sa.String(length=36), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('time_limit_seconds', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['test_id'], ['tests.id'], name=op.f('fk_test_sections_test_id_tests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_test_sections'))
    )
    with op.batch_alter_table('test_sections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_test_sections_test_id'), ['test_id'], unique=False)

    op.create_table('user_test_sessions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('test_id', sa.String(length=36), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_seq', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.BigInteger(), nullable=False),
    sa.Column('completed_at', sa.BigInteger(), nullable=True),
    sa.Column('last_activity_at', sa.BigInteger(), nullable=False),
    sa.Column('time_multiplier', sa.Float(), server_default='1', nullable=False),
    sa.Column('extra_ms', sa.Integer(), server_default='0', nullable=False),
    sa.Column('untimed', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('current_question', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=True),
    sa.Column('devices', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('answered_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('flagged_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('score', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=True),
    sa.ForeignKeyConstraint(['test_id'], ['tests.id'], name=op.f('fk_user_test_sessions_test_id_tests')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_test_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_test_sessions'))
    )
    with op.batch_alter_table('user_test_sessions', schema=None) as batch_op:
        batch_op.create_index('ix_user_test_sessions_user_id_last_activity_at', ['user_id', 'last_activity_at'], unique=False)
        batch_op.create_index('uq_user_test_sessions_one_active', ['user_id', 'test_id'], unique=True, sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"))

    op.create_table('question_attempt_history',
    sa.Column('session_id', sa.String(length=36), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('op_id', sa.String(length=36), nullable=True),
    sa.Column('fingerprint', sa.String(length=32), nullable=True),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=True),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('question_id', sa.String(length=36), nullable=True),
    sa.Column('section_id', sa.String(length=36), nullable=True),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('client_time', sa.BigInteger(), nullable=True),
    sa.Column('effective_time', sa.BigInteger(), nullable=True),
    sa.Column('server_time', sa.BigInteger(), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['session_id'], ['user_test_sessions.id'], name=op.f('fk_question_attempt_history_session_id_user_test_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('session_id', 'seq', name=op.f('pk_question_attempt_history')),
    sa.UniqueConstraint('session_id', 'op_id', name=op.f('uq_question_attempt_history_session_id_op_id'))
    )
    with op.batch_alter_table('question_attempt_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_question_attempt_history_user_id'), ['user_id'], unique=False)

    op.create_table('questions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('section_id', sa.String(length=36), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('stem', sa.Text(), nullable=False),
    sa.Column('choices', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('correct', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('numeric', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('tolerance', sa.Float(), server_default='0', nullable=False),
    sa.Column('points', sa.Float(), server_default='1', nullable=False),
    sa.Column('sub_skill_slug', sa.String(length=100), nullable=False),
    sa.Column('explanation', sa.Text(), server_default='', nullable=False),
    sa.ForeignKeyConstraint(['section_id'], ['test_sections.id'], name=op.f('fk_questions_section_id_test_sections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sub_skill_slug'], ['sub_skills.slug'], name=op.f('fk_questions_sub_skill_slug_sub_skills')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_questions'))
    )
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_questions_section_id'), ['section_id'], unique=False)

    op.create_table('test_section_states',
    sa.Column('session_id', sa.String(length=36), nullable=False),
    sa.Column('section_id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.BigInteger(), nullable=True),
    sa.Column('submitted_at', sa.BigInteger(), nullable=True),
    sa.Column('submit_reason', sa.String(length=16), nullable=True),
    sa.Column('used_ms', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('last_seen_ms', sa.BigInteger(), nullable=True),
    sa.Column('questions', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('score', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=True),
    sa.ForeignKeyConstraint(['section_id'], ['test_sections.id'], name=op.f('fk_test_section_states_section_id_test_sections')),
    sa.ForeignKeyConstraint(['session_id'], ['user_test_sessions.id'], name=op.f('fk_test_section_states_session_id_user_test_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('session_id', 'section_id', name=op.f('pk_test_section_states'))
    )
    with op.batch_alter_table('test_section_states', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_test_section_states_user_id'), ['user_id'], unique=False)


    if op.get_bind().dialect.name == "postgresql":
        _enable_row_level_security()


SESSION_TABLES = ("user_test_sessions", "test_section_states", "question_attempt_history", "user_sub_skill_performance")

# A row is visible when it belongs to the acting user, or when staff (or the
# server's own sweep) act. Both settings are transaction-local and set by the
# app at the start of every transaction; unset, they match nothing.
OWN_ROWS = (
    "user_id = current_setting('examsync.user_id', true)"
    " OR current_setting('examsync.actor_role', true) IN ('teacher', 'admin', 'system')"
)


def _enable_row_level_security() -> None:
    role = op.get_context().config.attributes.get("app_role", "examsync_app")
    # Looked up first: a migrating role without CREATEROLE may not even try to create a role a DBA already made.
    # The exception covers another migration creating it at the same moment.
    op.execute(
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN"
        f" CREATE ROLE {role} NOLOGIN NOBYPASSRLS; END IF;"
        " EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
    )
    # With one URL to migrate and serve, the migrating role is also the one that switches to the app role.
    op.execute(
        f"DO $$ BEGIN EXECUTE format('GRANT {role} TO %I', current_user);"
        " EXCEPTION WHEN others THEN NULL; END $$"
    )
    op.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}")
    for table in SESSION_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY own_rows ON {table} USING ({OWN_ROWS}) WITH CHECK ({OWN_ROWS})")


def downgrade() -> None:
    with op.batch_alter_table('test_section_states', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_test_section_states_user_id'))

    op.drop_table('test_section_states')
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_questions_section_id'))

    op.drop_table('questions')
    with op.batch_alter_table('question_attempt_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_question_attempt_history_user_id'))

    op.drop_table('question_attempt_history')
    with op.batch_alter_table('user_test_sessions', schema=None) as batch_op:
        batch_op.drop_index('uq_user_test_sessions_one_active', sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"))
        batch_op.drop_index('ix_user_test_sessions_user_id_last_activity_at')

    op.drop_table('user_test_sessions')
    with op.batch_alter_table('test_sections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_test_sections_test_id'))

    op.drop_table('test_sections')
    op.drop_table('user_sub_skill_performance')
    op.drop_table('tests')
    op.drop_table('sub_skills')
    op.drop_table('users')
    op.drop_table('skill_areas')
