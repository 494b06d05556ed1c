"""Loading and saving the session aggregate, its log and its receipts.

Every query here is scoped by the acting user's id (PostgreSQL checks it a
second time with row-level security). Loading for a write locks the session's
row, so the ops of one session are applied one transaction at a time and its
sequence numbers never collide.

The statements of the op path are built once, at import: building a SQLAlchemy
statement costs several times more than executing a built one, and these run
for every op.
"""

from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy import Connection, bindparam, case, false, insert, select, update

from examsync.domain.content import Test
from examsync.domain.errors import AccountDisabledError
from examsync.domain.session import LogEntry, QuestionState, Register, Rules, SectionState, TestSession
from examsync.domain.timing import SectionClock, TimeAllowance
from examsync.store.tables import assignments, question_attempt_history, test_section_states, tests, user_test_sessions, users


def user_allowance(connection: Connection, user_id: str) -> TimeAllowance:
    row = connection.execute(
        select(users.c.time_multiplier, users.c.extra_seconds).where(users.c.id == user_id)
    ).first()
    if row is None:
        return TimeAllowance()
    return TimeAllowance(multiplier=row.time_multiplier, extra_ms=row.extra_seconds * 1000)


def _session_row_query(scoped: bool, for_update: bool) -> Any:
    # The student's own accommodation and the test's content version come along,
    # saving two queries on the hot path.
    query = (
        select(user_test_sessions, users.c.time_multiplier.label("user_time_multiplier"),
               users.c.extra_seconds.label("user_extra_seconds"), tests.c.content_version,
               case((assignments.c.on_close == "grace", assignments.c.grace_seconds * 1000), else_=0)
               .label("close_grace_ms"))
        .join(users, users.c.id == user_test_sessions.c.user_id)
        .join(tests, tests.c.id == user_test_sessions.c.test_id)
        .outerjoin(assignments, assignments.c.id == user_test_sessions.c.assignment_id)
        .where(user_test_sessions.c.id == bindparam("session_id"))
    )
    if scoped:
        # The owner acting on their own session (the op path proves the account here): a disabled account
        # reaches none of its sessions, as if it were deleted.
        query = query.where(user_test_sessions.c.user_id == bindparam("user_id"), users.c.disabled == false())
    # Locks only the session's row, on PostgreSQL; SQLite's writer holds the whole database.
    return query.with_for_update(of=user_test_sessions) if for_update else query


_SESSION_ROW = {(scoped, for_update): _session_row_query(scoped, for_update)
                for scoped in (False, True) for for_update in (False, True)}


def user_exists(connection: Connection, user_id: str) -> bool:
    """Whether the account exists; a disabled one raises AccountDisabledError, so that a caller refusing a deleted
    account's token refuses a disabled account's with its own code."""
    row = connection.execute(select(users.c.disabled).where(users.c.id == user_id)).first()
    if row is not None and row.disabled:
        raise AccountDisabledError()
    return row is not None


def session_row(connection: Connection, session_id: str, user_id: str | None, *, for_update: bool = False) -> Any:
    """The session's row, if it exists and (unless user_id is None: staff) belongs to the user."""
    query = _SESSION_ROW[user_id is not None, for_update and connection.dialect.name == "postgresql"]
    return connection.execute(query, {"session_id": session_id, "user_id": user_id}).mappings().first()


def self_study(connection: Connection, test_id: str) -> bool:
    """May a student start this test on their own (not only as an assignment)?"""
    return bool(connection.execute(select(tests.c.self_study).where(tests.c.id == test_id)).scalar())


def active_session_id(connection: Connection, user_id: str, test_id: str) -> str | None:
    return connection.execute(
        select(user_test_sessions.c.id).where(
            user_test_sessions.c.user_id == user_id,
            user_test_sessions.c.test_id == test_id,
            user_test_sessions.c.status == "active",
        )
    ).scalar()


_SECTIONS = select(test_section_states).where(test_section_states.c.session_id == bindparam("session_id"))


def load(connection: Connection, row: Any, test: Test, rules: Rules) -> TestSession:
    return from_rows(row, connection.execute(_SECTIONS, {"session_id": row["id"]}).mappings().all(), test, rules)


# Columns that only the session's answers and score need: a reader of its clocks and counts alone leaves them out.
ANSWER_COLUMNS = frozenset({"current_question", "score", "devices"})
SECTION_ANSWER_COLUMNS = frozenset({"questions", "score"})


