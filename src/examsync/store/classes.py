"""Classes, their students and their assignments: the queries the staff side is scoped by.

The rule (docs/staff.md): an admin (or the server itself) sees everything; a teacher sees the classes they own, the
students enrolled in them, and those students' sessions of the tests assigned to those classes; a student sees the
classes they are in and those classes' assignments. PostgreSQL checks the same rule a second time with row-level
security (migration 0006); these queries make it hold on SQLite too.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, exists, select

from examsync.domain.errors import NotFoundError
from examsync.store.database import Actor
from examsync.store.tables import assignments, class_students, classes, user_test_sessions, users

SEES_ALL = ("admin", "system")


def teacher_sees_session(connection: Connection, teacher_id: str, student_id: str, test_id: str) -> bool:
    """Is the student in one of the teacher's classes, with this test assigned to that class?"""
    return bool(connection.execute(select(exists().where(
        classes.c.owner_id == teacher_id,
        class_students.c.class_id == classes.c.id,
        class_students.c.user_id == student_id,
        assignments.c.class_id == classes.c.id,
        assignments.c.test_id == test_id,
    ))).scalar())


def teaches(connection: Connection, teacher_id: str, student_id: str) -> bool:
    """Is the student enrolled in one of the teacher's classes?"""
    return bool(connection.execute(select(exists().where(
        classes.c.owner_id == teacher_id,
        class_students.c.class_id == classes.c.id,
        class_students.c.user_id == student_id,
    ))).scalar())


def sees_session(connection: Connection, actor: Actor, session_row: Any) -> bool:
    """May the actor read this session (a row of user_test_sessions)?"""
    if actor.role in SEES_ALL or session_row["user_id"] == actor.user_id:
        return True
    if actor.role == "teacher":
        return teacher_sees_session(connection, actor.user_id, session_row["user_id"], session_row["test_id"])
    return False


def class_row(connection: Connection, actor: Actor, class_id: str) -> Any:
    """The class, if the actor owns it (a teacher), is in it (a student) or sees all; otherwise 404."""
    row = connection.execute(select(classes).where(classes.c.id == class_id)).mappings().first()
    if row is None or not _in_class(connection, actor, row):
        raise NotFoundError("no such class")
    return row


def assignment_row(connection: Connection, actor: Actor, assignment_id: str) -> Any:
    """The assignment, if its class is visible to the actor (see `class_row`); otherwise 404."""
    row = connection.execute(select(assignments).where(assignments.c.id == assignment_id)).mappings().first()
    if row is None:
        raise NotFoundError("no such assignment")
    owner = connection.execute(select(classes).where(classes.c.id == row["class_id"])).mappings().first()
    if owner is None or not _in_class(connection, actor, owner):
        raise NotFoundError("no such assignment")
    return row


def is_staff_of(actor: Actor, class_row_: Any) -> bool:
    """Does the actor run this class (its owner, or someone who sees all)?"""
    return actor.role in SEES_ALL or (actor.role == "teacher" and class_row_["owner_id"] == actor.user_id)


def _in_class(connection: Connection, actor: Actor, row: Any) -> bool:
    if is_staff_of(actor, row):
        return True
    return connection.execute(select(class_students.c.user_id).where(
        class_students.c.class_id == row["id"], class_students.c.user_id == actor.user_id)).first() is not None


def roster(connection: Connection, class_id: str) -> list[Any]:
    """The class's students, by display name then email."""
    return list(connection.execute(
        select(users.c.id.label("user_id"), users.c.email, users.c.display_name, users.c.time_multiplier,
               users.c.extra_seconds)
        .join(class_students, class_students.c.user_id == users.c.id)
        .where(class_students.c.class_id == class_id)
        .order_by(users.c.display_name, users.c.email)
    ).mappings().all())


def assignment_sessions(connection: Connection, assignment_id: str) -> list[Any]:
    """Every attempt of the assignment: (id, user_id, status, started_at), oldest first."""
    return list(connection.execute(
        select(user_test_sessions.c.id, user_test_sessions.c.user_id, user_test_sessions.c.status,
               user_test_sessions.c.started_at)
        .where(user_test_sessions.c.assignment_id == assignment_id)
        .order_by(user_test_sessions.c.started_at, user_test_sessions.c.id)
    ).mappings().all())
