"""Small helpers that build domain tests, sessions and ops in code.

Times are plain integers (milliseconds since the Unix epoch); nothing here
reads a clock. The domain classes named `Test...` are imported under other
names so that pytest never mistakes them for test classes.
"""

from __future__ import annotations

import uuid
from typing import Any

from examsync.domain.content import Choice, Question, Section
from examsync.domain.content import Test as ExamTest
from examsync.domain.ops import Op
from examsync.domain.session import Rules
from examsync.domain.session import TestSession as ExamSession

SECOND = 1_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
T0 = 1_700_000_000_000  # a fixed "server now" at which sessions start

# --- the diagnostic (wall_clock, two sections) ----------------------------------
# Correct values and explanations are distinctive so that a leak can be found by
# searching serialised views for them.
DIAG_S1, DIAG_S2 = "diag-s1", "diag-s2"
DIAG_S1_LIMIT_S, DIAG_S2_LIMIT_S = 600, 300
Q_SINGLE, Q_MULTI = "diag-q-single", "diag-q-multi"
Q_NUMERIC, Q_TEXT = "diag-q-numeric", "diag-q-text"
SINGLE_CORRECT = "b"
MULTI_CORRECT = ["a", "c"]
NUMERIC_CORRECT = 4817.25
NUMERIC_TOLERANCE = 0.05
TEXT_CORRECT = ["Photosynthesis", "photo synthesis"]
EXPLANATIONS = {
    Q_SINGLE: "EXPLANATION-SINGLE-kq7: option B is the only even choice.",
    Q_MULTI: "EXPLANATION-MULTI-zr2: A and C are both halves.",
    Q_NUMERIC: "EXPLANATION-NUMERIC-vx9: add the parts.",
    Q_TEXT: "EXPLANATION-TEXT-wp4: plants make sugar from light.",
}

# --- the practice test (active_time, one section) ------------------------------
PRAC_S1 = "prac-s1"
PRAC_LIMIT_S = 120
P_Q1, P_Q2 = "prac-q1", "prac-q2"

# --- the drill (untimed, one section) -----------------------------------------
DRILL_S1 = "drill-s1"
D_Q1, D_Q2 = "drill-q1", "drill-q2"


def choices(*ids: str) -> tuple[Choice, ...]:
    return tuple(Choice(id=choice_id, text=f"Choice {choice_id.upper()}") for choice_id in ids)


def question(
    question_id: str,
    section_id: str,
    kind: str,
    correct: Any,
    *,
    choice_ids: tuple[str, ...] = (),
    numeric: bool = False,
    tolerance: float = 0.0,
    sub_skill: str = "addition",
    points: float = 1.0,
    explanation: str = "",
    stem: str | None = None,
) -> Question:
    return Question(
        id=question_id,
        section_id=section_id,
        key=question_id,
        kind=kind,
        stem=stem if stem is not None else f"<p>Question {question_id}</p>",
        sub_skill=sub_skill,
        points=points,
        choices=choices(*choice_ids),
        correct=correct,
        numeric=numeric,
        tolerance=tolerance,
        explanation=explanation,
    )


def diagnostic_test(
    *, s1_limit_s: int | None = DIAG_S1_LIMIT_S, s2_limit_s: int | None = DIAG_S2_LIMIT_S, **options: Any
) -> ExamTest:
    """Two wall_clock sections: single and multiple choice, then numeric and text short answers.

    `options` are further test options, such as `break_seconds` and `idle_limit_seconds`."""
    section_one = Section(
        id=DIAG_S1,
        key="one",
        title="Section one",
        time_limit_seconds=s1_limit_s,
        questions=(
            question(Q_SINGLE, DIAG_S1, "single_choice", SINGLE_CORRECT, choice_ids=("a", "b", "c"),
                     sub_skill="addition", explanation=EXPLANATIONS[Q_SINGLE]),
            question(Q_MULTI, DIAG_S1, "multiple_choice", list(MULTI_CORRECT), choice_ids=("a", "b", "c", "d"),
                     sub_skill="fractions", points=2.0, explanation=EXPLANATIONS[Q_MULTI]),
        ),
    )
    section_two = Section(
        id=DIAG_S2,
        key="two",
        title="Section two",
        time_limit_seconds=s2_limit_s,
        questions=(
            question(Q_NUMERIC, DIAG_S2, "short_answer", NUMERIC_CORRECT, numeric=True,
                     tolerance=NUMERIC_TOLERANCE, sub_skill="addition", explanation=EXPLANATIONS[Q_NUMERIC]),
            question(Q_TEXT, DIAG_S2, "short_answer", list(TEXT_CORRECT), sub_skill="biology",
                     explanation=EXPLANATIONS[Q_TEXT]),
        ),
    )
    return ExamTest(
        id="test-diagnostic",
        slug="diagnostic",
        title="Diagnostic",
        mode="diagnostic",
        timer_policy="wall_clock",
        sections=(section_one, section_two),
        **options,
    )


def practice_test(*, limit_s: int | None = PRAC_LIMIT_S, **options: Any) -> ExamTest:
    """One active_time section of two single-choice questions; may be taken untimed or with 1.5x time."""
    section = Section(
        id=PRAC_S1,
        key="main",
        title="Practice",
        time_limit_seconds=limit_s,
        questions=(
            question(P_Q1, PRAC_S1, "single_choice", "a", choice_ids=("a", "b")),
            question(P_Q2, PRAC_S1, "single_choice", "b", choice_ids=("a", "b", "c")),
        ),
    )
    return ExamTest(
        id="test-practice",
        slug="practice",
        title="Practice",
        mode="practice",
        timer_policy="active_time",
        sections=(section,),
        allow_untimed=True,
        time_multipliers=(1.0, 1.5),
        **options,
    )


def drill_test() -> ExamTest:
    """One untimed section for one sub-skill."""
    section = Section(
        id=DRILL_S1,
        key="drill",
        title="Drill",
        time_limit_seconds=None,
        questions=(
            question(D_Q1, DRILL_S1, "single_choice", "c", choice_ids=("a", "b", "c", "d")),
            question(D_Q2, DRILL_S1, "short_answer", ["seven"]),
        ),
    )
    return ExamTest(
        id="test-drill",
        slug="drill",
        title="Drill",
        mode="drill",
        timer_policy="wall_clock",
        sections=(section,),
        sub_skill="addition",
    )


def make_session(test: ExamTest, *, now: int = T0, **kw: Any) -> ExamSession:
    """A fresh active session of `test`, started at `now`."""
    kw.setdefault("id", "session-1")
    kw.setdefault("user_id", "student-1")
    kw.setdefault("rules", Rules())
    kw.setdefault("started_at", now)
    kw.setdefault("last_activity_at", now)
    return ExamSession(test=test, **kw)


def new_op_id() -> str:
    return str(uuid.uuid4())


def op(type: str, t: int, **fields: Any) -> Op:
    """An op of `type` made at client time `t`, with a fresh op_id unless one is given."""
    op_id = fields.pop("op_id", None) or new_op_id()
    return Op(op_id=op_id, type=type, client_time=t, **fields)
