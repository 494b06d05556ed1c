"""The session aggregate: clocks, section order, expiry, grace, latest intent wins, the log."""

from __future__ import annotations

import pytest

from examsync.domain.errors import InvalidOpError, SessionCompletedError
from examsync.domain.session import Register, Rules, receipt_status
from examsync.domain.timing import TimeAllowance, TimeChange

from .builders import (
    DAY, DIAG_S1, DIAG_S2, DRILL_S1, D_Q1, HOUR, MINUTE, NUMERIC_CORRECT, PRAC_S1, P_Q1, P_Q2, Q_MULTI,
    Q_NUMERIC, Q_SINGLE, Q_TEXT, SECOND, T0, diagnostic_test, drill_test, make_session, op, practice_test,
)

S1_LIMIT = 10 * MINUTE
S2_LIMIT = 5 * MINUTE


def diag(**kw):
    return make_session(diagnostic_test(), **kw)


def answer(question_id, value, t, **fields):
    return op("answer", t, question_id=question_id, answer=value, **fields)


def started_diag(at=T0, **kw):
    """A diagnostic whose first section was first touched at `at`."""
    session = diag(**kw)
    result = session.apply(op("navigate", at, question_id=Q_SINGLE), at)
    assert result.status == "applied"
    return session


def answer_of(session, question_id):
    section = session.test.section_of(question_id)
    return session.sections[section.id].question(question_id).answer.value


# ----- sections and their clocks ----------------------------------------------------


def test_section_clock_does_not_start_with_the_session():
    session = diag()
    assert session.sections[DIAG_S1].status == "not_started"
    assert session.remaining_ms(DIAG_S1, T0 + 5 * MINUTE) == S1_LIMIT
    assert session.deadline_ms(DIAG_S1) is None


@pytest.mark.parametrize("kind, fields", [
    ("answer", {"question_id": Q_SINGLE, "answer": "a"}),
    ("flag", {"question_id": Q_SINGLE}),
    ("note", {"question_id": Q_SINGLE, "text": "check this"}),
    ("eliminate", {"question_id": Q_SINGLE, "choice_id": "c"}),
    ("navigate", {"question_id": Q_MULTI}),
])
def test_section_clock_starts_on_first_touch(kind, fields):
    session = diag()
    touched = T0 + 5 * MINUTE
    assert session.apply(op(kind, touched, **fields), touched).status == "applied"
    state = session.sections[DIAG_S1]
    assert state.status == "in_progress"
    assert state.clock.started_at_ms == touched
    assert session.deadline_ms(DIAG_S1) == touched + S1_LIMIT
    assert session.remaining_ms(DIAG_S1, touched + MINUTE) == S1_LIMIT - MINUTE


def test_heartbeat_never_starts_a_section():
    session = diag()
    result = session.apply(op("heartbeat", T0), T0)
    assert result.status == "applied"
    assert session.sections[DIAG_S1].status == "not_started"
    assert session.sections[DIAG_S1].clock.started_at_ms is None
    assert session.remaining_ms(DIAG_S1, T0 + HOUR) == S1_LIMIT


def test_heartbeat_is_not_logged_and_gets_no_seq():
    session = started_diag()
    version, last_seq, log_length = session.version, session.last_seq, len(session.log)
    result = session.apply(op("heartbeat", T0 + SECOND), T0 + SECOND)
    assert result.status == "applied"
    assert result.seq is None
    assert "seq" not in result.as_dict()
    assert (session.version, session.last_seq, len(session.log)) == (version, last_seq, log_length)


def test_op_on_a_later_section_is_rejected_section_not_open():
    session = started_diag()
    result = session.apply(answer(Q_NUMERIC, "1", T0 + SECOND), T0 + SECOND)
    assert result.status == "rejected"
    assert result.code == "section_not_open"
    assert session.sections[DIAG_S2].status == "not_started"
    assert answer_of(session, Q_NUMERIC) is None


def test_op_on_a_later_section_does_not_start_it_even_before_the_first_is_touched():
    session = diag()
    result = session.apply(op("flag", T0, question_id=Q_TEXT), T0)
    assert result.code == "section_not_open"
    assert session.sections[DIAG_S2].clock.started_at_ms is None
    assert session.sections[DIAG_S1].status == "not_started"


def test_submit_section_for_a_later_section_is_rejected_section_not_open():
    session = started_diag()
    result = session.apply(op("submit_section", T0 + SECOND, section_id=DIAG_S2), T0 + SECOND)
    assert result.code == "section_not_open"
    assert session.sections[DIAG_S2].status == "not_started"


def test_op_on_a_submitted_section_is_rejected_section_submitted():
    session = started_diag()
    assert session.apply(op("submit_section", T0 + MINUTE, section_id=DIAG_S1), T0 + MINUTE).status == "applied"
    result = session.apply(answer(Q_SINGLE, "b", T0 + 2 * MINUTE), T0 + 2 * MINUTE)
    assert result.status == "rejected"
    assert result.code == "section_submitted"
    assert answer_of(session, Q_SINGLE) is None


