"""The answer part of a question in examsync's own content document, for every kind (docs/content-format.md).

`parse_answer` fills a question's `choices`, `correct`, `numeric` and `tolerance` from the document, or raises the
checker's error naming the field. Choices' text is sanitized by the caller-supplied `clean`.
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable, Protocol

_CHOICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


class Checker(Protocol):
    def fail(self, field_name: str, problem: str) -> Exception: ...
    def number(self, data: dict[str, Any], name: str, default: float | None, *, minimum: float = 0) -> float | None: ...
    def sequence(self, data: dict[str, Any], name: str, *, required: bool = True) -> list[Any]: ...
    def mapping(self, value: Any, name: str) -> dict[str, Any]: ...


def finite(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def parse_answer(check: Checker, kind: str, data: dict[str, Any], question: dict[str, Any],
                 clean: Callable[[str], str]) -> None:
    correct = data.get("correct")
    if kind == "extended_text":
        _extended_text(check, data, question, correct, clean)
        return
    if kind in ("short_answer", "numeric"):
        if "choices" in data:
            raise check.fail("choices", f"a {kind} question has no choices")
        question["choices"] = []
    if kind == "numeric":
        _numeric(check, data, question, correct)
    elif kind == "short_answer":
        _short_answer(check, data, question, correct)
    else:
        _choices(check, kind, data, question, correct, clean)


def _extended_text(check: Checker, data: dict[str, Any], question: dict[str, Any], correct: Any,
                   clean: Callable[[str], str]) -> None:
    """An essay, marked by staff: no choices and no correct answer; `grader_info` is guidance for the marker."""
    if "choices" in data:
        raise check.fail("choices", "an extended_text question has no choices")
    if correct is not None:
        raise check.fail("correct", "an extended_text question has no correct answer: staff mark it "
                         "(put guidance for the marker in grader_info)")
    grader_info = data.get("grader_info", "")
    if not isinstance(grader_info, str):
        raise check.fail("grader_info", "must be text")
    question["choices"] = []
    question["correct"] = {"grader_info": clean(grader_info)}


def _numeric(check: Checker, data: dict[str, Any], question: dict[str, Any], correct: Any) -> None:
    if isinstance(correct, dict):
        low, high = correct.get("min"), correct.get("max")
        if set(correct) != {"min", "max"} or not finite(low) or not finite(high) or low > high:
            raise check.fail("correct", "a numeric range is {min: number, max: number} with min <= max")
        if data.get("tolerance") not in (None, 0):
            raise check.fail("tolerance", "a numeric range has no tolerance")
        question["correct"] = {"min": low, "max": high}
        return
    if not finite(correct):
        raise check.fail("correct", "a numeric question's correct value is a number or {min, max}")
    question["correct"] = correct
    question["tolerance"] = check.number(data, "tolerance", 0.0, minimum=0)


def _short_answer(check: Checker, data: dict[str, Any], question: dict[str, Any], correct: Any) -> None:
    numeric = data.get("numeric", False)
    if not isinstance(numeric, bool):
        raise check.fail("numeric", "must be true or false")
    question["numeric"] = numeric
    if numeric:
        if not finite(correct):
            raise check.fail("correct", "a numeric short answer's correct value is a number")
        question["correct"] = correct
        question["tolerance"] = check.number(data, "tolerance", 0.0, minimum=0)
        return
    if isinstance(correct, str):
        correct = [correct]
    if not isinstance(correct, list) or not correct or not all(isinstance(c, str) and c.strip() for c in correct):
        raise check.fail("correct", "a text short answer's correct value is a list of accepted strings")
    case_sensitive = data.get("case_sensitive", False)
    if not isinstance(case_sensitive, bool):
        raise check.fail("case_sensitive", "must be true or false")
    question["correct"] = {"accepted": correct, "case_sensitive": True} if case_sensitive else correct


def _choices(check: Checker, kind: str, data: dict[str, Any], question: dict[str, Any], correct: Any,
             clean: Callable[[str], str]) -> None:
    choices = []
    for c, raw_choice in enumerate(check.sequence(data, "choices")):
        choice = check.mapping(raw_choice, f"choices[{c}]")
        choice_id = choice.get("id")
        if not isinstance(choice_id, str) or not _CHOICE_ID.match(choice_id):
            raise check.fail(f"choices[{c}].id", f"must be a short id such as 'a', got {choice_id!r}")
        text = choice.get("text")
        if not isinstance(text, (str, int, float)) or isinstance(text, bool) or not str(text).strip():
            raise check.fail(f"choices[{c}].text", "must be non-empty text")
        entry: dict[str, Any] = {"id": choice_id, "text": clean(str(text))}
        if "weight" in choice:
            if kind != "multiple_choice":
                raise check.fail(f"choices[{c}].weight", "only multiple_choice choices carry a weight")
            weight = choice["weight"]
            if not finite(weight) or not -1 <= weight <= 1:
                raise check.fail(f"choices[{c}].weight", f"must be a number from -1 to 1, got {weight!r}")
            entry["weight"] = float(weight)
        choices.append(entry)
    ids = [c["id"] for c in choices]
    if len(set(ids)) != len(ids):
        raise check.fail("choices", "choice ids must be unique")
    if not 2 <= len(choices) <= 8:
        raise check.fail("choices", "a question has 2 to 8 choices")
    if kind == "single_choice":
        if correct not in ids:
            raise check.fail("correct", f"must be one of the choice ids {ids}, got {correct!r}")
    else:
        if not isinstance(correct, list) or not correct or any(c not in ids for c in correct) or len(set(correct)) != len(correct):
            raise check.fail("correct", f"must be a list of distinct choice ids from {ids}, got {correct!r}")
        correct = sorted(correct)
        if any("weight" in c for c in choices):
            if not all("weight" in c for c in choices):
                raise check.fail("choices", "either every choice carries a weight or none does")
            if sum(c["weight"] for c in choices if c["weight"] > 0) < 1 - 1e-6:
                raise check.fail("choices", "the positive weights must add up to at least 1 (full marks)")
    question["choices"] = choices
    question["correct"] = correct
