"""Staff ops on the session aggregate: pause, resume, extend_time, force_submit, reopen_section, note."""

from __future__ import annotations

import uuid

import pytest

from examsync.domain.chain import first_break
from examsync.domain.errors import InvalidOpError, SessionCompletedError
from examsync.domain.session import Rules
from examsync.domain.staff_op_parsing import parse_staff_op, read_staff_op
from examsync.domain.staff_ops import Staff, apply_staff_batch, entry_by, student_entry
from examsync.domain.views import live_state, resume_view

from .builders import (
    DIAG_S1, DIAG_S2, HOUR, MINUTE, P_Q1, PRAC_S1, Q_MULTI, Q_NUMERIC, Q_SINGLE, SECOND, T0, diagnostic_test,
    make_session, op, practice_test,
)

S1_LIMIT = 10 * MINUTE
TEACHER = Staff("teacher-1", "Ms Rivera")


def staff_op(type: str, **fields):
    return {"op_id": str(uuid.uuid4()), "type": type, **fields}


def run(session, now, *raws, receipts=None):
    return apply_staff_batch(session, [read_staff_op(raw) for raw in raws], receipts or {}, now, TEACHER)


def started(at=T0, test=None):
    session = make_session(test or diagnostic_test())
    assert session.apply(op("navigate", at, question_id=Q_SINGLE if test is None else P_Q1), at).status == "applied"
    return session


def result(outcome, index=0):
    return outcome.results[index].as_dict()


# ----- pause and resume -----------------------------------------------------------


def test_pause_stops_the_wall_clock_and_resume_runs_it_again_from_where_it_stood():
    session = started()
    run(session, T0 + MINUTE, staff_op("pause"))
    assert session.paused and session.paused_by == "teacher-1"
    for later in (T0 + 5 * MINUTE, T0 + 2 * HOUR):
        assert session.remaining_ms(DIAG_S1, later) == S1_LIMIT - MINUTE
        assert session.deadline_ms(DIAG_S1) is None
    assert session.expire_due(T0 + 2 * HOUR) == []  # nothing runs out while paused, however long
    run(session, T0 + 2 * HOUR, staff_op("resume"))
    assert not session.paused
    assert session.remaining_ms(DIAG_S1, T0 + 2 * HOUR + MINUTE) == S1_LIMIT - 2 * MINUTE
    assert session.deadline_ms(DIAG_S1) == T0 + 2 * HOUR + S1_LIMIT - MINUTE


def test_heartbeats_while_paused_use_no_active_time():
    session = started(test=practice_test())
    session.apply(op("heartbeat", T0 + 10 * SECOND), T0 + 10 * SECOND)
    run(session, T0 + 10 * SECOND, staff_op("pause"))
    for t in range(T0 + 20 * SECOND, T0 + 5 * MINUTE, 10 * SECOND):
        assert session.apply(op("heartbeat", t), t).status == "applied"
    assert session.remaining_ms(PRAC_S1, T0 + 5 * MINUTE) == 120 * SECOND - 10 * SECOND
    run(session, T0 + 5 * MINUTE, staff_op("resume"))
    session.apply(op("heartbeat", T0 + 5 * MINUTE + 10 * SECOND), T0 + 5 * MINUTE + 10 * SECOND)
    assert session.remaining_ms(PRAC_S1, T0 + 5 * MINUTE + 10 * SECOND) == 100 * SECOND


def test_while_paused_a_students_new_op_is_refused_but_one_made_before_the_pause_is_kept():
    session = started()
    run(session, T0 + MINUTE, staff_op("pause"))
    late = session.apply(op("answer", T0 + 2 * MINUTE, question_id=Q_SINGLE, answer="b"), T0 + 2 * MINUTE)
    assert (late.status, late.code) == ("rejected", "session_paused")
    queued = session.apply(op("answer", T0 + 30 * SECOND, question_id=Q_MULTI, answer=["a"]), T0 + 3 * MINUTE,
                           clock_offset_ms=0)
    assert queued.status == "applied"
    assert session.sections[DIAG_S1].answers() == {Q_MULTI: ["a"]}


def test_a_pause_in_a_sections_offline_grace_gives_it_no_time_back():
    session = make_session(diagnostic_test(), rules=Rules(offline_grace_ms=MINUTE))
    session.apply(op("navigate", T0, question_id=Q_SINGLE), T0)
    run(session, T0 + S1_LIMIT + 10 * SECOND, staff_op("pause"))
    assert session.sections[DIAG_S1].status == "in_progress"  # within the grace: not yet expired
    session.expire_due(T0 + S1_LIMIT + MINUTE)
    assert session.sections[DIAG_S1].submit_reason == "expired"


def test_pausing_twice_or_resuming_a_running_session_is_a_clear_op_result():
    session = started()
    assert result(run(session, T0, staff_op("resume")))["code"] == "not_paused"
    run(session, T0 + SECOND, staff_op("pause"))
    again = result(run(session, T0 + 2 * SECOND, staff_op("pause")))
    assert (again["status"], again["code"]) == ("rejected", "already_paused")
    assert session.paused_at == T0 + SECOND


