"""Classes, their students and their assignments: the queries the staff side is scoped by.

The rule (docs/staff.md): an admin (or the server itself) sees everything; a teacher sees the classes they own, the
students enrolled in them, and those students' sessions of the tests assigned to those classes; a student sees the
classes they are in and those classes' assignments. PostgreSQL checks the same rule a second time with row-level
security (migration 0006); these queries make it hold on SQLite too.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, exists, func, insert, select, update

from examsync.domain.errors import NotFoundError
from examsync.store.database import Actor
from examsync.store.tables import (
    assignment_overrides, assignments, class_students, classes, tests, user_test_sessions, users,
)

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


def sees_student(connection: Connection, actor: Actor, student_id: str) -> bool:
    """May the actor read or change this student's account-wide data (performance, time accommodation)?"""
    if actor.role in SEES_ALL or student_id == actor.user_id:
        return True
    return actor.role == "teacher" and teaches(connection, actor.user_id, student_id)


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


# ----- classes and enrolment ---------------------------------------------


def assignment_of_student(connection: Connection, user_id: str, assignment_id: str) -> Any:
    """The assignment, if it is of a class the student is enrolled in."""
    return connection.execute(
        select(assignments).join(class_students, class_students.c.class_id == assignments.c.class_id)
        .where(assignments.c.id == assignment_id, class_students.c.user_id == user_id)).mappings().first()


def enrolled(connection: Connection, class_id: str, user_id: str) -> bool:
    return connection.execute(select(class_students.c.user_id).where(
        class_students.c.class_id == class_id, class_students.c.user_id == user_id)).first() is not None


def student_counts(connection: Connection, class_ids: list[str]) -> dict[str, int]:
    if not class_ids:
        return {}
    return dict(connection.execute(
        select(class_students.c.class_id, func.count()).where(class_students.c.class_id.in_(class_ids))
        .group_by(class_students.c.class_id)).all())


def visible_classes(connection: Connection, actor: Actor) -> list[Any]:
    """A teacher's own classes, every class for an admin, a student's classes: by name."""
    query = select(classes).order_by(classes.c.name, classes.c.created_at, classes.c.id)
    return list(connection.execute(_in_visible_classes(query, actor)).mappings().all())


def _in_visible_classes(query: Any, actor: Actor) -> Any:
    """The query (which selects from `classes`) kept to the actor's classes: owned (a teacher), all (admin), or
    joined (a student)."""
    if actor.role == "teacher":
        return query.where(classes.c.owner_id == actor.user_id)
    if actor.role not in SEES_ALL:
        return query.join(class_students, class_students.c.class_id == classes.c.id).where(
            class_students.c.user_id == actor.user_id)
    return query


def class_by_code(connection: Connection, join_code: str) -> Any:
    return connection.execute(select(classes).where(classes.c.join_code == join_code)).mappings().first()


def insert_class(connection: Connection, values: dict[str, Any]) -> None:
    connection.execute(insert(classes).values(**values))


def update_class(connection: Connection, class_id: str, **values: Any) -> None:
    connection.execute(update(classes).where(classes.c.id == class_id).values(**values))


def enrol(connection: Connection, class_id: str, user_id: str, now_ms: int) -> bool:
    """Add the student to the class; False if they were in it already."""
    if enrolled(connection, class_id, user_id):
        return False
    connection.execute(insert(class_students).values(class_id=class_id, user_id=user_id, joined_at=now_ms))
    return True


def unenrol(connection: Connection, class_id: str, user_id: str) -> bool:
    return connection.execute(delete(class_students).where(
        class_students.c.class_id == class_id, class_students.c.user_id == user_id)).rowcount > 0


# ----- assignments -------------------------------------------------------


def insert_assignment(connection: Connection, values: dict[str, Any]) -> None:
    connection.execute(insert(assignments).values(**values))


def update_assignment(connection: Connection, assignment_id: str, **values: Any) -> None:
    connection.execute(update(assignments).where(assignments.c.id == assignment_id).values(**values))


def delete_assignment(connection: Connection, assignment_id: str) -> None:
    """The assignment and its overrides go; its sessions stay their students' own, no longer an attempt of it."""
    connection.execute(update(user_test_sessions).where(user_test_sessions.c.assignment_id == assignment_id)
                       .values(assignment_id=None))
    connection.execute(delete(assignment_overrides).where(assignment_overrides.c.assignment_id == assignment_id))
    connection.execute(delete(assignments).where(assignments.c.id == assignment_id))


