"""Answers and correctness, scores, and what the views let out."""

from __future__ import annotations

import json

import pytest

from examsync.domain.content import is_correct, public_question, validate_answer
from examsync.domain.errors import AnswerTooLongError, InvalidAnswerError
from examsync.domain.scoring import accuracy, combine_scores, score_section
from examsync.domain.views import progress_view, results_view, resume_view

from .builders import (
    DIAG_S1, EXPLANATIONS, MINUTE, MULTI_CORRECT, NUMERIC_CORRECT, Q_MULTI, Q_NUMERIC, Q_SINGLE, Q_TEXT,
    SECOND, SINGLE_CORRECT, T0, TEXT_CORRECT, diagnostic_test, make_session, op, question,
)

TEST = diagnostic_test()
SINGLE, MULTI, NUMERIC, TEXT = (TEST.question(q) for q in (Q_SINGLE, Q_MULTI, Q_NUMERIC, Q_TEXT))
SECTION_ONE, SECTION_TWO = TEST.sections


def valid(question_, answer, max_length=100):
    return validate_answer(question_, answer, max_length=max_length)


# ----- validate_answer ------------------------------------------------------------


@pytest.mark.parametrize("q", [SINGLE, MULTI, NUMERIC, TEXT])
def test_none_is_a_valid_clear_for_every_kind(q):
    assert valid(q, None) is None


def test_single_choice_accepts_one_of_its_choice_ids():
    assert valid(SINGLE, "c") == "c"


@pytest.mark.parametrize("bad", ["z", "", "B"])
def test_single_choice_rejects_an_unknown_choice(bad):
    with pytest.raises(InvalidAnswerError, match="not one of this question's choices"):
        valid(SINGLE, bad)


@pytest.mark.parametrize("bad", [["a"], 1, {"id": "a"}, True])
def test_single_choice_rejects_anything_but_a_string(bad):
    with pytest.raises(InvalidAnswerError, match="one choice id"):
        valid(SINGLE, bad)


def test_multiple_choice_is_canonicalised_sorted_without_duplicates():
    assert valid(MULTI, ["c", "a", "c"]) == ["a", "c"]


@pytest.mark.parametrize("bad", ["a", [1], ["a", None], {"a": True}])
def test_multiple_choice_rejects_anything_but_a_list_of_strings(bad):
    with pytest.raises(InvalidAnswerError, match="list of choice ids"):
        valid(MULTI, bad)


def test_multiple_choice_rejects_unknown_choices_and_names_them():
    with pytest.raises(InvalidAnswerError, match="'x'") as caught:
        valid(MULTI, ["a", "x"])
    assert caught.value.code == "invalid_answer"


@pytest.mark.parametrize("q", [NUMERIC, TEXT])
@pytest.mark.parametrize("bad", [12, 12.5, ["12"], True])
def test_short_answer_must_be_a_string(q, bad):
    with pytest.raises(InvalidAnswerError, match="a short answer is a string"):
        valid(q, bad)


def test_short_answer_at_the_length_limit_is_valid():
    assert valid(TEXT, "x" * 10, max_length=10) == "x" * 10


def test_short_answer_over_the_length_limit_is_answer_too_long():
    with pytest.raises(AnswerTooLongError, match="at most 10 characters") as caught:
        valid(TEXT, "x" * 11, max_length=10)
    assert caught.value.code == "answer_too_long"


def test_short_answer_is_kept_as_typed():
    assert valid(TEXT, "  Photo  Synthesis ") == "  Photo  Synthesis "


# ----- is_correct -----------------------------------------------------------------


def test_no_answer_is_never_correct():
    for q in (SINGLE, MULTI, NUMERIC, TEXT):
        assert not is_correct(q, None)


def test_single_choice_is_correct_only_for_the_correct_id():
    assert is_correct(SINGLE, SINGLE_CORRECT)
    assert not is_correct(SINGLE, "a")


def test_multiple_choice_is_compared_as_a_set():
    assert is_correct(MULTI, ["c", "a"])
    assert is_correct(MULTI, ["a", "c", "a"])
    assert not is_correct(MULTI, ["a"])
    assert not is_correct(MULTI, ["a", "b", "c"])
    assert not is_correct(MULTI, [])
    assert not is_correct(MULTI, "a")


@pytest.mark.parametrize("text", ["4817.25", "4817,25", " 4817.25 ", "4 817.25", "4817.3", "4817.2", "+4817.25",
                                  "4817.250"])
def test_numeric_answer_within_tolerance_is_correct(text):
    assert is_correct(NUMERIC, text)


