"""Test content: tests, sections and questions, and what a valid answer is.

Questions hold their correct answer; `public_question` is the only view of a
question that may leave the server before its section is submitted.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

from examsync.domain.errors import InvalidAnswerError, AnswerTooLongError

Mode = Literal["diagnostic", "practice", "drill"]
TimerPolicy = Literal["wall_clock", "active_time"]
QuestionKind = Literal["single_choice", "multiple_choice", "short_answer", "numeric", "extended_text"]

MODES: tuple[str, ...] = ("diagnostic", "practice", "drill")
TIMER_POLICIES: tuple[str, ...] = ("wall_clock", "active_time")
QUESTION_KINDS: tuple[str, ...] = ("single_choice", "multiple_choice", "short_answer", "numeric", "extended_text")
# Kinds that staff mark by hand (the staff op `grade`): their points are pending until then.
MARKED_BY_STAFF: tuple[str, ...] = ("extended_text",)

# When a timed session ends by itself (docs/concepts.md#the-end-of-a-timed-session): the next section starts
# after a break of at most this long, and a session idle for this long is completed with what it holds.
DEFAULT_BREAK_SECONDS = 600
DEFAULT_IDLE_LIMIT_SECONDS = 86_400

# An answer is a choice id, a list of choice ids, a short string, or None (cleared).
Answer = str | list[str] | None


@dataclass(frozen=True)
class Choice:
    id: str
    text: str
    # multiple_choice with partial credit: the share of the question's points this choice adds when ticked
    # (-1 to 1; negative for a wrong choice). None everywhere: all or nothing.
    weight: float | None = None


@dataclass(frozen=True)
class Question:
    id: str
    section_id: str
    key: str
    kind: str
    stem: str
    sub_skill: str
    points: float = 1.0
    choices: tuple[Choice, ...] = ()
    # single_choice: a choice id; multiple_choice: a list of ids;
    # short_answer: a number (numeric) or a list of accepted strings, or {"accepted": [...], "case_sensitive": true};
    # numeric: a number (within `tolerance`) or {"min": a, "max": b};
    # extended_text: {"grader_info": text} (guidance for the marker, never shown to the student).
    correct: Any = None
    numeric: bool = False
    tolerance: float = 0.0
    explanation: str = ""

    @property
    def choice_ids(self) -> frozenset[str]:
        return frozenset(c.id for c in self.choices)


@dataclass(frozen=True)
class Section:
    id: str
    key: str
    title: str
    time_limit_seconds: int | None
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class Test:
    id: str
    slug: str
    title: str
    mode: str
    timer_policy: str
    sections: tuple[Section, ...]
    description: str = ""
    allow_untimed: bool = False
    time_multipliers: tuple[float, ...] = (1.0,)
    sub_skill: str | None = None
    break_seconds: int | None = DEFAULT_BREAK_SECONDS  # None: the next section waits for the student
    idle_limit_seconds: int | None = DEFAULT_IDLE_LIMIT_SECONDS  # None: never ended for being idle
    _questions: dict[str, Question] = field(default_factory=dict, compare=False, repr=False)
    _section_of: dict[str, Section] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for section in self.sections:
            for question in section.questions:
                self._questions[question.id] = question
                self._section_of[question.id] = section

    def question(self, question_id: str) -> Question | None:
        return self._questions.get(question_id)

    def section_of(self, question_id: str) -> Section | None:
        return self._section_of.get(question_id)

    def section(self, section_id: str) -> Section | None:
        return next((s for s in self.sections if s.id == section_id), None)

    @property
    def question_count(self) -> int:
        return len(self._questions)


def public_question(question: Question) -> dict[str, Any]:
    """What a student may see of a question while its section is open."""
    return {
        "id": question.id,
        "kind": question.kind,
        "stem": question.stem,
        "points": question.points,
        "choices": [{"id": c.id, "text": c.text} for c in question.choices],
    }


def validate_answer(question: Question, answer: Any, *, max_length: int,
                    max_extended_length: int = 20_000) -> Answer:
    """Return the answer in canonical form (None: not answered), or raise if it cannot be one for this question."""
    if answer is None:
        return None
    if question.kind == "single_choice":
        if not isinstance(answer, str):
            raise InvalidAnswerError("a single-choice answer is one choice id (a string)")
        if answer not in question.choice_ids:
            raise InvalidAnswerError(f"choice {answer!r} is not one of this question's choices")
        return answer
    if question.kind == "multiple_choice":
        if not isinstance(answer, list) or not all(isinstance(a, str) for a in answer):
            raise InvalidAnswerError("a multiple-choice answer is a list of choice ids")
        unknown = [a for a in answer if a not in question.choice_ids]
        if unknown:
            raise InvalidAnswerError(f"choices {unknown!r} are not among this question's choices")
        return sorted(set(answer)) or None  # no box ticked: not answered
    if not isinstance(answer, str):
        raise InvalidAnswerError("a numeric answer is a string, as typed" if question.kind == "numeric"
                                 else "an extended answer is a string" if question.kind == "extended_text"
                                 else "a short answer is a string")
    if question.kind == "extended_text":
        if len(answer) > max_extended_length:
            raise AnswerTooLongError(f"an extended answer is at most {max_extended_length} characters")
    elif len(answer) > max_length:
        raise AnswerTooLongError(f"a short answer is at most {max_length} characters")
    return answer if answer.strip() else None  # blank: not answered


_SPACES = re.compile(r"\s+")


def _normalise_text(text: str) -> str:
    return _SPACES.sub(" ", text.strip()).casefold()


def _parse_number(text: str) -> float | None:
    cleaned = text.strip().replace(" ", "")
    if cleaned.count(",") == 1 and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def accepted_answers(question: Question) -> list[str]:
    """A text short answer's accepted strings."""
    correct = question.correct
    return list(correct["accepted"]) if isinstance(correct, dict) else list(correct)


