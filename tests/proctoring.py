"""Setting up a class, its students and an assignment directly in the database, for the proctor tests and the API
examples' scenario: many students at once, and a session tied to an assignment after it started (as starting it
through the assignment does), without going through the API for each. `tests.conftest.teach` is the API way."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert, update

from examsync.store.database import SYSTEM
from examsync.store.tables import assignments, class_students, classes, user_test_sessions


def teach(client: Any, teacher_id: str, student_ids: list[str], test_id: str, *, now: int = 0) -> str:
    """A class of the teacher's with these students, and an assignment of the test to it: its id."""
    database = client.app.state.database
    class_id, assignment_id = str(uuid.uuid4()), str(uuid.uuid4())
    with database.transaction(SYSTEM, write=True) as connection:
        connection.execute(insert(classes).values(id=class_id, name="Period 3", owner_id=teacher_id,
                                                  join_code=uuid.uuid4().hex[:8], created_at=now))
        if student_ids:
            connection.execute(insert(class_students), [
                {"class_id": class_id, "user_id": user_id, "joined_at": now} for user_id in student_ids])
        connection.execute(insert(assignments).values(
            id=assignment_id, class_id=class_id, test_id=test_id, opens_at=now, created_by=teacher_id, created_at=now))
    return assignment_id


def enrol(client: Any, assignment_id: str, student_id: str) -> None:
    database = client.app.state.database
    with database.transaction(SYSTEM, write=True) as connection:
        class_id = connection.execute(assignments.select().where(assignments.c.id == assignment_id)).mappings().one()[
            "class_id"]
        connection.execute(insert(class_students).values(class_id=class_id, user_id=student_id, joined_at=0))


def attempt_of(client: Any, session_id: str, assignment_id: str) -> None:
    """Tie a session to the assignment, as starting it with `assignment_id` does."""
    with client.app.state.database.transaction(SYSTEM, write=True) as connection:
        connection.execute(update(user_test_sessions).where(user_test_sessions.c.id == session_id)
                           .values(assignment_id=assignment_id))
