"""Writing tests as examsync's own YAML (docs/content-format.md): every field written out, defaults too, so importing
the file gives the same tests, and exporting them again the same file."""

from __future__ import annotations

from typing import Any

import yaml

from examsync.domain.content import Question, Test


def question_document(question: Question) -> dict[str, Any]:
    data: dict[str, Any] = {"key": question.key, "kind": question.kind, "stem": question.stem,
                            "sub_skill": question.sub_skill, "points": question.points}
    if question.choices:
        data["choices"] = [{"id": c.id, "text": c.text, **({"weight": c.weight} if c.weight is not None else {})}
                           for c in question.choices]
    correct = question.correct
    if question.kind == "extended_text":
        grader_info = correct.get("grader_info", "") if isinstance(correct, dict) else ""
        if grader_info:
            data["grader_info"] = grader_info
    elif question.kind == "short_answer" and not question.numeric:
        if isinstance(correct, dict):
            data["correct"] = list(correct["accepted"])
            data["case_sensitive"] = bool(correct.get("case_sensitive"))
        else:
            data["correct"] = list(correct)
    elif question.kind == "multiple_choice":
        data["correct"] = list(correct)
    else:
        data["correct"] = dict(correct) if isinstance(correct, dict) else correct
    if question.kind == "short_answer" and question.numeric:
        data["numeric"] = True
    if (question.kind == "numeric" and not isinstance(correct, dict)) or question.numeric:
        data["tolerance"] = question.tolerance
    if question.explanation:
        data["explanation"] = question.explanation
    return data


def test_document(test: Test) -> dict[str, Any]:
    data: dict[str, Any] = {"slug": test.slug, "title": test.title}
    if test.description:
        data["description"] = test.description
    data |= {"mode": test.mode, "timer_policy": test.timer_policy, "allow_untimed": test.allow_untimed,
             "time_multipliers": list(test.time_multipliers)}
    if test.sub_skill is not None:
        data["sub_skill"] = test.sub_skill
    data |= {"break_seconds": test.break_seconds, "idle_limit_seconds": test.idle_limit_seconds}
    data["sections"] = [
        {"key": s.key, "title": s.title,
         **({"time_limit_seconds": s.time_limit_seconds} if s.time_limit_seconds is not None else {}),
         "questions": [question_document(q) for q in s.questions]}
        for s in test.sections
    ]
    return data


def document(tests: list[Test], sub_skills: dict[str, dict[str, str]]) -> dict[str, Any]:
    """The tests and the skill areas and sub-skills they name (`sub_skills`: store.content.sub_skill_names)."""
    used = {q.sub_skill for t in tests for s in t.sections for q in s.questions} | {
        t.sub_skill for t in tests if t.sub_skill}
    areas: dict[str, dict[str, Any]] = {}
    for slug in sorted(used):
        info = sub_skills.get(slug)
        if info is None:
            continue
        area = areas.setdefault(info["skill_area"], {"slug": info["skill_area"], "name": info["skill_area_name"],
                                                     "sub_skills": []})
        area["sub_skills"].append({"slug": slug, "name": info["name"]})
    return {"skill_areas": [areas[k] for k in sorted(areas)], "tests": [test_document(t) for t in tests]}


def dump(tests: list[Test], sub_skills: dict[str, dict[str, str]]) -> bytes:
    text = yaml.safe_dump(document(tests, sub_skills), sort_keys=False, allow_unicode=True, width=120)
    return ("# examsync content (docs/content-format.md); import with `examsync import`\n" + text).encode("utf-8")