def test_submitting_a_section_scores_it_and_opens_the_next_on_first_touch():
    session = started_diag()
    session.apply(answer(Q_SINGLE, "b", T0 + SECOND), T0 + SECOND)
    session.apply(op("submit_section", T0 + MINUTE, section_id=DIAG_S1), T0 + MINUTE)
    state = session.sections[DIAG_S1]
    assert (state.status, state.submit_reason, state.submitted_at) == ("submitted", "student", T0 + MINUTE)
    assert state.score["correct"] == 1
    assert session.current_section.id == DIAG_S2
    assert session.sections[DIAG_S2].status == "not_started"
    touched = T0 + 3 * MINUTE
    assert session.apply(answer(Q_NUMERIC, "1", touched), touched).status == "applied"
    assert session.sections[DIAG_S2].clock.started_at_ms == touched
    assert session.remaining_ms(DIAG_S2, touched + MINUTE) == S2_LIMIT - MINUTE
    assert session.remaining_ms(DIAG_S1, touched) == 0


# ----- expiry -----------------------------------------------------------------


def test_answer_just_before_the_deadline_is_applied():
    session = started_diag()
    at = T0 + S1_LIMIT - 1
    assert session.apply(answer(Q_SINGLE, "b", at), at).status == "applied"


def test_answer_after_deadline_is_rejected_time_expired():
    session = started_diag()
    at = T0 + S1_LIMIT
    result = session.apply(answer(Q_SINGLE, "b", at), at)
    assert result.status == "rejected"
    assert result.code == "time_expired"
    assert answer_of(session, Q_SINGLE) is None


def test_wall_clock_time_runs_out_while_the_student_is_away():
    session = started_diag()
    session.apply(answer(Q_SINGLE, "a", T0 + MINUTE), T0 + MINUTE)
    at = T0 + 11 * MINUTE
    assert session.apply(answer(Q_SINGLE, "b", at), at).code == "time_expired"
    assert answer_of(session, Q_SINGLE) == "a"


def test_expire_due_before_the_deadline_changes_nothing():
    session = started_diag()
    version, last_seq = session.version, session.last_seq
    assert session.expire_due(T0 + S1_LIMIT - 1) == []
    assert session.sections[DIAG_S1].status == "in_progress"
    assert (session.version, session.last_seq) == (version, last_seq)


def test_expire_due_never_expires_a_section_that_was_not_started():
    session = make_session(diagnostic_test(idle_limit_seconds=None))
    assert session.expire_due(T0 + 10 * DAY) == []
    assert session.sections[DIAG_S1].status == "not_started"


def test_expire_due_logs_section_expired_auto_submits_and_scores():
    session = started_diag()
    session.apply(answer(Q_SINGLE, "b", T0 + SECOND), T0 + SECOND)
    session.apply(answer(Q_MULTI, ["a"], T0 + 2 * SECOND), T0 + 2 * SECOND)
    seq_before, version_before = session.last_seq, session.version
    now = T0 + S1_LIMIT + 7 * SECOND
    entries = session.expire_due(now)
    assert len(entries) == 1
    entry = entries[0]
    assert (entry.kind, entry.status, entry.section_id) == ("section_expired", "applied", DIAG_S1)
    assert entry.payload == {"deadline": T0 + S1_LIMIT}
    assert entry.seq == seq_before + 1
    assert entry.server_time == now
    assert session.log[-1] is entry
    assert session.version == version_before + 1
    state = session.sections[DIAG_S1]
    assert (state.status, state.submit_reason, state.submitted_at) == ("submitted", "expired", T0 + S1_LIMIT)
    assert state.score["correct"] == 1
    assert state.score["answered"] == 2
    assert state.score["score"] == 1.0
    assert state.score["max_score"] == 3.0
    assert session.status == "active"
    assert session.current_section.id == DIAG_S2


def test_op_on_an_expired_section_is_rejected_time_expired():
    session = started_diag()
    session.expire_due(T0 + S1_LIMIT)
    at = T0 + S1_LIMIT + SECOND
    result = session.apply(answer(Q_SINGLE, "b", T0 + S1_LIMIT - MINUTE), at)
    assert result.code == "time_expired"
    result = session.apply(op("submit_section", at, section_id=DIAG_S1), at)
    assert result.code == "time_expired"


def test_expire_due_is_idempotent():
    session = started_diag()
    assert len(session.expire_due(T0 + S1_LIMIT)) == 1
    last_seq = session.last_seq
    assert session.expire_due(T0 + S1_LIMIT + MINUTE) == []
    assert session.last_seq == last_seq


def test_expiry_of_the_last_section_completes_the_session():
    session = started_diag()
    session.apply(answer(Q_SINGLE, "b", T0 + SECOND), T0 + SECOND)
    session.expire_due(T0 + S1_LIMIT)
    s2_start = T0 + 20 * MINUTE
    session.apply(answer(Q_NUMERIC, "4817,25", s2_start), s2_start)
    now = s2_start + S2_LIMIT + MINUTE
    entries = session.expire_due(now)
    assert [e.kind for e in entries] == ["section_expired"]
    assert entries[0].section_id == DIAG_S2
    assert session.status == "completed"
    assert session.completed_at == now
    assert session.score["correct"] == 2
    assert session.score["total"] == 4
    assert session.score["max_score"] == 5.0
    assert session.score["by_sub_skill"]["addition"] == {"attempts": 2, "correct": 2, "points": 2.0, "max_points": 2.0}


def test_op_after_completion_is_rejected_session_completed():
    session = make_session(practice_test())
    session.apply(op("complete", T0), T0)
    result = session.apply(answer(P_Q1, "a", T0 + SECOND), T0 + SECOND)
    assert result.status == "rejected"
    assert result.code == "session_completed"
    assert result.seq == session.last_seq
    heartbeat = session.apply(op("heartbeat", T0 + SECOND), T0 + SECOND)
    assert heartbeat.code == "session_completed"
    assert heartbeat.seq is None


