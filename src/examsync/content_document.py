"""Validating examsync's content document (docs/content-format.md): skill areas, tests, sections and questions.

A document is checked whole, and each problem raises `ContentError` naming the file, the test and the field. Ids
derive from slugs and keys (`stable_id`), so the same content always gets the same ids.
"""

from __future__ import annotations

import math
import re
import uuid
from pathlib import Path
from typing import Any

from examsync.content_formats.kinds import parse_answer
from examsync.content_markup import sanitize_html
from examsync.domain.content import (
    DEFAULT_BREAK_SECONDS, DEFAULT_IDLE_LIMIT_SECONDS, MODES, QUESTION_KINDS, TIMER_POLICIES,
)

NAMESPACE = uuid.UUID("8f3c2a5e-4b1d-4f6e-9a7c-2d5e8b1f0c3a")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


class ContentError(Exception):
    """A content file that cannot be imported; the message names file, test and field."""


def stable_id(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(parts)))



def _is_finite_number(value: Any) -> bool:
    """A number a float can hold: not a boolean, NaN or an infinity, nor a whole number past the float range."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _is_one_of(value: Any, names: set[str]) -> bool:
    # Only text can name one; a list or a mapping cannot even be looked up in a set.
    return isinstance(value, str) and value in names


class _Checker:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = ""

    def fail(self, field_name: str, problem: str) -> ContentError:
        return ContentError(f"{self.path}: {self.where}field {field_name!r}: {problem}")

    def text(self, data: dict[str, Any], name: str, *, required: bool = True, max_length: int = 20_000) -> str:
        value = data.get(name)
        if value is None:
            if required:
                raise self.fail(name, "is required")
            return ""
        if not isinstance(value, str) or (required and not value.strip()):
            raise self.fail(name, "must be a non-empty string")
        if len(value) > max_length:
            raise self.fail(name, f"is longer than {max_length} characters")
        return value

    def pattern(self, data: dict[str, Any], name: str, regex: re.Pattern[str], description: str) -> str:
        value = data.get(name)
        if not isinstance(value, str) or not regex.match(value):
            raise self.fail(name, f"must be {description}, got {value!r}")
        return value

    def choice(self, data: dict[str, Any], name: str, options: tuple[str, ...], default: str | None = None) -> str:
        value = data.get(name, default)
        if value not in options:
            raise self.fail(name, f"must be one of {', '.join(options)}, got {value!r}")
        return value

    def number(self, data: dict[str, Any], name: str, default: float | None, *, minimum: float = 0) -> float | None:
        value = data.get(name, default)
        if value is None:
            return None
        if not _is_finite_number(value) or value < minimum:
            raise self.fail(name, f"must be a number of at least {minimum:g}, got {value!r}")
        return value

    def mapping(self, value: Any, name: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(name, "must be a mapping")
        return value

    def sequence(self, data: dict[str, Any], name: str, *, required: bool = True) -> list[Any]:
        value = data.get(name)
        if value is None and not required:
            return []
        if not isinstance(value, list) or (required and not value):
            raise self.fail(name, "must be a non-empty list")
        return value


def parse_document(path: Path, document: Any, known_sub_skills: set[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Validate a whole document; returns (skill areas, tests) ready to write."""
    check = _Checker(path)
    if not isinstance(document, dict):
        raise ContentError(f"{path}: the file must hold a mapping with `skill_areas` and/or `tests`")
    unknown_keys = set(document) - {"skill_areas", "tests"}
    if unknown_keys:
        raise ContentError(f"{path}: unknown top-level keys {sorted(unknown_keys, key=str)}; "
                           "expected skill_areas and/or tests")
    areas = []
    for i, raw_area in enumerate(check.sequence(document, "skill_areas", required=False)):
        check.where = f"skill_areas[{i}]: "
        area = check.mapping(raw_area, "skill_areas")
        slug = check.pattern(area, "slug", _SLUG, "a slug (lowercase letters, digits, hyphens)")
        subs = []
        for j, raw_sub in enumerate(check.sequence(area, "sub_skills")):
            check.where = f"skill_areas[{i}] ({slug}): sub_skills[{j}]: "
            sub = check.mapping(raw_sub, "sub_skills")
            subs.append({"slug": check.pattern(sub, "slug", _SLUG, "a slug"), "name": check.text(sub, "name", max_length=200)})
        check.where = f"skill_areas[{i}] ({slug}): "
        areas.append({"slug": slug, "name": check.text(area, "name", max_length=200), "sub_skills": subs})
    all_sub_skills = known_sub_skills | {s["slug"] for a in areas for s in a["sub_skills"]}

    parsed_tests = []
    seen_slugs: set[str] = set()
    for i, raw_test in enumerate(check.sequence(document, "tests", required=False)):
        check.where = f"tests[{i}]: "
        data = check.mapping(raw_test, "tests")
        slug = check.pattern(data, "slug", _SLUG, "a slug (lowercase letters, digits, hyphens)")
        if slug in seen_slugs:
            raise check.fail("slug", f"test {slug!r} appears twice in this file")
        seen_slugs.add(slug)
        check.where = f"test {slug!r}: "
        parsed_tests.append(_parse_test(check, slug, data, all_sub_skills, position=i))
    return areas, parsed_tests