def _matches(pattern: str, answer: str, case_sensitive: bool) -> bool:
    """Spaces normalised; `*` stands for any run of characters (`\\*` for an asterisk itself), as in Moodle."""
    fold = (lambda t: _SPACES.sub(" ", t.strip())) if case_sensitive else _normalise_text
    pattern, answer = fold(pattern), fold(answer)
    if "*" not in pattern:
        return pattern == answer
    parts = re.split(r"(\\\*|\*)", pattern)
    regex = "".join(".*" if p == "*" else re.escape("*") if p == "\\*" else re.escape(p) for p in parts)
    return re.fullmatch(regex, answer, flags=re.DOTALL) is not None


def in_numeric_range(question: Question, value: float) -> bool:
    correct = question.correct
    if isinstance(correct, dict):
        return float(correct["min"]) - 1e-9 <= value <= float(correct["max"]) + 1e-9
    return abs(value - float(correct)) <= question.tolerance + 1e-9


def correct_answer_view(question: Question) -> Any:
    """The correct answer as results show it once a section is submitted (none for a question staff mark)."""
    if question.kind in MARKED_BY_STAFF:
        return None
    if question.kind == "numeric":
        correct = question.correct
        if isinstance(correct, dict):
            return f"{correct['min']:g} to {correct['max']:g}"
        return f"{float(correct):g}" + (f" ± {question.tolerance:g}" if question.tolerance else "")
    if question.kind == "short_answer" and not question.numeric:
        return accepted_answers(question)
    return question.correct


def has_partial_credit(question: Question) -> bool:
    return question.kind == "multiple_choice" and any(c.weight is not None for c in question.choices)


def is_marked_by_staff(question: Question) -> bool:
    return question.kind in MARKED_BY_STAFF


def question_score(question: Question, answer: Answer, grade: Mapping[str, Any] | None = None) -> float:
    """Points earned: all or nothing, except a multiple_choice question with choice weights, which earns the sum of
    the ticked choices' weights times its points, kept between 0 and its points; an extended_text question earns
    what staff gave it (`grade`), 0 until then."""
    if question.kind in MARKED_BY_STAFF:
        return float(grade["points"]) if grade is not None else 0.0
    if answer is None:
        return 0.0
    if has_partial_credit(question) and isinstance(answer, list):
        weights = {c.id: c.weight or 0.0 for c in question.choices}
        share = min(1.0, max(0.0, sum(weights.get(a, 0.0) for a in set(answer))))
        return round(question.points * share, 6)
    return question.points if is_correct(question, answer) else 0.0


def is_correct(question: Question, answer: Answer, grade: Mapping[str, Any] | None = None) -> bool:
    """Whether the answer earns full marks (an extended_text one: once staff gave it all its points)."""
    if question.kind in MARKED_BY_STAFF:
        return grade is not None and float(grade["points"]) >= question.points
    if answer is None:
        return False
    if question.kind == "single_choice":
        return answer == question.correct
    if question.kind == "multiple_choice":
        return isinstance(answer, list) and set(answer) == set(question.correct)
    if not isinstance(answer, str):
        return False
    if question.kind == "numeric":
        value = _parse_number(answer)
        return value is not None and in_numeric_range(question, value)
    if question.numeric:
        value = _parse_number(answer)
        return value is not None and abs(value - float(question.correct)) <= question.tolerance + 1e-9
    case_sensitive = isinstance(question.correct, dict) and bool(question.correct.get("case_sensitive"))
    return any(_matches(c, answer, case_sensitive) for c in accepted_answers(question))
