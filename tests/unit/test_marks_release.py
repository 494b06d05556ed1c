"""Releasing marks: a staff grade reaches the student only once staff release the session's marks."""

from __future__ import annotations

import uuid

from examsync.domain.content import Section
from examsync.domain.content import Test as ExamTest
from examsync.domain.records import QuestionState
from examsync.domain.staff_op_parsing import read_staff_op
from examsync.domain.staff_ops import Staff, apply_staff_batch, student_entry
from examsync.domain.views import progress_view, results_view

from .builders import MINUTE, T0, make_session, op, question
from .test_extended_text import Q_ESSAY, completed, essay_test, grade, run

TEACHER = Staff("teacher-1", "Ms Rivera")


def release(op_id=None):
    return {"op_id": op_id or str(uuid.uuid4()), "type": "release_marks"}


def essay_of(view):
    return view["sections"][0]["questions"][1]


def test_a_grade_not_released_reads_as_awaiting_marking_for_the_student_and_as_given_for_staff():
    session = completed()
    run(session, T0 + 2 * MINUTE, grade(points=7))
    student = results_view(session, {})
    assert essay_of(student)["marking"] == "pending"
    assert essay_of(student)["awarded_points"] is None and essay_of(student)["comment"] is None
    assert "Clear argument" not in repr(student)  # the comment stays home too
    assert (student["score"], student["pending_points"], student["marks_released"]) == (1, 10, False)
    assert progress_view(session, T0 + 2 * MINUTE)["score"] == 1
    staff = results_view(session, {}, for_staff=True)
    assert essay_of(staff)["awarded_points"] == 7 and staff["score"] == 8 and staff["pending_points"] == 0
    assert progress_view(session, T0 + 2 * MINUTE, for_staff=True)["score"] == 8


def test_release_shows_the_mark_and_comment_and_logs_who_released_them():
    session = completed()
    run(session, T0 + 2 * MINUTE, grade(points=7))
    session.retracted_score, session.completed_since_load = None, False  # as the service does once saved
    outcome = run(session, T0 + 3 * MINUTE, release())
    assert outcome.results[0].status == "applied"
    entry = session.log[-1]
    assert entry.kind == "staff_release_marks" and entry.status == "applied"
    assert entry.payload == {"type": "release_marks", "by": "teacher-1", "graded": 1}
    view = results_view(session, {})
    assert (essay_of(view)["marking"], essay_of(view)["awarded_points"]) == ("graded", 7)
    assert essay_of(view)["comment"] == "Clear argument; cite sources."
    assert (view["score"], view["pending_points"], view["marks_released"]) == (8, 0, True)


def test_release_takes_back_the_performance_counted_without_the_mark_and_counts_it_with_the_mark():
    session = completed()
    run(session, T0 + 2 * MINUTE, grade(points=10))
    # The grade alone changes nothing the student's performance counts: the essay is still awaiting marking.
    assert session.retracted_score == session.student_score()
    assert session.student_score()["by_sub_skill"]["writing"]["attempts"] == 1
    session.retracted_score, session.completed_since_load = None, False
    counted = session.student_score()
    run(session, T0 + 3 * MINUTE, release())
    assert session.retracted_score == counted and session.completed_since_load
    assert session.student_score()["by_sub_skill"]["writing"] == {"attempts": 2, "correct": 1, "points": 10.0,
                                                                  "max_points": 15.0}


def test_a_grade_given_after_the_release_is_shown_at_once():
    session = completed()
    run(session, T0 + 2 * MINUTE, release())
    assert essay_of(results_view(session, {}))["marking"] == "pending"  # released, nothing marked yet
    run(session, T0 + 3 * MINUTE, grade(points=4, comment="Thin"))
    view = results_view(session, {})
    assert (essay_of(view)["awarded_points"], essay_of(view)["comment"], view["score"]) == (4, "Thin", 5)


def test_marks_are_released_once_a_retry_is_a_duplicate_and_another_release_is_refused():
    session = completed()
    first = release()
    run(session, T0 + 2 * MINUTE, first)
    seq = session.last_seq
    receipts = {first["op_id"]: (read_staff_op(first).fingerprint, seq)}  # as the store reads them back
    retried = apply_staff_batch(session, [read_staff_op(first)], receipts, T0 + 3 * MINUTE, TEACHER)
    assert retried.results[0].status == "duplicate" and session.last_seq == seq
    again = run(session, T0 + 4 * MINUTE, release())
    assert (again.results[0].status, again.results[0].code) == ("rejected", "marks_already_released")
    assert session.log[-1].kind == "staff_release_marks" and session.log[-1].status == "rejected"


def test_a_test_without_questions_staff_mark_has_no_marks_to_release():
    section = Section(id="s", key="s", title="S", time_limit_seconds=None,
                      questions=(question("q", "s", "single_choice", "a", choice_ids=("a", "b")),))
    session = make_session(ExamTest(id="t", slug="t", title="T", mode="diagnostic", timer_policy="wall_clock",
                                    sections=(section,)))
    session.apply(op("complete", T0), T0)
    outcome = run(session, T0 + MINUTE, release())
    assert outcome.results[0].code == "not_marked_by_staff" and not session.marks_released


def test_marks_can_be_released_while_the_session_is_active_and_the_release_lasts_through_storage():
    session = make_session(essay_test())
    session.apply(op("answer", T0, question_id=Q_ESSAY, answer="Draft"), T0)
    outcome = run(session, T0 + MINUTE, release())
    assert outcome.results[0].status == "applied" and session.marks_released
    assert outcome.changed_section_ids  # the section holding the release is saved
    state = session.sections["essay-s1"].question(Q_ESSAY)
    assert QuestionState.load(state.dump()).released and not QuestionState.load(QuestionState().dump()).released


def test_a_grade_after_the_release_takes_back_what_the_performance_counted_before_it():
    session = completed()
    run(session, T0 + 2 * MINUTE, release())
    session.retracted_score, session.completed_since_load = None, False  # as the service does once saved
    counted = session.student_score()
    run(session, T0 + 3 * MINUTE, grade(points=6))
    assert session.retracted_score == counted and counted["by_sub_skill"]["writing"]["attempts"] == 1
    assert session.student_score()["by_sub_skill"]["writing"]["points"] == 6


def test_the_students_log_keeps_a_grades_place_not_its_points_or_comment():
    session = completed()
    run(session, T0 + 2 * MINUTE, grade(points=7))
    entry = session.log[-1].as_dict()
    seen = student_entry(entry)
    assert seen["seq"] == entry["seq"] and seen["hash"] == entry["hash"]
    assert seen["payload"] == {"type": "grade", "question_id": Q_ESSAY, "redacted": True}
    assert entry["payload"]["comment"] == "Clear argument; cite sources."  # the stored entry is untouched