def overrides(connection: Connection, assignment_id: str) -> dict[str, dict[str, Any]]:
    """Each overridden student's changes, by user id."""
    return {row.user_id: dict(row.changes) for row in connection.execute(
        select(assignment_overrides.c.user_id, assignment_overrides.c.changes)
        .where(assignment_overrides.c.assignment_id == assignment_id))}


def override_of(connection: Connection, assignment_id: str, user_id: str) -> dict[str, Any] | None:
    changes = connection.execute(select(assignment_overrides.c.changes).where(
        assignment_overrides.c.assignment_id == assignment_id, assignment_overrides.c.user_id == user_id)).scalar()
    return None if changes is None else dict(changes)


def put_override(connection: Connection, assignment_id: str, user_id: str, changes: dict[str, Any]) -> None:
    if override_of(connection, assignment_id, user_id) is None:
        connection.execute(insert(assignment_overrides).values(
            assignment_id=assignment_id, user_id=user_id, changes=changes))
    else:
        connection.execute(update(assignment_overrides).where(
            assignment_overrides.c.assignment_id == assignment_id, assignment_overrides.c.user_id == user_id)
            .values(changes=changes))


def delete_override(connection: Connection, assignment_id: str, user_id: str) -> bool:
    return connection.execute(delete(assignment_overrides).where(
        assignment_overrides.c.assignment_id == assignment_id, assignment_overrides.c.user_id == user_id)).rowcount > 0


def attempts(connection: Connection, assignment_id: str, user_id: str) -> list[Any]:
    """The student's attempts of the assignment (id, status), oldest first."""
    return list(connection.execute(
        select(user_test_sessions.c.id, user_test_sessions.c.status)
        .where(user_test_sessions.c.assignment_id == assignment_id, user_test_sessions.c.user_id == user_id)
        .order_by(user_test_sessions.c.started_at, user_test_sessions.c.id)).mappings().all())


def visible_assignments(connection: Connection, actor: Actor, class_id: str | None = None) -> list[Any]:
    """The assignments of the classes the actor sees (see `visible_classes`), with class name and test title,
    soonest closing first."""
    query = (select(assignments, classes.c.name.label("class_name"), tests.c.title.label("test_title"))
             .join(classes, classes.c.id == assignments.c.class_id)
             .join(tests, tests.c.id == assignments.c.test_id)
             .order_by(assignments.c.opens_at, assignments.c.created_at, assignments.c.id))
    if class_id is not None:
        query = query.where(assignments.c.class_id == class_id)
    return list(connection.execute(_in_visible_classes(query, actor)).mappings().all())


def assignment_with_names(connection: Connection, assignment_id: str) -> Any:
    return connection.execute(
        select(assignments, classes.c.name.label("class_name"), tests.c.title.label("test_title"))
        .join(classes, classes.c.id == assignments.c.class_id)
        .join(tests, tests.c.id == assignments.c.test_id)
        .where(assignments.c.id == assignment_id)).mappings().one()


def session_counts(connection: Connection, assignment_ids: list[str]) -> dict[str, int]:
    """Active sessions per assignment."""
    if not assignment_ids:
        return {}
    return dict(connection.execute(
        select(user_test_sessions.c.assignment_id, func.count())
        .where(user_test_sessions.c.assignment_id.in_(assignment_ids), user_test_sessions.c.status == "active")
        .group_by(user_test_sessions.c.assignment_id)).all())


def assigned_test_ids(connection: Connection, student_id: str) -> set[str]:
    """The tests assigned to the classes the student is in."""
    return set(connection.execute(
        select(assignments.c.test_id).join(class_students, class_students.c.class_id == assignments.c.class_id)
        .where(class_students.c.user_id == student_id)).scalars())


def taught_students(connection: Connection, teacher_id: str, test_id: str | None = None) -> set[str]:
    """The students in the teacher's classes (with `test_id`: in those of their classes that test is assigned to)."""
    query = (select(class_students.c.user_id).join(classes, classes.c.id == class_students.c.class_id)
             .where(classes.c.owner_id == teacher_id))
    if test_id is not None:
        query = query.join(assignments, assignments.c.class_id == classes.c.id).where(assignments.c.test_id == test_id)
    return set(connection.execute(query).scalars())
