"""Make a teacher the teacher of a student, for a test, straight in the database (a class, the student in it, the
test assigned to it), so staff endpoints can be tried by a teacher who is allowed to see the student's session."""

from __future__ import annotations

import uuid

from sqlalchemy import insert

from examsync.store.database import SYSTEM
from examsync.store.tables import assignments, class_students, classes
from tests.conftest import Api


def user_id_of(api: Api) -> str:
    return api.get("/me").json()["user_id"]


def teach(teacher: Api, student: Api, test_id: str) -> str:
    """Enrol the student in a new class of the teacher's with the test assigned to it; returns the class id."""
    database = teacher.client.app.state.database  # type: ignore[attr-defined]
    teacher_id, student_id = user_id_of(teacher), user_id_of(student)
    class_id, now = str(uuid.uuid4()), teacher.clock()
    with database.transaction(SYSTEM, write=True) as connection:
        connection.execute(insert(classes).values(id=class_id, name="Period 1", owner_id=teacher_id,
                                                  join_code=uuid.uuid4().hex[:8], created_at=now))
        connection.execute(insert(class_students).values(class_id=class_id, user_id=student_id, joined_at=now))
        connection.execute(insert(assignments).values(
            id=str(uuid.uuid4()), class_id=class_id, test_id=test_id, opens_at=now - 1000, created_by=teacher_id,
            created_at=now))
    return class_id
