"""The reads behind the gradebook, an assignment's results, its item analysis and its export.

Each reads one table for a whole class or assignment at once (sessions, their sections, their logs): a report over
300 students is a handful of queries, not a few per student. Callers check who may see the class first
(`store/classes.py`); on PostgreSQL row-level security filters these rows a second time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, select

from examsync.domain.session import LogEntry
from examsync.store.tables import (
    assignment_overrides,
    assignments,
    question_attempt_history,
    test_section_states,
    tests,
    user_test_sessions,
)

# Ids per IN list: far under every backend's limit on bound parameters.
CHUNK = 500


def _chunks(ids: Sequence[str]) -> Iterator[list[str]]:
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), CHUNK):
        yield unique[start:start + CHUNK]


def class_assignments(connection: Connection, class_id: str) -> list[Any]:
    """The class's assignments with their test's title, by opening time."""
    return list(connection.execute(
        select(assignments, tests.c.title.label("test_title"))
        .join(tests, tests.c.id == assignments.c.test_id)
        .where(assignments.c.class_id == class_id)
        .order_by(assignments.c.opens_at, assignments.c.created_at, assignments.c.id)
    ).mappings().all())


def test_header(connection: Connection, test_id: str) -> Any:
    return connection.execute(
        select(tests.c.id, tests.c.slug, tests.c.title, tests.c.content_version).where(tests.c.id == test_id)
    ).mappings().first()


def overrides(connection: Connection, assignment_id: str) -> list[Any]:
    return list(connection.execute(
        select(assignment_overrides.c.user_id, assignment_overrides.c.changes)
        .where(assignment_overrides.c.assignment_id == assignment_id)
        .order_by(assignment_overrides.c.user_id)
    ).mappings().all())


def sessions_of(connection: Connection, assignment_ids: Sequence[str], user_ids: Sequence[str]) -> list[Any]:
    """Every session (whole rows) of these assignments by these students, oldest first: one query per chunk."""
    if not assignment_ids or not user_ids:
        return []
    rows: list[Any] = []
    wanted = set(user_ids)
    for chunk in _chunks(assignment_ids):
        rows += [row for row in connection.execute(
            select(user_test_sessions)
            .where(user_test_sessions.c.assignment_id.in_(chunk))
            .order_by(user_test_sessions.c.started_at, user_test_sessions.c.id)
        ).mappings() if row["user_id"] in wanted]
    return rows


def section_states(connection: Connection, session_ids: Sequence[str]) -> dict[str, list[Any]]:
    """The sections' state of each session (its questions' registers included), by session id."""
    found: dict[str, list[Any]] = {}
    for chunk in _chunks(session_ids):
        for row in connection.execute(
            select(test_section_states).where(test_section_states.c.session_id.in_(chunk))
        ).mappings():
            found.setdefault(row["session_id"], []).append(row)
    return found


_LOG_FIELDS = LogEntry.__dataclass_fields__


def logs(connection: Connection, session_ids: Sequence[str], kinds: Sequence[str] | None = None) -> dict[str, list[LogEntry]]:
    """The log of each session in seq order (only entries of `kinds`, when given), by session id."""
    found: dict[str, list[LogEntry]] = {session_id: [] for session_id in session_ids}
    for chunk in _chunks(session_ids):
        query = (select(question_attempt_history)
                 .where(question_attempt_history.c.session_id.in_(chunk))
                 .order_by(question_attempt_history.c.session_id, question_attempt_history.c.seq))
        if kinds is not None:
            query = query.where(question_attempt_history.c.kind.in_(list(kinds)))
        for row in connection.execute(query).mappings():
            found[row["session_id"]].append(LogEntry(**{k: v for k, v in row.items() if k in _LOG_FIELDS}))
    return found