@pytest.mark.parametrize("text", ["4817.31", "4817.19", "4817", "-4817.25", "abc", "", "4,817.25", "nan", "inf",
                                  "4817..25", "4817,2,5"])
def test_numeric_answer_outside_tolerance_or_unreadable_is_wrong(text):
    assert not is_correct(NUMERIC, text)


def test_decimal_comma_is_read_as_a_decimal_point():
    exact = question("n", "s", "short_answer", 12.5, numeric=True)
    assert is_correct(exact, "12,5")
    assert is_correct(exact, "12.5")
    assert not is_correct(exact, "125")


def test_numeric_answer_with_zero_tolerance_must_match_exactly():
    exact = question("n", "s", "short_answer", 3, numeric=True)
    assert is_correct(exact, "3")
    assert is_correct(exact, "3.0")
    assert not is_correct(exact, "3.001")


def test_numeric_answer_sums_of_floats_do_not_miss_by_rounding():
    q = question("n", "s", "short_answer", 0.3, numeric=True, tolerance=0.0)
    assert is_correct(q, str(0.1 + 0.2))


@pytest.mark.parametrize("text", ["Photosynthesis", "photosynthesis", "PHOTOSYNTHESIS", "  photosynthesis  ",
                                  "Photo   Synthesis", "photo\tsynthesis", "PHOTO SYNTHESIS"])
def test_text_answer_is_normalised_and_casefolded(text):
    assert is_correct(TEXT, text)


@pytest.mark.parametrize("text", ["photosynthesi", "photosynthesis.", "photo-synthesis", "chlorophyll", ""])
def test_text_answer_that_differs_is_wrong(text):
    assert not is_correct(TEXT, text)


def test_text_answer_casefolding_handles_more_than_ascii():
    q = question("t", "s", "short_answer", ["Straße"])
    assert is_correct(q, "STRASSE")


def test_short_answer_that_is_not_a_string_is_wrong():
    assert not is_correct(TEXT, ["photosynthesis"])


# ----- public_question --------------------------------------------------------------


@pytest.mark.parametrize("q", [SINGLE, MULTI, NUMERIC, TEXT])
def test_public_question_never_contains_the_correct_answer_or_explanation(q):
    public = public_question(q)
    assert set(public) == {"id", "kind", "stem", "points", "choices"}
    dumped = json.dumps(public)
    assert q.explanation not in dumped
    assert "EXPLANATION" not in dumped
    assert "correct" not in dumped
    assert "tolerance" not in dumped


def test_public_question_keeps_the_choices_in_order():
    assert [c["id"] for c in public_question(MULTI)["choices"]] == ["a", "b", "c", "d"]


# ----- scoring ----------------------------------------------------------------------


def test_score_section_counts_points_correct_and_answered():
    score = score_section(SECTION_ONE, {Q_SINGLE: "b", Q_MULTI: ["a"]})
    assert score == {
        "section_id": DIAG_S1,
        "title": "Section one",
        "score": 1.0,
        "max_score": 3.0,
        "correct": 1,
        "answered": 2,
        "total": 2,
        "pending": 0,
        "pending_points": 0.0,
        "by_sub_skill": {
            "addition": {"attempts": 1, "correct": 1, "points": 1.0, "max_points": 1.0},
            "fractions": {"attempts": 1, "correct": 0, "points": 0.0, "max_points": 2.0},
        },
    }


def test_skipped_questions_count_as_attempts():
    score = score_section(SECTION_TWO, {})
    assert (score["answered"], score["correct"], score["total"], score["score"]) == (0, 0, 2, 0.0)
    assert score["by_sub_skill"]["addition"]["attempts"] == 1
    assert score["by_sub_skill"]["biology"]["attempts"] == 1


def test_score_section_ignores_answers_to_questions_of_other_sections():
    score = score_section(SECTION_ONE, {Q_NUMERIC: str(NUMERIC_CORRECT)})
    assert (score["answered"], score["correct"]) == (0, 0)


def test_combine_scores_adds_sections_and_sub_skills():
    one = score_section(SECTION_ONE, {Q_SINGLE: "b", Q_MULTI: ["a", "c"]})
    two = score_section(SECTION_TWO, {Q_NUMERIC: "4817,25", Q_TEXT: "wrong"})
    total = combine_scores([one, two])
    assert (total["score"], total["max_score"], total["correct"], total["answered"], total["total"]) == (4.0, 5.0, 3, 4, 4)
    assert total["by_sub_skill"] == {
        "addition": {"attempts": 2, "correct": 2, "points": 2.0, "max_points": 2.0},
        "fractions": {"attempts": 1, "correct": 1, "points": 2.0, "max_points": 2.0},
        "biology": {"attempts": 1, "correct": 0, "points": 0.0, "max_points": 1.0},
    }


