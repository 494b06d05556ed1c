"""content made by staff: who owns a test, whether it is in the school's catalogue, whom it is shared with; test
drafts saved as a teacher types; images that came with an imported package

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")


def upgrade() -> None:
    # Plain ALTERs (as in 0006): batch mode would rebuild the table on SQLite and cascade into what refers to it.
    # Tests imported before belong to the school's catalogue, as they always did.
    op.execute("ALTER TABLE tests ADD COLUMN owner_id VARCHAR(36)")
    op.execute("ALTER TABLE tests ADD COLUMN in_catalogue BOOLEAN DEFAULT true NOT NULL")
    op.create_table(
        "test_shares",
        sa.Column("test_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(["test_id"], ["tests.id"], name=op.f("fk_test_shares_test_id_tests"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_test_shares_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("test_id", "user_id", name=op.f("pk_test_shares")),
    )
    op.create_table(
        "test_drafts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("owner_id", sa.String(length=36), nullable=False),
        sa.Column("test_id", sa.String(length=36), nullable=True),
        sa.Column("document", Json, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_test_drafts_owner_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_test_drafts")),
    )
    op.create_index(op.f("ix_test_drafts_owner_id"), "test_drafts", ["owner_id"], unique=False)
    op.create_table(
        "content_assets",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("test_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["test_id"], ["tests.id"], name=op.f("fk_content_assets_test_id_tests"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_assets")),
        sa.UniqueConstraint("test_id", "name", name=op.f("uq_content_assets_test_id_name")),
    )


def downgrade() -> None:
    op.drop_table("content_assets")
    op.drop_index(op.f("ix_test_drafts_owner_id"), table_name="test_drafts")
    op.drop_table("test_drafts")
    op.drop_table("test_shares")
    op.execute("ALTER TABLE tests DROP COLUMN in_catalogue")
    op.execute("ALTER TABLE tests DROP COLUMN owner_id")
