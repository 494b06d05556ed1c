"""The queries behind an assignment's proctor roster: a few set queries for all its students at once.

A roster of 300 students is read in four queries whatever its size (students, their latest attempts, those
attempts' sections, and a count over the new part of their logs), never one query per student, and without the
answers: the proctor page reads it on every open and the live feed re-reads the rows that changed, many times a
second during an exam.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from sqlalchemy import BigInteger, Connection, String, and_, bindparam, case, cast, column, func, select
from sqlalchemy.dialects.postgresql import JSONB

from examsync.store.sessions import ANSWER_COLUMNS, NEVER_DUE, SECTION_ANSWER_COLUMNS
from examsync.store.tables import (
    class_students,
    question_attempt_history,
    test_section_states,
    tests,
    user_test_sessions,
    users,
)

REJECTED = "rejected"
# Everything but the answers, which a roster does not show and which cost the most to read (JSON).
_SESSION_COLUMNS = [c for c in user_test_sessions.c if c.name not in ANSWER_COLUMNS]
_SECTION_COLUMNS = [c for c in test_section_states.c if c.name not in SECTION_ANSWER_COLUMNS]


def students(connection: Connection, class_id: str, user_ids: Collection[str] | None = None) -> list[Any]:
    """The class's students (user_id, display_name, email), by display name then email; only `user_ids` if given."""
    query = (
        select(users.c.id.label("user_id"), users.c.display_name, users.c.email)
        .join(class_students, class_students.c.user_id == users.c.id)
        .where(class_students.c.class_id == class_id)
        .order_by(users.c.display_name, users.c.email, users.c.id)
    )
    if user_ids is not None:
        query = query.where(users.c.id.in_(list(user_ids)))
    return list(connection.execute(query).mappings().all())


def student_ids(connection: Connection, class_id: str) -> set[str]:
    return set(connection.execute(
        select(class_students.c.user_id).where(class_students.c.class_id == class_id)).scalars().all())


def latest_attempts(connection: Connection, assignment_id: str, user_ids: Collection[str] | None = None) -> dict[str, Any]:
    """Each student's latest attempt of the assignment, as `store.sessions.session_row` reads a session, without
    its answers (`from_rows` makes of it a session to read the clocks of)."""
    query = (
        select(*_SESSION_COLUMNS, users.c.time_multiplier.label("user_time_multiplier"),
               users.c.extra_seconds.label("user_extra_seconds"), tests.c.content_version)
        .join(users, users.c.id == user_test_sessions.c.user_id)
        .join(tests, tests.c.id == user_test_sessions.c.test_id)
        .where(user_test_sessions.c.assignment_id == assignment_id)
        .order_by(user_test_sessions.c.started_at, user_test_sessions.c.id)
    )
    if user_ids is not None:
        query = query.where(user_test_sessions.c.user_id.in_(list(user_ids)))
    latest: dict[str, Any] = {}
    for row in connection.execute(query).mappings():
        latest[row["user_id"]] = dict(row)  # oldest first: the last one read is the latest
    return latest


def section_rows(connection: Connection, session_ids: Collection[str]) -> dict[str, list[Any]]:
    """The sections of these sessions, without their answers."""
    by_session: dict[str, list[Any]] = {session_id: [] for session_id in session_ids}
    if session_ids:
        query = select(*_SECTION_COLUMNS).where(test_section_states.c.session_id.in_(list(session_ids)))
        for row in connection.execute(query).mappings():
            by_session[row["session_id"]].append(dict(row))  # a dict answers a missing column at once
    return by_session


def log_summary(connection: Connection, spans: dict[str, tuple[int, int]]) -> dict[str, tuple[int | None, int]]:
    """Per session, over its log entries with after < seq <= upto (`spans`: session_id -> (after, upto)): when the
    latest op from a device was logged, and how many ops were rejected or applied late.

    An op is applied late when its section's deadline had passed as the server applied it: the domain takes
    such an op within the offline grace period if the student made it before the deadline (domain/session.py,
    `_open_for_change`). The deadline is the one its section records: `due_at` while it runs, `submitted_at` once
    its time ran out (an expired section is submitted as of its deadline).

    The spans travel as one JSON parameter read as a table, so the statement is the same whatever the spans
    (built and compiled once): a condition per session would be built and compiled again on every read.
    """
    if not spans:
        return {}
    statement = _LOG_SUMMARY.get(connection.dialect.name)
    if statement is None:
        statement = _LOG_SUMMARY[connection.dialect.name] = _log_summary_statement(connection.dialect.name)
    document = json.dumps([{"session_id": session_id, "after": after, "upto": upto}
                           for session_id, (after, upto) in spans.items()])
    return {session_id: (last_op_at, int(count or 0))
            for session_id, last_op_at, count in connection.execute(statement, {"spans": document})}


_LOG_SUMMARY: dict[str, Any] = {}


def _log_summary_statement(dialect: str) -> Any:
    h, s = question_attempt_history, test_section_states
    if dialect == "postgresql":
        span = func.jsonb_to_recordset(cast(bindparam("spans"), JSONB)).table_valued(
            column("session_id", String), column("after", BigInteger), column("upto", BigInteger),
        ).render_derived(name="span", with_types=True)
        session_id, after, upto = span.c.session_id, span.c.after, span.c.upto
    else:  # SQLite's json_each: one row per span
        span = func.json_each(bindparam("spans")).table_valued("value").alias("span")
        session_id, after, upto = (func.json_extract(span.c.value, f"$.{key}") for key in ("session_id", "after", "upto"))
    deadline = case(
        (s.c.status == "in_progress", s.c.due_at),
        (s.c.submit_reason == "expired", s.c.submitted_at),
        else_=NEVER_DUE,
    )
    from_device = h.c.op_id.is_not(None)
    late_or_rejected = case(
        (h.c.status == REJECTED, 1),
        (and_(from_device, h.c.server_time >= deadline), 1),
        else_=0,
    )
    return (
        select(h.c.session_id, func.max(case((from_device, h.c.server_time))), func.sum(late_or_rejected))
        .select_from(
            span.join(h, and_(h.c.session_id == session_id, h.c.seq > after, h.c.seq <= upto))
            .outerjoin(s, and_(s.c.session_id == h.c.session_id, s.c.section_id == h.c.section_id)))
        .group_by(h.c.session_id)
    )