def test_combine_scores_does_not_change_its_inputs():
    one = score_section(SECTION_ONE, {Q_SINGLE: "b"})
    two = score_section(SECTION_TWO, {Q_NUMERIC: "4817.25"})
    before = json.dumps([one, two], sort_keys=True)
    combine_scores([one, two])
    assert json.dumps([one, two], sort_keys=True) == before


def test_combine_scores_of_nothing_is_zero():
    assert combine_scores([]) == {"score": 0, "max_score": 0, "correct": 0, "answered": 0, "total": 0, "pending": 0,
                                  "pending_points": 0, "by_sub_skill": {}}


def test_accuracy_is_rounded_and_zero_without_attempts():
    assert accuracy(2, 3) == 0.6667
    assert accuracy(0, 0) == 0.0


# ----- views: correct answers stay home -------------------------------------------------

SECRETS = [*EXPLANATIONS.values(), str(NUMERIC_CORRECT), *TEXT_CORRECT, "EXPLANATION"]
FORBIDDEN_KEYS = {"correct", "correct_answer", "explanation", "tolerance", "numeric", "is_correct", "sub_skill"}


def keys_of(value):
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from keys_of(item)
    elif isinstance(value, list):
        for item in value:
            yield from keys_of(item)


def assert_no_secrets(view):
    dumped = json.dumps(view)
    for secret in SECRETS:
        assert secret.casefold() not in dumped.casefold(), secret
    assert not FORBIDDEN_KEYS & set(keys_of(view))


def session_in_each_state():
    """A fresh session; one mid-section; one with section one submitted; one completed."""
    fresh = make_session(diagnostic_test())
    yield "fresh", fresh
    mid = make_session(diagnostic_test())
    mid.apply(op("answer", T0, question_id=Q_SINGLE, answer="a"), T0)
    mid.apply(op("answer", T0 + 1, question_id=Q_MULTI, answer=["b"]), T0 + 1)
    mid.apply(op("note", T0 + 2, question_id=Q_MULTI, text="unsure"), T0 + 2)
    mid.apply(op("eliminate", T0 + 3, question_id=Q_SINGLE, choice_id="c"), T0 + 3)
    mid.apply(op("flag", T0 + 4, question_id=Q_SINGLE), T0 + 4)
    yield "mid-section", mid
    between = make_session(diagnostic_test())
    between.apply(op("answer", T0, question_id=Q_SINGLE, answer="a"), T0)
    between.apply(op("submit_section", T0 + 1, section_id=DIAG_S1), T0 + 1)
    between.apply(op("answer", T0 + 2, question_id=Q_NUMERIC, answer="17"), T0 + 2)
    between.apply(op("answer", T0 + 3, question_id=Q_TEXT, answer="chlorophyll"), T0 + 3)
    yield "between sections", between
    done = make_session(diagnostic_test())
    done.apply(op("answer", T0, question_id=Q_SINGLE, answer="a"), T0)
    done.apply(op("complete", T0 + 1), T0 + 1)
    yield "completed", done


@pytest.mark.parametrize("name", ["fresh", "mid-section", "between sections", "completed"])
def test_resume_view_never_contains_correct_answers_or_explanations(name):
    session = dict(session_in_each_state())[name]
    view = resume_view(session, T0 + MINUTE)
    assert_no_secrets(view)
    for section, shown in zip(TEST.sections, view["sections"]):
        expected = [] if shown["status"] == "not_started" else [q.id for q in section.questions]
        assert [q["id"] for q in shown["questions"]] == expected


def test_a_sections_questions_are_withheld_until_its_clock_starts():
    session = make_session(TEST)
    view = resume_view(session, T0)
    assert [s["questions"] for s in view["sections"]] == [[], []]
    assert view["sections"][0]["first_question_id"] == Q_SINGLE
    session.apply(op("navigate", T0, question_id=Q_SINGLE), T0)
    started = resume_view(session, T0)
    assert [q["id"] for q in started["sections"][0]["questions"]] == [Q_SINGLE, Q_MULTI]
    assert started["sections"][0]["first_question_id"] is None
    assert started["sections"][1]["questions"] == [] and started["sections"][1]["question_count"] == 2


@pytest.mark.parametrize("name", ["fresh", "mid-section", "between sections", "completed"])
def test_progress_view_never_contains_correct_answers_or_explanations(name):
    session = dict(session_in_each_state())[name]
    assert_no_secrets(progress_view(session, T0 + MINUTE))