def _parse_test(check: _Checker, slug: str, data: dict[str, Any], all_sub_skills: set[str], position: int) -> dict[str, Any]:
    mode = check.choice(data, "mode", MODES)
    multipliers = data.get("time_multipliers", [1.0])
    if (not isinstance(multipliers, list) or not multipliers
            or not all(isinstance(m, (int, float)) and not isinstance(m, bool) and 0.5 <= m <= 10 for m in multipliers)):
        raise check.fail("time_multipliers", "must be a non-empty list of numbers between 0.5 and 10")
    if not any(m == 1 for m in multipliers):
        raise check.fail("time_multipliers", "must include 1.0 (standard time)")
    sub_skill = data.get("sub_skill")
    if mode == "drill":
        if not _is_one_of(sub_skill, all_sub_skills):
            raise check.fail("sub_skill", f"a drill names its sub-skill; {sub_skill!r} is not a known sub-skill")
    elif sub_skill is not None:
        raise check.fail("sub_skill", "only drills name a sub-skill")
    allow_untimed = data.get("allow_untimed", False)
    if not isinstance(allow_untimed, bool):
        raise check.fail("allow_untimed", "must be true or false")
    self_study = data.get("self_study")
    if self_study is not None and not isinstance(self_study, bool):
        raise check.fail("self_study", "must be true or false")
    break_seconds = check.number(data, "break_seconds", DEFAULT_BREAK_SECONDS, minimum=1)
    idle_limit_seconds = check.number(data, "idle_limit_seconds", DEFAULT_IDLE_LIMIT_SECONDS, minimum=1)
    test = {
        "id": stable_id("test", slug),
        "slug": slug,
        "title": check.text(data, "title", max_length=300),
        "description": check.text(data, "description", required=False, max_length=2000),
        "mode": mode,
        "timer_policy": check.choice(data, "timer_policy", TIMER_POLICIES, default="wall_clock"),
        "allow_untimed": allow_untimed,
        "time_multipliers": [float(m) for m in multipliers],
        "sub_skill_slug": sub_skill,
        "break_seconds": None if break_seconds is None else int(break_seconds),
        "idle_limit_seconds": None if idle_limit_seconds is None else int(idle_limit_seconds),
        "position": position,
        # Stated in the file, or left as it is (a new test is self-study; an admin may change it over the API).
        "self_study": self_study,
        "sections": [],
    }
    raw_sections = check.sequence(data, "sections")
    if mode != "diagnostic" and len(raw_sections) != 1:
        raise check.fail("sections", f"a {mode} test has exactly one section")
    question_keys: set[str] = set()
    section_keys: set[str] = set()
    for s, raw_section in enumerate(raw_sections):
        check.where = f"test {slug!r}: sections[{s}]: "
        section_data = check.mapping(raw_section, "sections")
        key = check.pattern(section_data, "key", _KEY, "a key (letters, digits, - _ .)")
        if key in section_keys:
            raise check.fail("key", f"section key {key!r} appears twice")
        section_keys.add(key)
        check.where = f"test {slug!r}: section {key!r}: "
        limit = check.number(section_data, "time_limit_seconds", None, minimum=1)
        section = {
            "id": stable_id("section", slug, key),
            "key": key,
            "title": check.text(section_data, "title", max_length=300),
            "time_limit_seconds": int(limit) if limit is not None else None,
            "position": s,
            "questions": [],
        }
        for q, raw_question in enumerate(check.sequence(section_data, "questions")):
            check.where = f"test {slug!r}: section {key!r}: questions[{q}]: "
            question = _parse_question(check, slug, check.mapping(raw_question, "questions"), all_sub_skills, q)
            if question["key"] in question_keys:
                raise check.fail("key", f"question key {question['key']!r} appears twice in this test")
            question_keys.add(question["key"])
            question["section_id"] = section["id"]
            section["questions"].append(question)
        test["sections"].append(section)
    _check_timed_sessions_end(check, slug, test)
    return test


def _check_timed_sessions_end(check: _Checker, slug: str, test: dict[str, Any]) -> None:
    """A timed session must end by itself: a wall_clock test can rely on its breaks alone, any other needs an idle limit."""
    check.where = f"test {slug!r}: "
    timed = any(section["time_limit_seconds"] is not None for section in test["sections"])
    ends_by_breaks = test["timer_policy"] == "wall_clock" and test["break_seconds"] is not None
    if timed and test["idle_limit_seconds"] is None and not ends_by_breaks:
        raise check.fail("idle_limit_seconds", "a timed test needs an idle limit, unless it is wall_clock with a break")


def _parse_question(check: _Checker, test_slug: str, data: dict[str, Any], all_sub_skills: set[str], position: int) -> dict[str, Any]:
    key = check.pattern(data, "key", _KEY, "a key (letters, digits, - _ .)")
    check.where += f"({key}) "
    kind = check.choice(data, "kind", QUESTION_KINDS)
    sub_skill = data.get("sub_skill")
    if not _is_one_of(sub_skill, all_sub_skills):
        raise check.fail("sub_skill", f"{sub_skill!r} is not a known sub-skill (define it under skill_areas)")
    question: dict[str, Any] = {
        "id": stable_id("question", test_slug, key),
        "key": key,
        "kind": kind,
        "stem": sanitize_html(check.text(data, "stem")),
        "sub_skill_slug": sub_skill,
        "points": check.number(data, "points", 1.0, minimum=0),
        "explanation": sanitize_html(check.text(data, "explanation", required=False)),
        "numeric": False,
        "tolerance": 0.0,
        "position": position,
    }
    parse_answer(check, kind, data, question, sanitize_html)
    return question