def test_untimed_drill_never_expires():
    session = make_session(drill_test())
    session.apply(answer(D_Q1, "c", T0), T0)
    assert session.remaining_ms(DRILL_S1, T0 + 30 * DAY) is None
    assert session.expire_due(T0 + 30 * DAY) == []
    assert session.apply(answer(D_Q1, "a", T0 + 30 * DAY), T0 + 30 * DAY).status == "applied"


def test_active_time_section_expires_only_while_the_student_is_there():
    session = make_session(practice_test())
    limit = 120 * SECOND
    credit = session.rules.heartbeat_credit_ms
    session.apply(answer(P_Q1, "a", T0), T0)
    now = T0
    while now < T0 + limit - credit:
        now += 10 * SECOND
        session.apply(op("heartbeat", now), now)
    # The student leaves with less than one interval left: the clock runs out.
    left = session.remaining_ms(PRAC_S1, now)
    assert 0 < left <= credit
    assert session.deadline_ms(PRAC_S1) == now + left
    assert session.expire_due(now + left - 1) == []
    assert len(session.expire_due(now + left)) == 1
    assert session.status == "completed"


def test_active_time_section_with_time_left_does_not_expire_when_the_tab_closes():
    session = make_session(practice_test(idle_limit_seconds=None))
    session.apply(answer(P_Q1, "a", T0), T0)
    assert session.expire_due(T0 + 10 * DAY) == []
    assert session.remaining_ms(PRAC_S1, T0 + 10 * DAY) == 120 * SECOND - session.rules.heartbeat_credit_ms


# ----- offline grace ----------------------------------------------------------------

GRACE = MINUTE
DEADLINE = T0 + S1_LIMIT


def graced_diag():
    return started_diag(rules=Rules(offline_grace_ms=GRACE))


def test_answer_made_before_deadline_arriving_within_grace_is_accepted():
    session = graced_diag()
    session.expire_due(DEADLINE + 20 * SECOND)
    result = session.apply(answer(Q_SINGLE, "b", DEADLINE - 5 * SECOND), DEADLINE + 20 * SECOND)
    assert result.status == "applied"
    assert answer_of(session, Q_SINGLE) == "b"
    session.expire_due(DEADLINE + GRACE)
    assert session.sections[DIAG_S1].score["correct"] == 1


def test_answer_made_after_deadline_is_rejected_even_within_grace():
    session = graced_diag()
    result = session.apply(answer(Q_SINGLE, "b", DEADLINE + SECOND), DEADLINE + 20 * SECOND)
    assert result.code == "time_expired"
    assert answer_of(session, Q_SINGLE) is None


def test_answer_made_exactly_at_the_deadline_is_rejected_within_grace():
    session = graced_diag()
    result = session.apply(answer(Q_SINGLE, "b", DEADLINE), DEADLINE + 20 * SECOND)
    assert result.code == "time_expired"


def test_answer_made_before_deadline_arriving_after_grace_is_rejected():
    session = graced_diag()
    result = session.apply(answer(Q_SINGLE, "b", DEADLINE - 5 * SECOND), DEADLINE + GRACE)
    assert result.code == "time_expired"
    assert answer_of(session, Q_SINGLE) is None


def test_answer_made_before_deadline_arriving_after_grace_is_rejected_once_expired():
    session = graced_diag()
    assert len(session.expire_due(DEADLINE + GRACE)) == 1
    result = session.apply(answer(Q_SINGLE, "b", DEADLINE - 5 * SECOND), DEADLINE + GRACE + SECOND)
    assert result.code == "time_expired"


def test_without_grace_an_answer_made_before_deadline_arriving_after_it_is_rejected():
    session = started_diag()  # Rules() default: no grace
    result = session.apply(answer(Q_SINGLE, "b", DEADLINE - 5 * SECOND), DEADLINE + SECOND)
    assert result.code == "time_expired"


def test_expire_due_waits_for_the_grace_to_pass():
    session = graced_diag()
    assert session.expire_due(DEADLINE + GRACE - 1) == []
    entries = session.expire_due(DEADLINE + GRACE)
    assert len(entries) == 1
    assert entries[0].payload == {"deadline": DEADLINE}
    assert session.sections[DIAG_S1].submitted_at == DEADLINE


def test_grace_judges_the_offset_corrected_time_not_the_raw_client_time():
    # A device whose clock runs two minutes fast: its raw time says "after the
    # deadline", but corrected it acted before it.
    session = graced_diag()
    fast = 2 * MINUTE
    result = session.apply(answer(Q_SINGLE, "b", DEADLINE - 5 * SECOND + fast), DEADLINE + 20 * SECOND,
                           clock_offset_ms=-fast)
    assert result.status == "applied"
    # A device whose clock runs slow: its raw time says "before", corrected it is after.
    slow = 10 * SECOND
    result = session.apply(answer(Q_MULTI, ["a"], DEADLINE - 5 * SECOND), DEADLINE + 20 * SECOND,
                           clock_offset_ms=slow)
    assert result.code == "time_expired"


def test_forged_early_client_time_gains_nothing_after_the_grace():
    session = graced_diag()
    result = session.apply(answer(Q_SINGLE, "b", T0 + SECOND), DEADLINE + GRACE + 1)
    assert result.code == "time_expired"


# ----- a client time cannot add time ------------------------------------------------