def test_resume_view_shows_the_students_own_state():
    session = dict(session_in_each_state())["mid-section"]
    view = resume_view(session, T0 + MINUTE)
    one = view["sections"][0]
    assert one["status"] == "in_progress"
    assert one["answers"] == {Q_SINGLE: "a", Q_MULTI: ["b"]}
    assert one["flagged"] == [Q_SINGLE]
    assert one["eliminated"] == {Q_SINGLE: ["c"]}
    assert one["notes"] == {Q_MULTI: "unsure"}
    assert one["time_limit_ms"] == 10 * MINUTE
    assert one["time_remaining_ms"] == 9 * MINUTE
    assert one["deadline"] == T0 + 10 * MINUTE
    assert view["current_section_id"] == DIAG_S1
    assert view["last_seq"] == session.last_seq
    assert view["version"] == session.version
    assert view["sections"][1]["deadline"] is None


def test_resume_view_of_a_students_correct_answer_shows_only_that_they_answered():
    # The student's own answer is theirs to see, but nothing marks it right or wrong.
    session = make_session(diagnostic_test())
    session.apply(op("answer", T0, question_id=Q_SINGLE, answer=SINGLE_CORRECT), T0)
    view = resume_view(session, T0 + SECOND)
    assert view["sections"][0]["answers"] == {Q_SINGLE: SINGLE_CORRECT}
    assert not FORBIDDEN_KEYS & set(keys_of(view))


def test_results_view_shows_correct_answers_only_for_submitted_sections():
    session = dict(session_in_each_state())["between sections"]
    view = results_view(session, {"addition": {"name": "Addition", "skill_area": "arithmetic"}})
    one, two = view["sections"]
    assert one["status"] == "submitted"
    assert {q["id"]: q["correct_answer"] for q in one["questions"]} == {Q_SINGLE: SINGLE_CORRECT, Q_MULTI: MULTI_CORRECT}
    assert {q["id"]: q["explanation"] for q in one["questions"]} == {Q_SINGLE: EXPLANATIONS[Q_SINGLE],
                                                                     Q_MULTI: EXPLANATIONS[Q_MULTI]}
    assert [q["your_answer"] for q in one["questions"]] == ["a", None]
    assert [q["is_correct"] for q in one["questions"]] == [False, False]
    assert one["submit_reason"] == "student"
    # The open section shows nothing of its questions.
    assert set(two) == {"section_id", "title", "status"}
    dumped = json.dumps(two)
    for secret in [EXPLANATIONS[Q_NUMERIC], EXPLANATIONS[Q_TEXT], str(NUMERIC_CORRECT), *TEXT_CORRECT]:
        assert secret not in dumped
    # Sub-skills so far come from the submitted section only.
    assert view["score"] is None
    assert {s["sub_skill"]: s["attempts"] for s in view["by_sub_skill"]} == {"addition": 1, "fractions": 1}
    assert view["by_sub_skill"][0]["name"] == "Addition"
    assert view["by_sub_skill"][0]["skill_area"] == "arithmetic"
    assert view["by_sub_skill"][1]["name"] == "fractions"


def test_results_view_of_a_completed_session_shows_every_section():
    session = dict(session_in_each_state())["completed"]
    view = results_view(session, {})
    assert view["status"] == "completed"
    assert (view["score"], view["max_score"]) == (0.0, 5.0)
    assert all(s["status"] == "submitted" for s in view["sections"])
    by_id = {q["id"]: q for s in view["sections"] for q in s["questions"]}
    assert by_id[Q_NUMERIC]["correct_answer"] == NUMERIC_CORRECT
    assert by_id[Q_TEXT]["correct_answer"] == TEXT_CORRECT
    assert by_id[Q_TEXT]["explanation"] == EXPLANATIONS[Q_TEXT]
    assert {s["sub_skill"]: (s["attempts"], s["correct"], s["accuracy"]) for s in view["by_sub_skill"]} == {
        "addition": (2, 0, 0.0), "biology": (1, 0, 0.0), "fractions": (1, 0, 0.0),
    }


def test_results_view_of_a_fresh_session_shows_no_questions():
    view = results_view(make_session(diagnostic_test()), {})
    assert_no_secrets(view)
    assert view["by_sub_skill"] == []


def test_an_empty_selection_or_a_blank_short_answer_counts_as_not_answered() -> None:
    assert valid(MULTI, []) is None
    assert valid(TEXT, "   ") is None
