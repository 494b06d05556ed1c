"""Scores: per section, per test and per sub-skill.

Every question of a submitted section counts as an attempt, answered or not,
so skipping a question never raises a sub-skill's accuracy.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from examsync.domain.content import Answer, Section, is_correct, question_score


def score_section(section: Section, answers: Mapping[str, Answer]) -> dict[str, Any]:
    by_sub_skill: dict[str, dict[str, float]] = {}
    score = max_score = 0.0
    correct_count = answered = 0
    for question in section.questions:
        answer = answers.get(question.id)
        correct = is_correct(question, answer)
        answered += answer is not None
        correct_count += correct
        max_score += question.points
        earned = question_score(question, answer)  # partial credit: a multiple_choice with choice weights
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
        "by_sub_skill": by_sub_skill,
    }


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
        "by_sub_skill": by_sub_skill,
    }


def accuracy(correct: float, attempts: float) -> float:
    return round(correct / attempts, 4) if attempts else 0.0