@pytest.mark.parametrize("make_test, question_id, section_id", [
    (diagnostic_test, Q_SINGLE, DIAG_S1),
    (practice_test, P_Q1, PRAC_S1),
])
def test_forged_client_time_does_not_change_remaining_time(make_test, question_id, section_id):
    honest, forged = make_session(make_test()), make_session(make_test())
    for now in (T0, T0 + 10 * SECOND, T0 + 40 * SECOND):
        honest.apply(op("flag", now, question_id=question_id), now)
        forged.apply(op("flag", now + 10 * DAY, question_id=question_id), now)
        forged.apply(op("heartbeat", now - 10 * DAY), now)
        honest.apply(op("heartbeat", now), now)
    for later in (T0 + 40 * SECOND, T0 + 50 * SECOND, T0 + 5 * MINUTE, T0 + HOUR):
        assert forged.remaining_ms(section_id, later) == honest.remaining_ms(section_id, later)
    assert forged.deadline_ms(section_id) == honest.deadline_ms(section_id)


def test_clock_offset_does_not_change_remaining_time():
    honest, shifted = diag(), diag()
    honest.apply(answer(Q_SINGLE, "a", T0), T0)
    shifted.apply(answer(Q_SINGLE, "a", T0), T0, clock_offset_ms=-HOUR)
    assert shifted.deadline_ms(DIAG_S1) == honest.deadline_ms(DIAG_S1) == T0 + S1_LIMIT
    assert shifted.remaining_ms(DIAG_S1, T0 + MINUTE) == honest.remaining_ms(DIAG_S1, T0 + MINUTE)


# ----- latest intent wins -------------------------------------------------------------

FIELDS = {
    # kind: (older op type and fields, newer op type and fields, read the value)
    "answer": (("answer", {"answer": "a"}), ("answer", {"answer": "c"}),
               lambda q: q.answer.value, "a", "c"),
    "flag": (("flag", {}), ("unflag", {}), lambda q: q.flagged.value, True, False),
    "unflag": (("unflag", {}), ("flag", {}), lambda q: q.flagged.value, False, True),
    "note": (("note", {"text": "old note"}), ("note", {"text": "new note"}),
             lambda q: q.note.value, "old note", "new note"),
    "eliminate": (("eliminate", {"choice_id": "a"}), ("uneliminate", {"choice_id": "a"}),
                  lambda q: q.eliminated["a"].value, True, False),
    "uneliminate": (("uneliminate", {"choice_id": "a"}), ("eliminate", {"choice_id": "a"}),
                    lambda q: q.eliminated["a"].value, False, True),
}


@pytest.mark.parametrize("field_name", FIELDS)
def test_newer_change_arriving_first_makes_the_older_one_superseded(field_name):
    (old_type, old_fields), (new_type, new_fields), read, _, new_value = FIELDS[field_name]
    session = started_diag()
    newer = op(new_type, T0 + 20 * SECOND, question_id=Q_SINGLE, **new_fields)
    older = op(old_type, T0 + 10 * SECOND, question_id=Q_SINGLE, **old_fields)
    assert session.apply(newer, T0 + 30 * SECOND).status == "applied"
    result = session.apply(older, T0 + 31 * SECOND)
    assert result.status == "superseded"
    assert result.seq == session.last_seq
    assert session.log[-1].status == "superseded"
    assert session.log[-1].op_id == older.op_id
    assert read(session.sections[DIAG_S1].question(Q_SINGLE)) == new_value


@pytest.mark.parametrize("field_name", FIELDS)
def test_older_change_arriving_first_is_replaced_by_the_newer_one(field_name):
    (old_type, old_fields), (new_type, new_fields), read, old_value, new_value = FIELDS[field_name]
    session = started_diag()
    older = op(old_type, T0 + 10 * SECOND, question_id=Q_SINGLE, **old_fields)
    newer = op(new_type, T0 + 20 * SECOND, question_id=Q_SINGLE, **new_fields)
    assert session.apply(older, T0 + 30 * SECOND).status == "applied"
    assert read(session.sections[DIAG_S1].question(Q_SINGLE)) == old_value
    assert session.apply(newer, T0 + 31 * SECOND).status == "applied"
    assert read(session.sections[DIAG_S1].question(Q_SINGLE)) == new_value


def test_registers_of_one_question_are_independent():
    session = started_diag()
    session.apply(answer(Q_SINGLE, "c", T0 + 50 * SECOND), T0 + 50 * SECOND)
    result = session.apply(op("flag", T0 + 10 * SECOND, question_id=Q_SINGLE), T0 + 51 * SECOND)
    assert result.status == "applied"  # an older flag does not lose to a newer answer
    eliminated_b = session.apply(op("eliminate", T0 + 5 * SECOND, question_id=Q_SINGLE, choice_id="b"), T0 + 52 * SECOND)
    eliminated_a = session.apply(op("eliminate", T0 + 1 * SECOND, question_id=Q_SINGLE, choice_id="a"), T0 + 53 * SECOND)
    assert (eliminated_b.status, eliminated_a.status) == ("applied", "applied")
    state = session.sections[DIAG_S1].question(Q_SINGLE)
    assert (state.answer.value, state.flagged.value) == ("c", True)
    assert {c for c, reg in state.eliminated.items() if reg.value} == {"a", "b"}


