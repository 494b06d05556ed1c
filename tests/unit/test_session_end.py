"""How a timed session ends by itself: breaks between sections, the idle limit and the hard close time."""

from __future__ import annotations

from examsync.domain.timing import TimeAllowance

from .builders import (
    DAY, DIAG_S1, DIAG_S2, HOUR, MINUTE, PRAC_S1, P_Q1, P_Q2, Q_NUMERIC, Q_SINGLE, SECOND, T0, diagnostic_test,
    drill_test, make_session, op, practice_test,
)

S1_LIMIT = 10 * MINUTE
S2_LIMIT = 5 * MINUTE
BREAK = 10 * MINUTE


def answer(question_id, value, t):
    return op("answer", t, question_id=question_id, answer=value)


def diag(closes_at=None, **options):
    session = make_session(diagnostic_test(**options), closes_at=closes_at)
    session.begin(T0)
    return session


def test_after_a_section_runs_out_the_next_starts_by_itself_when_the_break_is_over():
    session = diag(break_seconds=BREAK // SECOND)
    session.apply(answer(Q_SINGLE, "b", T0 + SECOND), T0 + SECOND)

    entries = session.expire_due(T0 + S1_LIMIT + BREAK)

    assert [e.kind for e in entries] == ["section_expired", "section_started"]
    assert entries[1].section_id == DIAG_S2
    assert entries[1].payload == {"rule": "break", "break_ms": BREAK, "started_at": T0 + S1_LIMIT + BREAK}
    assert session.sections[DIAG_S2].status == "in_progress"
    assert session.deadline_ms(DIAG_S2) == T0 + S1_LIMIT + BREAK + S2_LIMIT


def test_a_student_who_walked_away_gets_a_completed_scored_session():
    session = diag(break_seconds=BREAK // SECOND)
    session.apply(answer(Q_SINGLE, "b", T0 + SECOND), T0 + SECOND)

    entries = session.expire_due(T0 + DAY)

    assert [e.kind for e in entries] == ["section_expired", "section_started", "section_expired"]
    assert session.status == "completed"
    assert session.completed_at == T0 + DAY  # recorded when the server saw it; the sections at their deadlines
    assert session.sections[DIAG_S2].submitted_at == T0 + S1_LIMIT + BREAK + S2_LIMIT
    assert session.score["correct"] == 1 and session.completed_since_load


def test_the_break_also_follows_a_section_the_student_submitted():
    session = diag(break_seconds=BREAK // SECOND)
    session.apply(op("submit_section", T0 + MINUTE, section_id=DIAG_S1), T0 + MINUTE)
    assert session.expire_due(T0 + MINUTE + BREAK - 1) == []
    assert [e.kind for e in session.expire_due(T0 + MINUTE + BREAK)] == ["section_started"]
    assert session.remaining_ms(DIAG_S2, T0 + MINUTE + BREAK + MINUTE) == S2_LIMIT - MINUTE


def test_a_student_who_comes_back_within_the_break_starts_the_next_section_then():
    session = diag(break_seconds=BREAK // SECOND)
    session.expire_due(T0 + S1_LIMIT)
    back = T0 + S1_LIMIT + 2 * MINUTE
    assert session.apply(answer(Q_NUMERIC, "1", back), back).status == "applied"
    assert session.deadline_ms(DIAG_S2) == back + S2_LIMIT
    assert [e.kind for e in session.expire_due(back + S2_LIMIT)] == ["section_expired"]


def test_without_a_break_rule_the_next_section_waits_for_the_student_until_the_idle_limit():
    session = diag(break_seconds=None, idle_limit_seconds=HOUR // SECOND)
    session.expire_due(T0 + S1_LIMIT)
    assert session.next_rule_change() == (T0 + HOUR, "idle_limit")
    assert session.expire_due(T0 + HOUR - 1) == []
    assert session.sections[DIAG_S2].status == "not_started"
    [ended] = session.expire_due(T0 + HOUR)
    assert ended.kind == "session_ended"
    assert ended.payload == {"rule": "idle_limit", "ended_at": T0 + HOUR, "idle_limit_ms": HOUR,
                             "last_activity_at": T0}
    assert (session.status, session.sections[DIAG_S2].submit_reason) == ("completed", "ended")


def test_an_idle_session_ends_with_what_was_acknowledged_even_before_a_deadline():
    session = make_session(practice_test(idle_limit_seconds=HOUR // SECOND))
    session.apply(answer(P_Q1, "a", T0), T0)
    session.apply(op("heartbeat", T0 + 30 * MINUTE), T0 + 30 * MINUTE)  # a sign of life moves the limit
    assert session.expire_due(T0 + HOUR) == []

    [ended] = session.expire_due(T0 + 30 * MINUTE + HOUR + 5 * MINUTE)

    assert ended.payload["rule"] == "idle_limit" and ended.payload["ended_at"] == T0 + 30 * MINUTE + HOUR
    state = session.sections[PRAC_S1]
    assert (state.status, state.submit_reason, state.submitted_at) == ("submitted", "ended", T0 + 30 * MINUTE + HOUR)
    assert session.score["correct"] == 1 and session.score["total"] == 2
    late = T0 + 2 * HOUR
    assert session.apply(answer(P_Q2, "b", late), late).code == "session_completed"


def test_a_section_that_ran_out_before_the_idle_limit_is_recorded_as_expired_first():
    session = diag(break_seconds=None, idle_limit_seconds=HOUR // SECOND)
    session.expire_due(T0 + DAY)
    assert [e.kind for e in session.log] == ["section_expired", "session_ended"]
    assert session.sections[DIAG_S1].submit_reason == "expired"
    assert session.sections[DIAG_S2].submit_reason == "ended"


def test_practice_without_a_timer_stays_open():
    untimed = make_session(practice_test(), allowance=TimeAllowance(untimed=True))
    drill = make_session(drill_test())
    for session in (untimed, drill):
        session.begin(T0)
        assert session.next_rule_change() is None
        assert session.expire_due(T0 + 365 * DAY) == []
        assert session.status == "active"


def test_a_hard_close_time_ends_any_session_then():
    for session in (make_session(drill_test(), closes_at=T0 + HOUR), diag(closes_at=T0 + 5 * MINUTE)):
        session.begin(T0)
        close = session.closes_at
        assert session.next_rule_change() == (close, "close_time")
        assert session.expire_due(close - 1) == []
        [ended] = session.expire_due(close + MINUTE)
        assert ended.payload == {"rule": "close_time", "ended_at": close, "closes_at": close}
        assert session.status == "completed" and session.completed_at == close


def test_the_next_rule_change_is_the_earliest_of_break_idle_limit_and_close_time():
    session = diag(break_seconds=BREAK // SECOND, idle_limit_seconds=DAY // SECOND, closes_at=T0 + 2 * DAY)
    assert session.next_rule_change() == (T0 + DAY, "idle_limit")  # the first section runs, no break yet
    session.expire_due(T0 + S1_LIMIT)
    assert session.next_rule_change() == (T0 + S1_LIMIT + BREAK, "break")
