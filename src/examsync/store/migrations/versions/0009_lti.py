"""LTI 1.3: registered platforms and their deployments, the tool's signing keys, login state and used nonces,
one-time launch handoffs, pending deep links, what a platform's users, courses and resource links are here, and for
grade passback its line items and a durable outbox of scores

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('lti_keys',
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.Column('private_key_pem', sa.Text(), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('retired_at', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('kid', name=op.f('pk_lti_keys'))
    )
    op.create_table('lti_platforms',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('issuer', sa.String(length=255), nullable=False),
    sa.Column('client_id', sa.String(length=255), nullable=False),
    sa.Column('auth_login_url', sa.Text(), nullable=False),
    sa.Column('auth_token_url', sa.Text(), nullable=False),
    sa.Column('jwks_url', sa.Text(), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_platforms')),
    sa.UniqueConstraint('issuer', 'client_id', name=op.f('uq_lti_platforms_issuer_client_id'))
    )
    op.create_table('lti_deep_links',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('platform_id', sa.String(length=36), nullable=False),
    sa.Column('deployment_id', sa.String(length=255), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('return_url', sa.Text(), nullable=False),
    sa.Column('data', sa.Text(), nullable=True),
    sa.Column('settings', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('expires_at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['platform_id'], ['lti_platforms.id'], name=op.f('fk_lti_deep_links_platform_id_lti_platforms'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_lti_deep_links_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_deep_links'))
    )
    with op.batch_alter_table('lti_deep_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lti_deep_links_expires_at'), ['expires_at'], unique=False)

    op.create_table('lti_deployments',
    sa.Column('platform_id', sa.String(length=36), nullable=False),
    sa.Column('deployment_id', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['platform_id'], ['lti_platforms.id'], name=op.f('fk_lti_deployments_platform_id_lti_platforms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('platform_id', 'deployment_id', name=op.f('pk_lti_deployments'))
    )
    op.create_table('lti_handoffs',
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('landing', sa.String(length=500), nullable=False),
    sa.Column('expires_at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_lti_handoffs_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('code_hash', name=op.f('pk_lti_handoffs'))
    )
    with op.batch_alter_table('lti_handoffs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lti_handoffs_expires_at'), ['expires_at'], unique=False)

    op.create_table('lti_identities',
    sa.Column('issuer', sa.String(length=255), nullable=False),
    sa.Column('sub', sa.String(length=255), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_lti_identities_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('issuer', 'sub', name=op.f('pk_lti_identities'))
    )
    with op.batch_alter_table('lti_identities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lti_identities_user_id'), ['user_id'], unique=False)

    op.create_table('lti_line_items',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('platform_id', sa.String(length=36), nullable=False),
    sa.Column('resource_link_id', sa.String(length=255), nullable=False),
    sa.Column('lineitem_url', sa.Text(), nullable=True),
    sa.Column('lineitems_url', sa.Text(), nullable=True),
    sa.Column('scopes', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=True),
    sa.Column('score_maximum', sa.Float(), nullable=False),
    sa.Column('label', sa.String(length=300), server_default='', nullable=False),
    sa.ForeignKeyConstraint(['platform_id'], ['lti_platforms.id'], name=op.f('fk_lti_line_items_platform_id_lti_platforms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_line_items')),
    sa.UniqueConstraint('platform_id', 'resource_link_id', name=op.f('uq_lti_line_items_platform_id_resource_link_id'))
    )
    op.create_table('lti_login_states',
    sa.Column('state', sa.String(length=64), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('platform_id', sa.String(length=36), nullable=False),
    sa.Column('expires_at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['platform_id'], ['lti_platforms.id'], name=op.f('fk_lti_login_states_platform_id_lti_platforms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('state', name=op.f('pk_lti_login_states'))
    )
    with op.batch_alter_table('lti_login_states', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lti_login_states_expires_at'), ['expires_at'], unique=False)

    op.create_table('lti_nonces',
    sa.Column('platform_id', sa.String(length=36), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['platform_id'], ['lti_platforms.id'], name=op.f('fk_lti_nonces_platform_id_lti_platforms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('platform_id', 'nonce', name=op.f('pk_lti_nonces'))
    )
    with op.batch_alter_table('lti_nonces', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lti_nonces_expires_at'), ['expires_at'], unique=False)

    op.create_table('lti_contexts',
    sa.Column('platform_id', sa.String(length=36), nullable=False),
    sa.Column('context_id', sa.String(length=255), nullable=False),
    sa.Column('class_id', sa.String(length=36), nullable=False),
    sa.Column('memberships_url', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['class_id'], ['classes.id'], name=op.f('fk_lti_contexts_class_id_classes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['platform_id'], ['lti_platforms.id'], name=op.f('fk_lti_contexts_platform_id_lti_platforms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('platform_id', 'context_id', name=op.f('pk_lti_contexts'))
    )
    with op.batch_alter_table('lti_contexts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lti_contexts_class_id'), ['class_id'], unique=False)

    op.create_table('lti_grade_outbox',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('line_item_id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('session_id', sa.String(length=36), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('score_given', sa.Float(), nullable=True),
    sa.Column('score_maximum', sa.Float(), nullable=False),
    sa.Column('activity_progress', sa.String(length=32), nullable=False),
    sa.Column('grading_progress', sa.String(length=32), nullable=False),
    sa.Column('timestamp', sa.BigInteger(), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('next_attempt_at', sa.BigInteger(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('posted_at', sa.BigInteger(), nullable=True),
    sa.Column('state', sa.String(length=16), server_default='pending', nullable=False),
    sa.Column('claimed_until', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['line_item_id'], ['lti_line_items.id'], name=op.f('fk_lti_grade_outbox_line_item_id_lti_line_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_lti_grade_outbox_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_grade_outbox')),
    sa.UniqueConstraint('line_item_id', 'user_id', 'seq', name=op.f('uq_lti_grade_outbox_line_item_id_user_id_seq'))
    )
    with op.batch_alter_table('lti_grade_outbox', schema=None) as batch_op:
        batch_op.create_index('ix_lti_grade_outbox_state_next_attempt_at', ['state', 'next_attempt_at'], unique=False)

    op.create_table('lti_members',
    sa.Column('class_id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('platform_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['class_id'], ['classes.id'], name=op.f('fk_lti_members_class_id_classes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['platform_id'], ['lti_platforms.id'], name=op.f('fk_lti_members_platform_id_lti_platforms'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_lti_members_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('class_id', 'user_id', name=op.f('pk_lti_members'))
    )

    op.create_table('lti_resource_links',
    sa.Column('platform_id', sa.String(length=36), nullable=False),
    sa.Column('resource_link_id', sa.String(length=255), nullable=False),
    sa.Column('assignment_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'], name=op.f('fk_lti_resource_links_assignment_id_assignments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['platform_id'], ['lti_platforms.id'], name=op.f('fk_lti_resource_links_platform_id_lti_platforms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('platform_id', 'resource_link_id', name=op.f('pk_lti_resource_links'))
    )
    with op.batch_alter_table('lti_resource_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lti_resource_links_assignment_id'), ['assignment_id'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        _grant_to_app_role()


# System tables, like `users`: no row-level security (no student's work is in them; the services decide who reads
# them), and granted to the app role explicitly, not only through 0001's default privileges, which hold for the
# role that ran 0001 alone.
def _grant_to_app_role() -> None:
    role = op.get_context().config.attributes.get("app_role", "examsync_app")
    for table in TABLES:
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {role}")


# Children before parents, the order downgrade drops them in.
TABLES = ("lti_members", "lti_grade_outbox", "lti_line_items", "lti_resource_links", "lti_contexts", "lti_identities",
          "lti_deep_links", "lti_handoffs", "lti_nonces", "lti_login_states", "lti_keys", "lti_deployments",
          "lti_platforms")


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table)