def test_changes_to_different_questions_do_not_interfere():
    session = started_diag()
    session.apply(answer(Q_SINGLE, "c", T0 + 50 * SECOND), T0 + 50 * SECOND)
    result = session.apply(answer(Q_MULTI, ["b"], T0 + 10 * SECOND), T0 + 51 * SECOND)
    assert result.status == "applied"
    assert answer_of(session, Q_MULTI) == ["b"]


def test_clearing_an_answer_is_an_intent_like_any_other():
    session = started_diag()
    session.apply(answer(Q_SINGLE, "b", T0 + 10 * SECOND), T0 + 10 * SECOND)
    session.apply(answer(Q_SINGLE, None, T0 + 20 * SECOND), T0 + 20 * SECOND)
    assert answer_of(session, Q_SINGLE) is None
    assert Q_SINGLE not in session.sections[DIAG_S1].answers()
    late = session.apply(answer(Q_SINGLE, "a", T0 + 15 * SECOND), T0 + 30 * SECOND)
    assert late.status == "superseded"
    assert answer_of(session, Q_SINGLE) is None


def test_empty_note_clears_the_note():
    session = started_diag()
    session.apply(op("note", T0 + SECOND, question_id=Q_SINGLE, text="remember"), T0 + SECOND)
    session.apply(op("note", T0 + 2 * SECOND, question_id=Q_SINGLE, text=""), T0 + 2 * SECOND)
    assert session.sections[DIAG_S1].question(Q_SINGLE).note.value is None


def test_clock_offset_correction_decides_which_device_acted_last():
    session = started_diag()
    slow = 5 * MINUTE  # device A's clock is five minutes behind the server
    # Device A acted at server time T0+60s; device B (accurate clock) at T0+30s.
    device_a = answer(Q_SINGLE, "a", T0 + 60 * SECOND - slow)
    device_b = answer(Q_SINGLE, "c", T0 + 30 * SECOND)
    assert session.apply(device_a, T0 + 61 * SECOND, clock_offset_ms=slow, device_id="A").status == "applied"
    result = session.apply(device_b, T0 + 62 * SECOND, clock_offset_ms=0, device_id="B")
    assert result.status == "superseded"
    assert answer_of(session, Q_SINGLE) == "a"
    entry_a, entry_b = session.log[-2:]
    assert (entry_a.effective_time, entry_a.device_id) == (T0 + 60 * SECOND, "A")
    assert (entry_b.effective_time, entry_b.device_id) == (T0 + 30 * SECOND, "B")


LOW_ID = "00000000-0000-4000-8000-000000000000"
HIGH_ID = "ffffffff-ffff-4fff-bfff-ffffffffffff"


@pytest.mark.parametrize("high_first", [True, False])
def test_equal_times_are_broken_by_op_id(high_first):
    session = started_diag()
    low = answer(Q_SINGLE, "a", T0 + 10 * SECOND, op_id=LOW_ID)
    high = answer(Q_SINGLE, "c", T0 + 10 * SECOND, op_id=HIGH_ID)
    first, second = (high, low) if high_first else (low, high)
    session.apply(first, T0 + 20 * SECOND)
    result = session.apply(second, T0 + 21 * SECOND)
    assert result.status == ("superseded" if high_first else "applied")
    assert answer_of(session, Q_SINGLE) == "c"


@pytest.mark.parametrize("arrival", [(0, 1), (1, 0)])
def test_ops_of_one_batch_made_in_the_same_millisecond_keep_the_batch_order(arrival):
    # Whatever op_ids the two got, the later one in the batch is the student's last act.
    session = started_diag()
    made = [op("unflag", T0 + SECOND, question_id=Q_SINGLE, op_id=HIGH_ID, batch_index=0),
            op("flag", T0 + SECOND, question_id=Q_SINGLE, op_id=LOW_ID, batch_index=1)]
    statuses = {o.type: session.apply(o, T0 + 2 * SECOND).status for o in (made[i] for i in arrival)}
    assert session.sections[DIAG_S1].flagged() == [Q_SINGLE]
    assert statuses == {"flag": "applied", "unflag": "superseded" if arrival == (1, 0) else "applied"}
    logged = {e.op_id: e.payload.get("batch_index", 0) for e in session.log[-2:]}
    assert logged == {HIGH_ID: 0, LOW_ID: 1}


def test_ops_of_one_device_clamped_to_the_same_now_keep_their_order():
    # A device whose clock runs ahead: both ops are clamped to the server's now,
    # in batches of their own (as when a group commit gives them one now).
    session = started_diag()
    ahead = T0 + HOUR
    later = answer(Q_SINGLE, "c", ahead + 1, op_id=LOW_ID)
    earlier = answer(Q_SINGLE, "a", ahead, op_id=HIGH_ID)
    assert session.apply(later, T0 + SECOND).status == "applied"
    assert session.apply(earlier, T0 + SECOND).status == "superseded"
    assert answer_of(session, Q_SINGLE) == "c"


def test_a_register_persisted_before_batch_order_was_kept_still_loads_and_orders():
    old = Register.load(["b", T0, HIGH_ID])
    assert (old.value, old.at, old.op_id) == ("b", T0, HIGH_ID)
    assert not old.offer("a", op("answer", T0 - 1, op_id=LOW_ID), T0 - 1)
    assert old.offer("c", op("answer", T0 + 1, op_id=LOW_ID), T0 + 1)
    assert Register.load(old.dump()) == old


