"""the staff side: classes, their students and assignments, per-student overrides; disabled accounts, self-study
tests, the assignment a session is an attempt of; row-level security that shows a teacher only their classes

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")


def upgrade() -> None:
    # Plain ALTERs throughout (SQLite 3.35+ and PostgreSQL): batch mode would rebuild these tables on SQLite, and
    # dropping the old table would cascade into the sessions and sections that refer to it.
    op.execute("ALTER TABLE users ADD COLUMN disabled BOOLEAN DEFAULT false NOT NULL")
    # Tests imported before stay open to every student, as they were.
    op.execute("ALTER TABLE tests ADD COLUMN self_study BOOLEAN DEFAULT true NOT NULL")
    op.create_table(
        "classes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("owner_id", sa.String(length=36), nullable=False),
        sa.Column("join_code", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_classes_owner_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_classes")),
        sa.UniqueConstraint("join_code", name=op.f("uq_classes_join_code")),
    )
    op.create_index(op.f("ix_classes_owner_id"), "classes", ["owner_id"], unique=False)
    op.create_table(
        "class_students",
        sa.Column("class_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("joined_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["class_id"], ["classes.id"], name=op.f("fk_class_students_class_id_classes"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_class_students_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("class_id", "user_id", name=op.f("pk_class_students")),
    )
    op.create_index(op.f("ix_class_students_user_id"), "class_students", ["user_id"], unique=False)
    op.create_table(
        "assignments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("class_id", sa.String(length=36), nullable=False),
        sa.Column("test_id", sa.String(length=36), nullable=False),
        sa.Column("opens_at", sa.BigInteger(), nullable=False),
        sa.Column("closes_at", sa.BigInteger(), nullable=True),
        sa.Column("max_attempts", sa.Integer(), nullable=True),
        sa.Column("time_multiplier", sa.Float(), nullable=True),
        sa.Column("extra_seconds", sa.Integer(), nullable=True),
        sa.Column("on_close", sa.String(length=16), server_default="submit", nullable=False),
        sa.Column("grace_seconds", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["class_id"], ["classes.id"], name=op.f("fk_assignments_class_id_classes"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["test_id"], ["tests.id"], name=op.f("fk_assignments_test_id_tests")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignments")),
    )
    op.create_index(op.f("ix_assignments_class_id"), "assignments", ["class_id"], unique=False)
    op.create_table(
        "assignment_overrides",
        sa.Column("assignment_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("changes", Json, nullable=False),
        sa.ForeignKeyConstraint(["assignment_id"], ["assignments.id"],
                                name=op.f("fk_assignment_overrides_assignment_id_assignments"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_assignment_overrides_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("assignment_id", "user_id", name=op.f("pk_assignment_overrides")),
    )
    op.create_index(op.f("ix_assignment_overrides_user_id"), "assignment_overrides", ["user_id"], unique=False)
    op.execute("ALTER TABLE user_test_sessions ADD COLUMN assignment_id VARCHAR(36)")
    op.create_index(op.f("ix_user_test_sessions_assignment_id"), "user_test_sessions", ["assignment_id"],
                    unique=False)
    if op.get_bind().dialect.name == "postgresql":
        _scope_teachers_to_their_classes()


ME = "current_setting('examsync.user_id', true)"
ACTOR_ROLE = "current_setting('examsync.actor_role', true)"
SEES_ALL = f"{ACTOR_ROLE} IN ('admin', 'system')"
IS_TEACHER = f"{ACTOR_ROLE} = 'teacher'"
SESSION_TABLES = ("user_test_sessions", "test_section_states", "question_attempt_history",
                  "user_sub_skill_performance")
STAFF_TABLES = ("classes", "class_students", "assignments", "assignment_overrides")

# The class tables' policies ask about each other; these functions run as the tables' owner, for whom the class
# tables' row-level security is not forced, so a policy never recurses into another. Each answers only for the
# acting user.
FUNCTIONS = {
    "examsync_my_classes()": f"""RETURNS SETOF varchar LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
        AS $$ SELECT id FROM classes WHERE owner_id = {ME}
              UNION SELECT class_id FROM class_students WHERE user_id = {ME} $$""",
    "examsync_owned_classes()": f"""RETURNS SETOF varchar LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
        AS $$ SELECT id FROM classes WHERE owner_id = {ME} $$""",
    # A teacher sees a student's sessions of a test assigned to one of the teacher's classes the student is in.
    "examsync_teacher_sees(student varchar, test varchar)": f"""RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER
        SET search_path = public
        AS $$ SELECT EXISTS (SELECT 1 FROM classes c JOIN class_students cs ON cs.class_id = c.id
                             JOIN assignments a ON a.class_id = c.id
                             WHERE c.owner_id = {ME} AND cs.user_id = student AND a.test_id = test) $$""",
    "examsync_teaches(student varchar)": f"""RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER
        SET search_path = public
        AS $$ SELECT EXISTS (SELECT 1 FROM classes c JOIN class_students cs ON cs.class_id = c.id
                             WHERE c.owner_id = {ME} AND cs.user_id = student) $$""",
}

OWN = f"user_id = {ME}"
POLICIES = {
    "user_test_sessions": f"{OWN} OR {SEES_ALL} OR ({IS_TEACHER} AND examsync_teacher_sees(user_id, test_id))",
    # A section's or a log entry's row is visible with its session (the subquery is itself under the policy above).
    "test_section_states": f"{OWN} OR {SEES_ALL} OR ({IS_TEACHER} AND EXISTS (SELECT 1 FROM user_test_sessions s"
                           " WHERE s.id = session_id))",
    "question_attempt_history": f"{OWN} OR {SEES_ALL} OR ({IS_TEACHER} AND EXISTS (SELECT 1 FROM user_test_sessions s"
                                " WHERE s.id = session_id))",
    "user_sub_skill_performance": f"{OWN} OR {SEES_ALL} OR ({IS_TEACHER} AND examsync_teaches(user_id))",
    "classes": f"{SEES_ALL} OR id IN (SELECT examsync_my_classes())",
    "class_students": f"{OWN} OR {SEES_ALL} OR class_id IN (SELECT examsync_owned_classes())",
    "assignments": f"{SEES_ALL} OR class_id IN (SELECT examsync_my_classes())",
    "assignment_overrides": f"{OWN} OR {SEES_ALL} OR assignment_id IN (SELECT a.id FROM assignments a"
                            " WHERE a.class_id IN (SELECT examsync_owned_classes()))",
}

OLD_OWN_ROWS = f"{OWN} OR {ACTOR_ROLE} IN ('teacher', 'admin', 'system')"


def _scope_teachers_to_their_classes() -> None:
    for signature, body in FUNCTIONS.items():
        op.execute(f"CREATE OR REPLACE FUNCTION {signature} {body}")
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        role = op.get_context().config.attributes.get("app_role", "examsync_app")
        op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {role}")
    for table in STAFF_TABLES:
        # Enabled, not forced: the functions above (run as the owner) read these tables unfiltered.
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    for table, rule in POLICIES.items():
        op.execute(f"DROP POLICY IF EXISTS own_rows ON {table}")
        op.execute(f"CREATE POLICY own_rows ON {table} USING ({rule}) WITH CHECK ({rule})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in SESSION_TABLES:
            op.execute(f"DROP POLICY IF EXISTS own_rows ON {table}")
            op.execute(f"CREATE POLICY own_rows ON {table} USING ({OLD_OWN_ROWS}) WITH CHECK ({OLD_OWN_ROWS})")
    op.drop_index(op.f("ix_user_test_sessions_assignment_id"), table_name="user_test_sessions")
    op.execute("ALTER TABLE user_test_sessions DROP COLUMN assignment_id")
    for table in ("assignment_overrides", "assignments", "class_students", "classes"):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        for signature in FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    op.execute("ALTER TABLE tests DROP COLUMN self_study")
    op.execute("ALTER TABLE users DROP COLUMN disabled")
