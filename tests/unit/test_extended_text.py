"""Extended-text (essay) questions: answered like any other, scored by staff with the `grade` staff op."""

from __future__ import annotations

import uuid

import pytest

from examsync.domain.content import Section, validate_answer
from examsync.domain.content import Test as ExamTest
from examsync.domain.errors import AnswerTooLongError
from examsync.domain.records import QuestionState
from examsync.domain.scoring import score_section
from examsync.domain.staff_op_parsing import read_staff_op
from examsync.domain.staff_ops import Staff, apply_staff_batch
from examsync.domain.views import results_view

from .builders import MINUTE, T0, make_session, op, question

S = "essay-s1"
Q_CHOICE, Q_ESSAY, Q_BLANK = "essay-q-choice", "essay-q-essay", "essay-q-blank"
TEACHER = Staff("teacher-1", "Ms Rivera")


def essay_test() -> ExamTest:
    section = Section(id=S, key="one", title="Writing", time_limit_seconds=None, questions=(
        question(Q_CHOICE, S, "single_choice", "a", choice_ids=("a", "b"), sub_skill="grammar"),
        question(Q_ESSAY, S, "extended_text", {"grader_info": "MARKER-ONLY-7qz"}, points=10, sub_skill="writing"),
        question(Q_BLANK, S, "extended_text", {"grader_info": ""}, points=5, sub_skill="writing"),
    ))
    return ExamTest(id="test-essay", slug="essay", title="Essay", mode="diagnostic", timer_policy="wall_clock",
                    sections=(section,))


def grade(question_id=Q_ESSAY, points=7, comment="Clear argument; cite sources.", **extra):
    return {"op_id": str(uuid.uuid4()), "type": "grade", "question_id": question_id, "points": points,
            "comment": comment, **extra}


def run(session, now, *raws):
    return apply_staff_batch(session, [read_staff_op(raw) for raw in raws], {}, now, TEACHER)


def completed(essay="Rivers carve valleys over millennia. " * 5):
    session = make_session(essay_test())
    for o in (op("answer", T0, question_id=Q_CHOICE, answer="a"), op("answer", T0 + 1, question_id=Q_ESSAY,
                                                                       answer=essay),
              op("complete", T0 + MINUTE)):
        assert session.apply(o, T0 + MINUTE).status == "applied"
    assert session.status == "completed"
    return session


def test_an_answered_essay_is_pending_its_points_in_the_maximum_not_the_score_nor_the_sub_skills():
    session = completed()
    assert session.score["score"] == 1 and session.score["max_score"] == 16
    assert session.score["pending_points"] == 10 and session.score["pending"] == 1
    # The pending essay is left out of its sub-skill; the blank one scored 0 at once.
    assert session.score["by_sub_skill"]["writing"] == {"attempts": 1, "correct": 0, "points": 0.0,
                                                        "max_points": 5.0}
    view = results_view(session, {})
    assert view["pending_points"] == 10
    essay, blank = view["sections"][0]["questions"][1:]
    assert essay["marking"] == "pending" and essay["awarded_points"] is None and essay["correct_answer"] is None
    assert blank["marking"] == "not_answered"
    assert "MARKER-ONLY-7qz" not in repr(view)  # guidance for the marker never reaches the student
    assert "marking" not in view["sections"][0]["questions"][0]


def test_a_grade_on_the_completed_session_scores_it_and_hands_back_the_score_recorded_before():
    session = completed()
    before = session.score
    outcome = run(session, T0 + 2 * MINUTE, grade(points=7))
    assert outcome.results[0].status == "applied"
    assert session.retracted_score == before and session.completed_since_load
    assert session.score["score"] == 8 and session.score["pending_points"] == 0
    assert session.score["by_sub_skill"]["writing"] == {"attempts": 2, "correct": 0, "points": 7.0,
                                                        "max_points": 15.0}
    essay = results_view(session, {}, for_staff=True)["sections"][0]["questions"][1]
    assert (essay["marking"], essay["awarded_points"], essay["comment"]) == ("graded", 7, "Clear argument; cite "
                                                                             "sources.")
    entry = session.log[-1]
    assert entry.kind == "staff_grade" and entry.payload["by"] == "teacher-1" and entry.payload["points"] == 7


def test_a_later_grade_replaces_the_earlier_one_and_both_are_logged():
    session = completed()
    run(session, T0 + 2 * MINUTE, grade(points=7))
    recorded = session.student_score()  # what the student's performance counted
    session.retracted_score, session.completed_since_load = None, False  # as the service does once it is saved
    run(session, T0 + 3 * MINUTE, grade(points=10, comment="Full marks on review"))
    assert session.retracted_score == recorded
    assert session.score["score"] == 11
    assert session.score["by_sub_skill"]["writing"]["correct"] == 1  # full marks count as correct
    grades = [e.payload["points"] for e in session.log if e.kind == "staff_grade"]
    assert grades == [7, 10] and session.log[-1].payload["replaces_points"] == 7


@pytest.mark.parametrize("raw, code", [
    (grade(points=11), "points_out_of_range"),
    (grade(points=-1), "points_out_of_range"),
    (grade(question_id=Q_CHOICE, points=1), "not_marked_by_staff"),
    (grade(question_id="no-such-question"), "unknown_question"),
    (grade(points="7"), "invalid_op"),
    (grade(points=1, text="x"), "invalid_op"),
])
def test_a_grade_that_cannot_apply_is_refused_and_changes_no_score(raw, code):
    session = completed()
    before = session.score
    outcome = run(session, T0 + 2 * MINUTE, raw)
    assert outcome.results[0].status == "rejected" and outcome.results[0].code == code
    assert session.score == before and session.retracted_score is None


def test_a_section_still_open_cannot_be_graded():
    session = make_session(essay_test())
    session.apply(op("answer", T0, question_id=Q_ESSAY, answer="Draft"), T0)
    outcome = run(session, T0 + MINUTE, grade())
    assert outcome.results[0].code == "section_not_submitted"


def test_an_extended_answer_has_its_own_length_limit():
    q = essay_test().question(Q_ESSAY)
    assert validate_answer(q, "x" * 5000, max_length=1000, max_extended_length=5000) == "x" * 5000
    with pytest.raises(AnswerTooLongError):
        validate_answer(q, "x" * 5001, max_length=1000, max_extended_length=5000)
    assert validate_answer(q, "   \n ", max_length=1000) is None


def test_a_grade_survives_storage_of_the_question_state():
    state = QuestionState(grade={"points": 3.0, "comment": "ok", "by": "t", "graded_at": T0})
    assert QuestionState.load(state.dump()).grade == state.grade
    section = essay_test().sections[0]
    scored = score_section(section, {Q_ESSAY: "text"}, {Q_ESSAY: state.grade})
    assert scored["score"] == 3 and scored["pending_points"] == 0