def test_a_register_keeps_the_order_of_its_op_across_a_reload():
    register = Register()
    register.offer(True, op("flag", T0, op_id=LOW_ID, batch_index=1), T0)
    reloaded = Register.load(register.dump())
    assert not reloaded.offer(False, op("unflag", T0, op_id=HIGH_ID, batch_index=0), T0)
    assert reloaded.value is True


def test_effective_time_is_clamped_to_the_server_now():
    session = started_diag()
    forged = answer(Q_SINGLE, "a", T0 + 10 * DAY)
    session.apply(forged, T0 + 10 * SECOND)
    assert session.log[-1].effective_time == T0 + 10 * SECOND
    assert session.log[-1].client_time == T0 + 10 * DAY
    # A later honest change still wins over the forged future one.
    result = session.apply(answer(Q_SINGLE, "c", T0 + 20 * SECOND), T0 + 20 * SECOND)
    assert result.status == "applied"
    assert answer_of(session, Q_SINGLE) == "c"


def test_navigate_sets_the_current_question_latest_intent_wins():
    session = started_diag()  # navigated to Q_SINGLE at T0
    session.apply(op("navigate", T0 + 20 * SECOND, question_id=Q_MULTI), T0 + 20 * SECOND)
    late = session.apply(op("navigate", T0 + 10 * SECOND, question_id=Q_SINGLE), T0 + 30 * SECOND)
    assert late.status == "superseded"
    assert session.current_question_id == Q_MULTI
    state = session.sections[DIAG_S1]
    assert state.question(Q_SINGLE).visited and state.question(Q_MULTI).visited


def test_current_question_is_forgotten_when_its_section_is_submitted():
    session = started_diag()
    assert session.current_question_id == Q_SINGLE
    session.apply(op("submit_section", T0 + SECOND, section_id=DIAG_S1), T0 + SECOND)
    assert session.current_question_id is None


# ----- rejections of ill-formed ops -------------------------------------------------


def test_unknown_question_is_rejected_unknown_question():
    session = diag()
    result = session.apply(answer("no-such-question", "a", T0), T0)
    assert result.code == "unknown_question"
    assert session.sections[DIAG_S1].status == "not_started"


def test_unknown_choice_is_rejected_unknown_choice():
    session = diag()
    result = session.apply(op("eliminate", T0, question_id=Q_SINGLE, choice_id="z"), T0)
    assert result.code == "unknown_choice"
    assert session.sections[DIAG_S1].status == "not_started"


def test_unknown_section_is_rejected_unknown_section():
    session = diag()
    result = session.apply(op("submit_section", T0, section_id="no-such-section"), T0)
    assert result.code == "unknown_section"


def test_invalid_answer_is_rejected_and_does_not_start_the_section():
    session = diag()
    result = session.apply(answer(Q_SINGLE, "z", T0), T0)
    assert result.code == "invalid_answer"
    assert session.sections[DIAG_S1].status == "not_started"
    assert session.version == 0


def test_too_long_answer_is_rejected_answer_too_long():
    session = make_session(diagnostic_test(s1_limit_s=None), rules=Rules(max_answer_length=5))
    session.apply(op("submit_section", T0, section_id=DIAG_S1), T0)
    result = session.apply(answer(Q_TEXT, "abcdef", T0 + SECOND), T0 + SECOND)
    assert result.code == "answer_too_long"
    assert session.apply(answer(Q_TEXT, "abcde", T0 + SECOND), T0 + SECOND).status == "applied"


def test_rejected_op_is_logged_with_its_code_and_changes_no_state():
    session = started_diag()
    version = session.version
    bad = answer(Q_NUMERIC, "1", T0 + SECOND)
    result = session.apply(bad, T0 + 2 * SECOND, device_id="phone")
    entry = session.log[-1]
    assert (entry.seq, entry.kind, entry.status, entry.code) == (result.seq, "answer", "rejected", "section_not_open")
    assert entry.message == result.message and entry.message
    assert (entry.op_id, entry.question_id, entry.section_id) == (bad.op_id, Q_NUMERIC, DIAG_S2)
    assert entry.payload == bad.payload()
    assert (entry.client_time, entry.device_id) == (T0 + SECOND, "phone")
    assert session.version == version


def test_reject_logs_an_unreadable_op_with_the_next_seq():
    session = started_diag()
    seq, version = session.last_seq, session.version
    error = InvalidOpError("unknown op type 'bogus'", type="bogus" * 20)
    result = session.reject("11111111-1111-4111-8111-111111111111", error, T0 + SECOND, device_id="laptop")
    assert result.as_dict() == {
        "op_id": "11111111-1111-4111-8111-111111111111", "status": "rejected", "code": "invalid_op",
        "message": "unknown op type 'bogus'", "seq": seq + 1,
    }
    entry = session.log[-1]
    assert (entry.kind, entry.status, entry.seq, entry.device_id) == ("invalid", "rejected", seq + 1, "laptop")
    assert entry.payload == {"type": ("bogus" * 20)[:40]}
    assert session.version == version


def test_reject_without_a_type_logs_none_as_the_type():
    session = diag()
    session.reject("11111111-1111-4111-8111-111111111111", InvalidOpError("client_time must be ..."), T0)
    assert session.log[-1].payload == {"type": None}


# ----- log sequence and version -----------------------------------------------------


