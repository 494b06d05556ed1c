"""Scoring of numeric questions, partial credit, short-answer case rule and wildcards, against cases worked by hand."""

from __future__ import annotations

import pytest

from examsync.domain.content import Choice, Question, Section, correct_answer_view, is_correct, public_question, question_score, validate_answer
from examsync.domain.errors import InvalidAnswerError
from examsync.domain.scoring import score_section


def question(kind: str, correct: object, **extra: object) -> Question:
    return Question(id="q", section_id="s", key="q", kind=kind, stem="?", sub_skill="x", correct=correct, **extra)


@pytest.mark.parametrize(("answer", "right"), [("3.14", True), ("3,14", True), ("3.145", True), ("3.146", False),
                                               ("3.135", True), (" 3,1 ", False), ("pi", False), ("", False)])
def test_numeric_value_with_tolerance(answer: str, right: bool) -> None:
    q = question("numeric", 3.14, tolerance=0.005)
    assert is_correct(q, validate_answer(q, answer, max_length=100)) is right


@pytest.mark.parametrize(("answer", "right"), [("1", True), ("5", True), ("2,5", True), ("0.99", False), ("5.01", False)])
def test_numeric_range_includes_its_ends(answer: str, right: bool) -> None:
    assert is_correct(question("numeric", {"min": 1, "max": 5}), answer) is right


def test_numeric_view_hides_the_answer_and_results_show_it() -> None:
    q = question("numeric", 100.0, tolerance=0.5)
    assert public_question(q) == {"id": "q", "kind": "numeric", "stem": "?", "points": 1.0, "choices": []}
    assert correct_answer_view(q) == "100 ± 0.5"
    assert correct_answer_view(question("numeric", {"min": 1.0, "max": 5.0})) == "1 to 5"
    with pytest.raises(InvalidAnswerError):
        validate_answer(q, 100, max_length=100)  # a number is sent as the student typed it, a string


def weighted(points: float = 3.0) -> Question:
    # Red and Blue are worth half each, Green takes the whole question away: Moodle's 50/50/-100.
    return question("multiple_choice", ["a", "b"], points=points,
                    choices=(Choice("a", "Red", 0.5), Choice("b", "Blue", 0.5), Choice("c", "Green", -1.0)))


@pytest.mark.parametrize(("answer", "earned"), [(["a", "b"], 3.0), (["a"], 1.5), (["b"], 1.5), (["a", "c"], 0.0),
                                                (["a", "b", "c"], 0.0), (["c"], 0.0), (None, 0.0)])
def test_partial_credit_by_hand(answer: list[str] | None, earned: float) -> None:
    # 3 points × (sum of ticked weights, kept between 0 and 1): Red alone 3 × 0.5 = 1.5; Red+Green 3 × max(0, -0.5) = 0.
    assert question_score(weighted(), answer) == earned


def test_partial_credit_in_section_scores_but_only_full_marks_count_correct() -> None:
    q = weighted()
    section = Section("s", "s", "S", None, (q,))
    score = score_section(section, {"q": ["a"]})
    assert (score["score"], score["max_score"], score["correct"]) == (1.5, 3.0, 0)
    assert score["by_sub_skill"]["x"]["points"] == 1.5
    assert "weight" not in str(public_question(q))


def test_without_weights_multiple_choice_stays_all_or_nothing() -> None:
    q = question("multiple_choice", ["a", "b"], points=2.0, choices=(Choice("a", "A"), Choice("b", "B"), Choice("c", "C")))
    assert question_score(q, ["a"]) == 0.0 and question_score(q, ["a", "b"]) == 2.0


@pytest.mark.parametrize(("accepted", "answer", "right"), [
    (["metre"], "Metre", True), (["met*r"], "meter", True), (["met*r"], "metr", True), (["met*r"], "meters", False),
    (["a\\*b"], "a*b", True), (["a\\*b"], "axb", False), (["*"], "anything", True)])
def test_short_answer_wildcards(accepted: list[str], answer: str, right: bool) -> None:
    assert is_correct(question("short_answer", accepted), answer) is right


def test_short_answer_case_rule() -> None:
    q = question("short_answer", {"accepted": ["Au"], "case_sensitive": True})
    assert is_correct(q, "Au") and not is_correct(q, "au") and not is_correct(q, "AU")
    assert correct_answer_view(q) == ["Au"]
    assert is_correct(question("short_answer", ["Au"]), "au")
