"""The op path's statements, pinned: a batch of answers costs the same round trips through the seam as it did
without it (edx-submissions' assertNumQueries). On SQLite and PostgreSQL (`backend` in tests/conftest.py)."""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy import event

from examsync.services import SessionService
from examsync.store.database import Actor, Database
from examsync.store.tables import users
from tests.conftest import MINI_TESTS

STUDENT = Actor("00000000-0000-4000-a000-000000000001", "student")
DIAGNOSTIC = next(test_id for test_id, test in MINI_TESTS.items() if test["slug"] == "mini-diagnostic")
NOW = 1_700_000_000_000


def _statements(database: Database) -> list[str]:
    seen: list[str] = []

    def record(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        # The statement's kind and first table; not the transaction's own (BEGIN, naming the acting user).
        found = re.match(r"(SELECT|INSERT|UPDATE|DELETE)\b(?:.*?\b(?:FROM|INTO)\s+|\s+)(\w+)", statement, re.S)
        if found and "set_config(" not in statement:
            seen.append(f"{found[1]} {found[2]}")

    event.listen(database.engine, "before_cursor_execute", record)
    return seen


def test_a_batch_of_answers_reads_the_session_sections_and_receipts_then_writes_once_each(database_url: str) -> None:
    database = Database(database_url)
    with database.owner_transaction() as connection:
        connection.execute(users.insert().values(id=STUDENT.user_id, email="s@example.org", display_name="s",
                                                 role="student", created_at=NOW))
    service = SessionService(db=database, clock=lambda: NOW)
    try:
        session_id = service.start(STUDENT, DIAGNOSTIC)[0]["id"]
        question = MINI_TESTS[DIAGNOSTIC]["sections"][0]["questions"][0]["id"]
        statements = _statements(database)

        service.apply_ops(STUDENT, session_id, [
            {"op_id": str(uuid.uuid4()), "type": "answer", "question_id": question, "answer": answer,
             "client_time": NOW} for answer in "abc"])

        assert statements == [
            "SELECT user_test_sessions", "SELECT test_section_states", "SELECT question_attempt_history",
            "UPDATE user_test_sessions", "UPDATE test_section_states", "INSERT question_attempt_history",
        ]
    finally:
        service.close()
        database.dispose()