def test_seq_numbers_increase_by_one_without_gaps_including_rejections_and_server_changes():
    session = diag(rules=Rules(offline_grace_ms=0))
    seqs = []
    seqs.append(session.apply(answer(Q_SINGLE, "b", T0), T0).seq)                       # applied
    seqs.append(session.apply(answer(Q_NUMERIC, "1", T0 + 1), T0 + 1).seq)              # rejected
    assert session.apply(op("heartbeat", T0 + 2), T0 + 2).seq is None                   # not logged
    seqs.append(session.apply(answer(Q_SINGLE, "a", T0 - SECOND), T0 + 3).seq)          # superseded
    seqs.append(session.reject("22222222-2222-4222-8222-222222222222",
                               InvalidOpError("bad", type="x"), T0 + 4).seq)              # unreadable
    seqs.append(session.adjust_time(TimeChange(extra_ms=MINUTE), T0 + 5, by="teacher").seq)
    seqs.extend(e.seq for e in session.expire_due(T0 + S1_LIMIT + MINUTE))             # server change
    seqs.append(session.apply(answer(Q_NUMERIC, "2", T0 + HOUR), T0 + HOUR).seq)
    seqs.append(session.note_user_allowance_changed(TimeAllowance(multiplier=2.0), T0 + HOUR, by="t").seq)
    seqs.append(session.apply(op("complete", T0 + HOUR + 1), T0 + HOUR + 1).seq)
    seqs.append(session.apply(answer(Q_NUMERIC, "3", T0 + HOUR + 2), T0 + HOUR + 2).seq)  # after completion
    assert seqs == list(range(1, len(seqs) + 1))
    assert [e.seq for e in session.log] == seqs
    assert session.last_seq == len(seqs)
    assert len(seqs) == 10


def test_seq_continues_from_a_loaded_last_seq():
    session = diag(last_seq=41)
    assert session.apply(answer(Q_SINGLE, "b", T0), T0).seq == 42


def test_version_increases_by_one_with_each_applied_or_superseded_op_and_server_change():
    session = diag()
    assert session.version == 0
    session.apply(answer(Q_SINGLE, "b", T0 + 10), T0 + 10)
    assert session.version == 1
    session.apply(answer(Q_SINGLE, "a", T0), T0 + 20)  # superseded: still recorded
    assert session.version == 2
    session.apply(op("heartbeat", T0 + 30), T0 + 30)
    assert session.version == 2
    session.adjust_time(TimeChange(extra_ms=SECOND), T0 + 40, by="teacher")
    assert session.version == 3
    session.expire_due(T0 + S1_LIMIT + MINUTE)
    assert session.sections[DIAG_S1].status == "submitted"
    assert session.version == 4


# ----- time adjustments -------------------------------------------------------------


def test_adjust_time_applies_mid_section():
    session = started_diag()
    entry = session.adjust_time(TimeChange(extra_ms=5 * MINUTE), T0 + 5 * MINUTE, by="teacher-1")
    assert entry.kind == "time_adjusted"
    assert entry.payload == {"multiplier": 1.0, "untimed": False, "by": "teacher-1", "scope": "section",
                             "extra_ms": 5 * MINUTE, "section_extra_ms": {DIAG_S1: 5 * MINUTE}}
    assert session.remaining_ms(DIAG_S1, T0 + 6 * MINUTE) == 9 * MINUTE
    assert session.deadline_ms(DIAG_S1) == T0 + 15 * MINUTE
    at = T0 + 12 * MINUTE  # past the original deadline
    assert session.apply(answer(Q_SINGLE, "b", at), at).status == "applied"
    assert session.expire_due(at) == []


def test_adjust_time_multiplier_applies_to_the_running_section():
    session = started_diag()
    session.adjust_time(TimeChange(multiplier=1.5), T0 + MINUTE, by="teacher")
    assert session.deadline_ms(DIAG_S1) == T0 + 15 * MINUTE
    assert session.limit_ms(session.test.section(DIAG_S2)) == int(S2_LIMIT * 1.5)


def test_adjust_time_untimed_lifts_the_limit():
    session = started_diag()
    session.adjust_time(TimeChange(untimed=True), T0 + MINUTE, by="teacher")
    assert session.remaining_ms(DIAG_S1, T0 + DAY) is None
    assert session.expire_due(T0 + DAY) == []
    assert session.apply(answer(Q_SINGLE, "b", T0 + DAY), T0 + DAY).status == "applied"


def test_adjust_time_after_the_deadline_does_not_revive_an_expired_section():
    session = started_diag()
    now = T0 + S1_LIMIT + MINUTE
    entry = session.adjust_time(TimeChange(extra_ms=HOUR, scope="session"), now, by="teacher")
    assert [e.kind for e in session.log[-2:]] == ["section_expired", "time_adjusted"]
    assert entry.seq == session.log[-2].seq + 1
    assert session.sections[DIAG_S1].submit_reason == "expired"
    assert session.apply(answer(Q_SINGLE, "b", now), now).code == "time_expired"


def test_a_completed_session_refuses_a_time_adjustment_and_logs_nothing():
    session = started_diag()
    session.apply(op("complete", T0 + MINUTE), T0 + MINUTE)
    seq, version = session.last_seq, session.version
    with pytest.raises(SessionCompletedError):
        session.adjust_time(TimeChange(extra_ms=HOUR), T0 + 2 * MINUTE, by="teacher")
    with pytest.raises(SessionCompletedError):
        session.note_user_allowance_changed(TimeAllowance(multiplier=2.0), T0 + 2 * MINUTE, by="teacher")
    assert (session.last_seq, session.version) == (seq, version)
    assert session.log[-1].kind == "complete"


