"""Scores: per section, per test and per sub-skill.

Every question of a submitted section counts as an attempt, answered or not,
so skipping a question never raises a sub-skill's accuracy.

A question staff mark by hand (extended_text) that was answered and not yet graded is *pending*: its points count
in `max_score` and in `pending_points`, not in `score`, and it is left out of the sub-skill totals until it is
graded (so a pending essay neither lowers nor raises a sub-skill's accuracy). An unanswered one scores 0 at once.

What the student sees is the score *as released* (`released_section_score`): a grade staff have given but not yet
released (the staff op `release_marks`) counts for them as awaiting marking, exactly as if it had not been given.
Staff see the score with every grade.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from examsync.domain.content import Answer, Question, Section, is_correct, is_marked_by_staff, question_score
from examsync.domain.records import SectionState


def marking(question: Question, answer: Answer, grade: Mapping[str, Any] | None) -> str | None:
    """None for a question scored automatically; else `graded`, `pending` (answered, not yet graded) or
    `not_answered` (scores 0 unless staff grade it anyway)."""
    if not is_marked_by_staff(question):
        return None
    if grade is not None:
        return "graded"
    return "pending" if answer is not None else "not_answered"


def score_section(section: Section, answers: Mapping[str, Answer],
                  grades: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    grades = grades or {}
    by_sub_skill: dict[str, dict[str, float]] = {}
    score = max_score = pending_points = 0.0
    correct_count = answered = pending = 0
    for question in section.questions:
        answer = answers.get(question.id)
        grade = grades.get(question.id)
        answered += answer is not None
        max_score += question.points
        if marking(question, answer, grade) == "pending":
            pending += 1
            pending_points += question.points
            continue
        correct = is_correct(question, answer, grade)
        correct_count += correct
        earned = question_score(question, answer, grade)  # partial credit: choice weights, or a staff grade
        score += earned
        skill = by_sub_skill.setdefault(
            question.sub_skill, {"attempts": 0, "correct": 0, "points": 0.0, "max_points": 0.0}
        )
        skill["attempts"] += 1
        skill["correct"] += correct
        skill["max_points"] += question.points
        skill["points"] += earned
    return {
        "section_id": section.id,
        "title": section.title,
        "score": score,
        "max_score": max_score,
        "correct": correct_count,
        "answered": answered,
        "total": len(section.questions),
        "pending": pending,
        "pending_points": pending_points,
        "by_sub_skill": by_sub_skill,
    }


def released_section_score(section: Section, state: SectionState) -> dict[str, Any] | None:
    """A scored section's score as its student may see it (None while it has no score)."""
    if state.score is None:
        return None
    if not any(q.grade is not None and not q.released for q in state.questions.values()):
        return state.score  # nothing withheld: the stored score is the student's
    return score_section(section, state.answers(), state.grades(released_only=True))


def combine_scores(section_scores: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    sections = list(section_scores)
    by_sub_skill: dict[str, dict[str, float]] = {}
    for section in sections:
        for slug, skill in section["by_sub_skill"].items():
            total = by_sub_skill.setdefault(slug, {"attempts": 0, "correct": 0, "points": 0.0, "max_points": 0.0})
            for key in total:
                total[key] += skill[key]
    return {
        "score": sum(s["score"] for s in sections),
        "max_score": sum(s["max_score"] for s in sections),
        "correct": sum(s["correct"] for s in sections),
        "answered": sum(s["answered"] for s in sections),
        "total": sum(s["total"] for s in sections),
        "pending": sum(s.get("pending", 0) for s in sections),
        "pending_points": sum(s.get("pending_points", 0.0) for s in sections),
        "by_sub_skill": by_sub_skill,
    }


def accuracy(correct: float, attempts: float) -> float:
    return round(correct / attempts, 4) if attempts else 0.0