def test_a_paused_session_is_not_ended_by_its_idle_limit_and_resuming_restarts_the_idle_count():
    session = started()
    session.test = diagnostic_test(idle_limit_seconds=600)
    run(session, T0 + MINUTE, staff_op("pause"))
    assert session.next_rule_change() is None
    assert session.expire_due(T0 + 3 * HOUR) == [] and session.status == "active"
    run(session, T0 + 3 * HOUR, staff_op("resume"))
    assert session.next_rule_change() == (T0 + 3 * HOUR + 600 * SECOND, "idle_limit")


def test_a_break_that_ends_while_paused_starts_the_next_section_at_the_resume_not_in_the_past():
    session = make_session(diagnostic_test(break_seconds=10 * MINUTE // SECOND))
    session.begin(T0)
    session.apply(op("submit_section", T0 + MINUTE, section_id=DIAG_S1), T0 + MINUTE)
    run(session, T0 + 2 * MINUTE, staff_op("pause"))
    assert session.expire_due(T0 + HOUR) == []  # the break's end passes while paused: nothing starts
    outcome = run(session, T0 + HOUR, staff_op("resume"))
    assert result(outcome)["status"] == "applied"
    assert session.sections[DIAG_S2].status == "in_progress"
    assert session.remaining_ms(DIAG_S2, T0 + HOUR) == session.limit_ms(session.test.sections[1])
    started_entry = next(e for e in session.log if e.kind == "section_started")
    assert started_entry.payload["started_at"] == T0 + HOUR


def test_a_break_still_running_at_the_resume_goes_on_to_its_end():
    session = make_session(diagnostic_test(break_seconds=10 * MINUTE // SECOND))
    session.begin(T0)
    session.apply(op("submit_section", T0 + MINUTE, section_id=DIAG_S1), T0 + MINUTE)
    run(session, T0 + 2 * MINUTE, staff_op("pause"))
    run(session, T0 + 3 * MINUTE, staff_op("resume"))
    assert session.sections[DIAG_S2].status == "not_started"
    assert [e.kind for e in session.expire_due(T0 + 11 * MINUTE)] == ["section_started"]


def test_the_views_carry_the_pause_and_who_paused():
    session = started()
    run(session, T0 + MINUTE, staff_op("pause"))
    for view in (resume_view(session, T0 + 2 * MINUTE), live_state(session, T0 + 2 * MINUTE)):
        assert (view["paused"], view["paused_by"], view["paused_at"]) == (True, "Ms Rivera", T0 + MINUTE)


# ----- extend_time --------------------------------------------------------------------


def test_extend_time_adds_to_the_current_section_or_splits_over_the_session():
    session = started()
    run(session, T0, staff_op("extend_time", extra_seconds=60))
    run(session, T0, staff_op("extend_time", extra_seconds=60, scope="section"))
    assert session.remaining_ms(DIAG_S1, T0) == S1_LIMIT + 2 * MINUTE
    outcome = run(session, T0, staff_op("extend_time", extra_seconds=120, scope="session"))
    assert result(outcome)["status"] == "applied"
    assert session.sections[DIAG_S1].extra_ms == 3 * MINUTE and session.sections[DIAG_S2].extra_ms == MINUTE
    entry = session.log[-1]
    assert entry.kind == "staff_extend_time" and entry.payload["by"] == "teacher-1"


# ----- force_submit ------------------------------------------------------------------


def test_force_submit_completes_the_session_with_every_acknowledged_answer_scored():
    session = started()
    session.apply(op("answer", T0 + SECOND, question_id=Q_SINGLE, answer="b"), T0 + SECOND)
    run(session, T0 + MINUTE, staff_op("force_submit"))
    assert session.status == "completed" and session.completed_since_load
    assert session.sections[DIAG_S1].submit_reason == "forced"
    assert session.score is not None and session.score["correct"] == 1


def test_staff_ops_on_a_completed_session_are_refused_except_reopen():
    session = started()
    run(session, T0 + MINUTE, staff_op("force_submit"))
    for raw in (staff_op("pause"), staff_op("note", text="x"), staff_op("extend_time", extra_seconds=5)):
        with pytest.raises(SessionCompletedError):
            run(session, T0 + 2 * MINUTE, raw)
    outcome = run(session, T0 + 2 * MINUTE, staff_op("reopen_section", section_id=DIAG_S2, extra_seconds=0))
    assert result(outcome)["status"] == "applied" and session.status == "active"


# ----- reopen_section ---------------------------------------------------------------


def test_an_expired_section_reopens_once_with_the_extra_time_and_the_session_becomes_active():
    session = started()
    session.apply(op("answer", T0 + SECOND, question_id=Q_SINGLE, answer="b"), T0 + SECOND)
    session.expire_due(T0 + HOUR)  # both sections run out; the session completes
    assert session.status == "completed"
    old_score = session.score
    reopened = run(session, T0 + 2 * HOUR, staff_op("reopen_section", section_id=DIAG_S1, extra_seconds=120,
                                                      reason="fire alarm"))
    assert result(reopened)["status"] == "applied"
    assert session.status == "active" and session.score is None and session.retracted_score == old_score
    assert session.current_section.id == DIAG_S1
    assert session.remaining_ms(DIAG_S1, T0 + 2 * HOUR + MINUTE) == MINUTE
    assert session.apply(op("answer", T0 + 2 * HOUR + MINUTE, question_id=Q_MULTI, answer=["a"]),
                         T0 + 2 * HOUR + MINUTE).status == "applied"
    session.apply(op("submit_section", T0 + 2 * HOUR + MINUTE, section_id=DIAG_S1), T0 + 2 * HOUR + MINUTE)
    assert session.status == "completed"  # section two stays submitted as it was
    again = result(run(session, T0 + 3 * HOUR, staff_op("reopen_section", section_id=DIAG_S1, extra_seconds=60)))
    assert (again["status"], again["code"]) == ("rejected", "already_reopened")


def test_a_section_submitted_early_gets_back_the_time_it_had_left():
    session = started()
    session.apply(op("submit_section", T0 + 4 * MINUTE, section_id=DIAG_S1), T0 + 4 * MINUTE)
    session.apply(op("submit_section", T0 + 5 * MINUTE, section_id=DIAG_S2), T0 + 5 * MINUTE)
    run(session, T0 + HOUR, staff_op("reopen_section", section_id=DIAG_S1, extra_seconds=0))
    assert session.remaining_ms(DIAG_S1, T0 + HOUR) == S1_LIMIT - 4 * MINUTE


def test_reopen_refuses_an_open_section_and_a_section_while_another_runs():
    session = started()
    open_one = result(run(session, T0, staff_op("reopen_section", section_id=DIAG_S1, extra_seconds=0)))
    assert open_one["code"] == "section_not_submitted"
    session.apply(op("submit_section", T0 + MINUTE, section_id=DIAG_S1), T0 + MINUTE)
    session.apply(op("navigate", T0 + 20 * MINUTE, question_id=Q_NUMERIC), T0 + 20 * MINUTE)
    busy = result(run(session, T0 + 21 * MINUTE, staff_op("reopen_section", section_id=DIAG_S1, extra_seconds=0)))
    assert busy["code"] == "section_in_progress"
    unknown = result(run(session, T0, staff_op("reopen_section", section_id="nope", extra_seconds=0)))
    assert unknown["code"] == "unknown_section"


# ----- notes, receipts and the log ------------------------------------------------------


def test_a_note_is_logged_for_staff_and_redacted_for_the_student():
    session = started()
    run(session, T0, staff_op("note", text="looked at the neighbour's screen"))
    entry = session.log[-1].as_dict()
    assert entry["kind"] == "staff_note" and entry["payload"]["text"].startswith("looked")
    shown = student_entry(entry)
    assert "looked" not in str(shown) and shown["seq"] == entry["seq"] and entry_by(shown) is None
    assert entry_by(entry) == "teacher-1"


def test_a_retried_staff_op_is_a_duplicate_and_a_reused_op_id_is_refused():
    session = started()
    pause = staff_op("pause")
    first = run(session, T0, pause)
    receipts = {pause["op_id"]: (fp, result(first)["seq"]) for fp in first.new_receipts.values()}
    again = run(session, T0 + SECOND, pause, receipts=receipts)
    assert result(again) == {"op_id": pause["op_id"], "status": "duplicate", "seq": result(first)["seq"]}
    reused = run(session, T0 + SECOND, {**pause, "type": "resume"}, receipts=receipts)
    assert result(reused)["code"] == "op_id_reused"
    assert session.paused_at == T0


def test_every_staff_op_is_in_the_hash_chain():
    session = started()
    run(session, T0, staff_op("pause"), staff_op("note", text="n"), staff_op("resume"), staff_op("bogus"))
    entries = [e.as_dict() for e in session.log]
    assert [e["kind"] for e in entries][-4:] == ["staff_pause", "staff_note", "staff_resume", "staff_invalid"]
    assert first_break(session.id, session.user_id, entries, session.last_hash) is None


@pytest.mark.parametrize("raw", [
    {"type": "pause", "text": "no"},
    {"type": "extend_time"},
    {"type": "extend_time", "extra_seconds": 0},
    {"type": "extend_time", "extra_seconds": 60, "scope": "year"},
    {"type": "reopen_section", "extra_seconds": 60},
    {"type": "note", "text": "  "},
    {"type": "shutdown"},
])
def test_malformed_staff_ops_are_invalid(raw):
    with pytest.raises(InvalidOpError):
        parse_staff_op({"op_id": str(uuid.uuid4()), **raw})