def from_rows(row: Any, section_rows: Iterable[Any], test: Test, rules: Rules) -> TestSession:
    """The session from its row (as `session_row` reads it) and its sections' rows, read already.

    Rows read without the answer columns (ANSWER_COLUMNS, SECTION_ANSWER_COLUMNS) give a session for reading
    its status and clocks only, never for saving: it holds no answers.
    """
    sections = {}
    for s in section_rows:
        sections[s["section_id"]] = SectionState(
            section_id=s["section_id"],
            status=s["status"],
            clock=SectionClock(s["started_at"], s["used_ms"], s["last_seen_ms"], s["stopped_ms"], s["stopped_since"]),
            submitted_at=s["submitted_at"],
            submit_reason=s["submit_reason"],
            questions={qid: QuestionState.load(q) for qid, q in (s.get("questions") or {}).items()},
            score=s.get("score"),
            extra_ms=s["extra_ms"],
            reopened=bool(s["reopened"]),
        )
    return TestSession(
        id=row["id"],
        user_id=row["user_id"],
        test=test,
        rules=rules,
        status=row["status"],
        version=row["version"],
        last_seq=row["last_seq"],
        started_at=row["started_at"],
        completed_at=row["completed_at"],
        last_activity_at=row["last_activity_at"],
        closes_at=row["closes_at"],
        close_grace_ms=row.get("close_grace_ms") or 0,
        assignment_id=row["assignment_id"],
        allowance=TimeAllowance(multiplier=row["time_multiplier"], untimed=row["untimed"]),
        user_allowance=TimeAllowance(row["user_time_multiplier"], row["user_extra_seconds"] * 1000),
        current_question=Register.load(row.get("current_question")),
        sections=sections,
        score=row.get("score"),
        last_hash=row["last_hash"],
        device_offsets=dict(row.get("devices") or {}),
        paused_at=row["paused_at"],
        paused_by=row["paused_by"],
        paused_by_name=row["paused_by_name"],
    )


# Larger than any server time: a section or session that cannot change by itself (a section untimed, not started,
# submitted, or an active_time clock that stops when no client is there; a session without a rule due).
NEVER_DUE = 2**62


def session_values(session: TestSession) -> dict[str, Any]:
    rule_change = session.next_rule_change() if session.status == "active" else None
    return {
        "status": session.status,
        "version": session.version,
        "last_seq": session.last_seq,
        "completed_at": session.completed_at,
        "last_activity_at": session.last_activity_at,
        "time_multiplier": session.allowance.multiplier,
        "untimed": session.allowance.untimed,
        "current_question": session.current_question.dump(),
        "answered_count": session.answered_count,
        "flagged_count": session.flagged_count,
        "score": session.score,
        "last_hash": session.last_hash,
        "devices": session.device_offsets,
        "closes_at": session.closes_at,
        "paused_at": session.paused_at,
        "paused_by": session.paused_by,
        "paused_by_name": session.paused_by_name,
        "due_at": NEVER_DUE if rule_change is None else rule_change[0],
    }


def section_values(state: SectionState) -> dict[str, Any]:
    return {
        "status": state.status,
        "started_at": state.clock.started_at_ms,
        "submitted_at": state.submitted_at,
        "submit_reason": state.submit_reason,
        "used_ms": state.clock.used_ms,
        "last_seen_ms": state.clock.last_seen_ms,
        "questions": {qid: q.dump() for qid, q in state.questions.items()},
        "score": state.score,
        "extra_ms": state.extra_ms,
        "stopped_ms": state.clock.stopped_ms,
        "stopped_since": state.clock.stopped_since,
        "reopened": state.reopened,
    }


def section_row(session: TestSession, section_id: str) -> dict[str, Any]:
    state = session.sections[section_id]
    deadline = session.deadline_ms(section_id) if state.status == "in_progress" else None
    return {**section_values(state), "due_at": NEVER_DUE if deadline is None else deadline}


_SECTIONS_DUE = select(test_section_states.c.session_id).distinct().where(
    test_section_states.c.status == "in_progress", test_section_states.c.due_at <= bindparam("cutoff"))
_SESSIONS_DUE = select(user_test_sessions.c.id).where(
    user_test_sessions.c.status == "active", user_test_sessions.c.due_at <= bindparam("now"))


def sessions_due(connection: Connection, now_ms: int, grace_ms: int = 0) -> list[str]:
    """The sessions with a section whose recorded time to run out is `grace_ms` or more before `now_ms`, or whose
    own rules (a break's end, the idle limit, the close time) are due by `now_ms`."""
    by_section = connection.execute(_SECTIONS_DUE, {"cutoff": now_ms - grace_ms}).scalars()
    by_rule = connection.execute(_SESSIONS_DUE, {"now": now_ms}).scalars()
    return list(dict.fromkeys([*by_section, *by_rule]))


