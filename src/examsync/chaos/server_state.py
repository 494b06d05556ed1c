"""What the server holds at the end of a run, read straight from its database as the owner role.

Reading the tables, rather than the API, shows exactly what was committed, with
nothing in between that could hide or repeat an entry.
"""

from __future__ import annotations

from sqlalchemy import select

from examsync.chaos.checker import LogEntry, ServerState
from examsync.domain.timing import TimeAllowance, effective_limit_ms
from examsync.store.database import Database
from examsync.store.tables import question_attempt_history as history
from examsync.store.tables import test_section_states, test_sections, user_test_sessions, users


def read_server_state(url: str, *, grace_ms: int) -> ServerState:
    database = Database(url)
    try:
        with database.owner_transaction() as connection:
            log = tuple(
                LogEntry(session_id=row.session_id, seq=row.seq, kind=row.kind, status=row.status, op_id=row.op_id,
                         section_id=row.section_id, question_id=row.question_id, payload=row.payload or {},
                         effective_time=row.effective_time, server_time=row.server_time)
                for row in connection.execute(
                    select(history.c.session_id, history.c.seq, history.c.kind, history.c.status, history.c.op_id,
                           history.c.section_id, history.c.question_id, history.c.payload,
                           history.c.effective_time, history.c.server_time)
                    .order_by(history.c.session_id, history.c.seq)
                )
            )
            sections = connection.execute(
                select(test_section_states.c.session_id, test_section_states.c.section_id,
                       test_section_states.c.started_at, test_section_states.c.questions,
                       test_sections.c.time_limit_seconds,
                       user_test_sessions.c.time_multiplier, test_section_states.c.extra_ms,
                       user_test_sessions.c.untimed,
                       users.c.time_multiplier.label("user_multiplier"), users.c.extra_seconds.label("user_extra_s"))
                .join(test_sections, test_sections.c.id == test_section_states.c.section_id)
                .join(user_test_sessions, user_test_sessions.c.id == test_section_states.c.session_id)
                .join(users, users.c.id == user_test_sessions.c.user_id)
            ).all()
    finally:
        database.dispose()
    deadlines: dict[tuple[str, str], int] = {}
    answers: dict[tuple[str, str], object] = {}
    for row in sections:
        allowance = TimeAllowance(row.time_multiplier, row.extra_ms, row.untimed).combine(
            TimeAllowance(row.user_multiplier, row.user_extra_s * 1000))
        limit = effective_limit_ms(row.time_limit_seconds, allowance)
        # The chaos test is wall-clock timed: a section's deadline is its start plus its limit.
        if limit is not None and row.started_at is not None:
            deadlines[(row.session_id, row.section_id)] = row.started_at + limit
        for question_id, registers in (row.questions or {}).items():
            if "answer" in registers:
                answers[(row.session_id, question_id)] = registers["answer"][0]
    return ServerState(log=log, deadlines=deadlines, answers=answers, grace_ms=grace_ms)