def test_a_time_adjustment_arriving_after_the_last_section_ran_out_is_refused_once_it_has_expired():
    session = started_diag()
    session.apply(op("submit_section", T0 + MINUTE, section_id=DIAG_S1), T0 + MINUTE)
    session.apply(answer(Q_NUMERIC, "1", T0 + 2 * MINUTE), T0 + 2 * MINUTE)
    with pytest.raises(SessionCompletedError):
        session.adjust_time(TimeChange(extra_ms=HOUR), T0 + HOUR, by="teacher")
    assert [e.kind for e in session.log[-1:]] == ["section_expired"]
    assert session.status == "completed"


def test_user_allowance_change_applies_mid_section_and_combines_with_the_session_allowance():
    session = started_diag()
    session.sections[DIAG_S1].extra_ms = MINUTE
    entry = session.note_user_allowance_changed(TimeAllowance(multiplier=2.0), T0 + MINUTE, by="teacher")
    assert entry.payload["scope"] == "user"
    assert session.deadline_ms(DIAG_S1) == T0 + 2 * S1_LIMIT + MINUTE


# ----- completing -------------------------------------------------------------------


def test_complete_submits_remaining_sections_and_scores():
    session = started_diag()
    session.apply(answer(Q_SINGLE, "b", T0 + SECOND), T0 + SECOND)
    session.apply(answer(Q_MULTI, ["c", "a"], T0 + 2 * SECOND), T0 + 2 * SECOND)
    now = T0 + 3 * MINUTE
    result = session.apply(op("complete", now), now)
    assert result.status == "applied"
    assert session.status == "completed"
    assert session.completed_at == now
    for section_id in (DIAG_S1, DIAG_S2):
        state = session.sections[section_id]
        assert (state.status, state.submit_reason, state.submitted_at) == ("submitted", "completed", now)
        assert state.score is not None
    assert session.score["score"] == 3.0
    assert session.score["max_score"] == 5.0
    assert session.score["correct"] == 2
    assert session.score["answered"] == 2
    assert session.score["total"] == 4
    assert session.current_section is None


def test_submitting_the_last_section_completes_the_session():
    session = make_session(practice_test())
    session.apply(answer(P_Q2, "b", T0), T0)
    session.apply(op("submit_section", T0 + SECOND, section_id=PRAC_S1), T0 + SECOND)
    assert session.status == "completed"
    assert session.score["correct"] == 1


def test_complete_keeps_sections_already_submitted_as_they_were():
    session = started_diag()
    session.expire_due(T0 + S1_LIMIT)
    session.apply(op("complete", T0 + HOUR), T0 + HOUR)
    assert session.sections[DIAG_S1].submit_reason == "expired"
    assert session.sections[DIAG_S2].submit_reason == "completed"


# ----- receipts -------------------------------------------------------------------


def test_receipt_status_of_a_new_op_is_none():
    assert receipt_status("abc", None) is None


def test_receipt_status_of_a_retried_op_is_duplicate():
    once = answer(Q_SINGLE, "b", T0, op_id=LOW_ID)
    again = answer(Q_SINGLE, "b", T0, op_id=LOW_ID)
    assert receipt_status(again.fingerprint, once.fingerprint) == "duplicate"


def test_receipt_status_of_an_op_id_reused_for_another_op_is_op_id_reused():
    once = answer(Q_SINGLE, "b", T0, op_id=LOW_ID)
    other = answer(Q_SINGLE, "c", T0, op_id=LOW_ID)
    assert receipt_status(other.fingerprint, once.fingerprint) == "op_id_reused"


# ----- numbers the views rely on -------------------------------------------------------


def test_answered_and_flagged_counts_cover_all_sections():
    session = started_diag()
    session.apply(answer(Q_SINGLE, "b", T0 + 1), T0 + 1)
    session.apply(op("flag", T0 + 2, question_id=Q_MULTI), T0 + 2)
    session.apply(op("submit_section", T0 + 3, section_id=DIAG_S1), T0 + 3)
    session.apply(answer(Q_NUMERIC, str(NUMERIC_CORRECT), T0 + 4), T0 + 4)
    session.apply(op("flag", T0 + 5, question_id=Q_TEXT), T0 + 5)
    session.apply(op("unflag", T0 + 6, question_id=Q_TEXT), T0 + 6)
    assert session.answered_count == 2
    assert session.flagged_count == 1


def test_last_activity_moves_with_ops_and_heartbeats_but_never_back():
    session = started_diag()
    session.apply(op("heartbeat", T0 + MINUTE), T0 + MINUTE)
    assert session.last_activity_at == T0 + MINUTE
    session.apply(answer(Q_SINGLE, "b", T0 + 2 * MINUTE), T0 + 2 * MINUTE)
    assert session.last_activity_at == T0 + 2 * MINUTE
    session.apply(op("heartbeat", T0), T0)
    assert session.last_activity_at == T0 + 2 * MINUTE


@pytest.mark.parametrize("last_act", [
    op("submit_section", T0 + 3 * MINUTE, section_id=DIAG_S1),
    op("complete", T0 + 3 * MINUTE),
])
def test_last_activity_counts_submitting_and_completing(last_act):
    session = started_diag()
    session.apply(answer(Q_SINGLE, "b", T0 + MINUTE), T0 + MINUTE)
    assert session.apply(last_act, T0 + 3 * MINUTE).status == "applied"
    assert session.last_activity_at == T0 + 3 * MINUTE