def create(connection: Connection, session: TestSession) -> None:
    connection.execute(
        insert(user_test_sessions).values(
            id=session.id,
            user_id=session.user_id,
            test_id=session.test.id,
            started_at=session.started_at,
            assignment_id=session.assignment_id,
            **session_values(session),
        )
    )
    connection.execute(
        insert(test_section_states),
        [
            {"session_id": session.id, "section_id": sid, "user_id": session.user_id, **section_row(session, sid)}
            for sid, state in session.sections.items()
        ],
    )
    _insert_log(connection, session)


# Without .values(), an UPDATE sets the columns named by the parameters it is given.
_UPDATE_SESSION = update(user_test_sessions).where(
    user_test_sessions.c.id == bindparam("b_id"), user_test_sessions.c.user_id == bindparam("b_user_id"))
_UPDATE_SECTION = update(test_section_states).where(
    test_section_states.c.session_id == bindparam("b_session_id"),
    test_section_states.c.section_id == bindparam("b_section_id"),
    test_section_states.c.user_id == bindparam("b_user_id"),
)


def save(
    connection: Connection,
    session: TestSession,
    *,
    changed_sections: Iterable[str],
    fingerprints: dict[str, str] | None = None,
) -> list[LogEntry]:
    """Write what changed: the session row, the touched sections, the new log entries (returned)."""
    connection.execute(_UPDATE_SESSION, {"b_id": session.id, "b_user_id": session.user_id, **session_values(session)})
    sections = [
        {"b_session_id": session.id, "b_section_id": section_id, "b_user_id": session.user_id,
         **section_row(session, section_id)}
        for section_id in set(changed_sections)
    ]
    if sections:
        connection.execute(_UPDATE_SECTION, sections)
    return _insert_log(connection, session, fingerprints or {})


_INSERT_LOG = insert(question_attempt_history)


def _insert_log(connection: Connection, session: TestSession, fingerprints: dict[str, str] | None = None) -> list[LogEntry]:
    entries = list(session.log)
    if not entries:
        return entries
    connection.execute(_INSERT_LOG, log_rows(session, entries, fingerprints))
    session.log.clear()
    return entries


def log_rows(session: TestSession, entries: list[LogEntry], fingerprints: dict[str, str] | None) -> list[dict[str, Any]]:
    """The log's rows of these new entries, each with the receipt (fingerprint) of its op id, if it has one."""
    fingerprints = fingerprints or {}
    return [{**entry.as_dict(), "session_id": session.id, "user_id": session.user_id,
             "fingerprint": fingerprints.get(entry.op_id or "")} for entry in entries]


_RECEIPTS = select(
    question_attempt_history.c.op_id, question_attempt_history.c.fingerprint, question_attempt_history.c.seq
).where(
    question_attempt_history.c.session_id == bindparam("session_id"),
    question_attempt_history.c.user_id == bindparam("user_id"),
    question_attempt_history.c.op_id.in_(bindparam("op_ids", expanding=True)),
)


def receipts(connection: Connection, session_id: str, user_id: str, op_ids: list[str]) -> dict[str, tuple[str, int]]:
    """For the op_ids already logged in this session: their fingerprint and seq."""
    if not op_ids:
        return {}
    rows = connection.execute(_RECEIPTS, {"session_id": session_id, "user_id": user_id, "op_ids": op_ids})
    return {op_id: (fingerprint, seq) for op_id, fingerprint, seq in rows}


def history(connection: Connection, session_id: str, user_id: str | None, after_seq: int = 0, limit: int | None = None) -> list[LogEntry]:
    query = (
        select(question_attempt_history)
        .where(question_attempt_history.c.session_id == session_id, question_attempt_history.c.seq > after_seq)
        .order_by(question_attempt_history.c.seq)
    )
    if user_id is not None:
        query = query.where(question_attempt_history.c.user_id == user_id)
    if limit is not None:
        query = query.limit(limit)
    return [entry_from_row(row) for row in connection.execute(query).mappings()]


def entry_from_row(row: Any) -> LogEntry:
    """A log entry from its row (without the columns that are not the entry's: session, user, fingerprint)."""
    fields = LogEntry.__dataclass_fields__
    return LogEntry(**{k: v for k, v in row.items() if k in fields})
