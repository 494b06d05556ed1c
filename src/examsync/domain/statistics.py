"""The statistics of a class's attempts at one test: the score summary and the item analysis.

Pure functions over plain values; docs/item-analysis.md gives every formula with a worked example, and
tests/unit/test_item_statistics.py checks them against that example computed by hand. They follow Moodle's quiz
statistics (facility index, discrimination index as the correlation with the rest of the test, distractor
analysis), with the choices written down here where Moodle leaves one open:

- An item's statistics are taken over the attempts in which the student *saw* the item (`ItemResponse` is built
  only for those). The caller decides what saw means; examsync's is in `services/reports.py`.
- Spread is the sample standard deviation (n − 1), as Moodle's quiz report and a spreadsheet's STDEV compute it.
- Values are returned unrounded; rounding is the caller's, for display.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from examsync.domain.session import REJECTED, LogEntry

# Discrimination and the upper/lower difference say nothing useful about fewer students than this: null below it.
MIN_STUDENTS = 5
# The upper and lower groups each hold this share of the students (Kelley's 27 %), in hundredths.
GROUP_PERCENT = 27

# Log entries that end the student's stay on a question (a navigate ends it too, and starts the next one).
VISIT_ENDS = frozenset({"submit_section", "complete", "section_expired", "session_ended"})


# ----- the score summary -------------------------------------------------------------------------------------


def summarize(values: Sequence[float]) -> dict[str, Any]:
    """count, mean, median, stdev (sample: n − 1; null under 2 values), min, max; all null but count when empty."""
    count = len(values)
    if not count:
        return {"count": 0, "mean": None, "median": None, "stdev": None, "min": None, "max": None}
    return {
        "count": count,
        "mean": math.fsum(values) / count,
        "median": float(statistics.median(values)),
        "stdev": statistics.stdev(values) if count >= 2 else None,
        "min": float(min(values)),
        "max": float(max(values)),
    }


# ----- the item analysis -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemResponse:
    """One student's counted attempt, as the analysis of one item reads it (only attempts that saw the item)."""

    total: float  # the attempt's score, in points, this item included
    score: float  # the points this item earned in it
    correct: bool
    answered: bool
    choices: frozenset[str] = frozenset()  # the choices the final answer holds (choice questions)
    time_ms: int | None = None  # time spent on the item (`time_on_questions`), None when unknown


def group_size(count: int) -> int:
    """How many students the upper (and the lower) group holds: 27 % of `count`, to the nearest, halves up."""
    return (GROUP_PERCENT * count + 50) // 100


def extreme_groups(totals: Sequence[float]) -> tuple[list[float], list[float]]:
    """Each student's weight (0 to 1) in the upper and in the lower group, by total score.

    Each group holds exactly `group_size(n)` students' worth of weight. Students tied on a total that straddles a
    group's edge share the places left equally, so the groups do not depend on the order students are listed in:
    with 2 places left and 4 students tied, each of the 4 counts 0.5.
    """
    size = group_size(len(totals))
    return _group(totals, size, highest=True), _group(totals, size, highest=False)


def _group(totals: Sequence[float], size: int, *, highest: bool) -> list[float]:
    weights = [0.0] * len(totals)
    left = float(size)
    for total in sorted(set(totals), reverse=highest):
        if left <= 0:
            break
        tied = [i for i, t in enumerate(totals) if t == total]
        each = min(1.0, left / len(tied))
        for i in tied:
            weights[i] = each
        left -= each * len(tied)
    return weights


def point_biserial(item: Sequence[float], rest: Sequence[float]) -> float | None:
    """Pearson's correlation of the item scores with the rest scores (total minus the item); None when either
    does not vary. With a right/wrong item it is the point-biserial correlation."""
    n = len(item)
    mean_x, mean_y = math.fsum(item) / n, math.fsum(rest) / n
    sxy = math.fsum((x - mean_x) * (y - mean_y) for x, y in zip(item, rest))
    sxx = math.fsum((x - mean_x) ** 2 for x in item)
    syy = math.fsum((y - mean_y) ** 2 for y in rest)
    if sxx <= 1e-12 or syy <= 1e-12:
        return None
    return sxy / math.sqrt(sxx * syy)


def item_statistics(responses: Sequence[ItemResponse], choice_ids: Sequence[str] = ()) -> dict[str, Any]:
    """answered, correct, facility, discrimination, upper_lower, choices and median_time_ms of one item.

    `responses` are the attempts that saw the item. facility = correct / seen (null when nobody saw it);
    discrimination = point_biserial(item score, total − item score), null under MIN_STUDENTS or when a score does
    not vary; upper_lower = facility in the upper group − facility in the lower group (`extreme_groups`), null under
    MIN_STUDENTS; per choice: how many final answers hold it, their share of those who saw the item, and that share
    within the upper and the lower group; median_time_ms over the responses whose time is known.
    """
    seen = len(responses)
    correct = sum(1 for r in responses if r.correct)
    enough = seen >= MIN_STUDENTS
    upper, lower = extreme_groups([r.total for r in responses]) if enough else ([], [])
    size = group_size(seen)

    def in_group(weights: list[float], hit: Iterable[bool]) -> float | None:
        if not enough:
            return None
        return math.fsum(w for w, h in zip(weights, hit) if h) / size

    choices = []
    for choice_id in choice_ids:
        holds = [choice_id in r.choices for r in responses]
        count = sum(holds)
        choices.append({
            "choice_id": choice_id,
            "count": count,
            "share": count / seen if seen else None,
            "upper_share": in_group(upper, holds),
            "lower_share": in_group(lower, holds),
        })
    upper_facility = in_group(upper, (r.correct for r in responses))
    lower_facility = in_group(lower, (r.correct for r in responses))
    times = [r.time_ms for r in responses if r.time_ms is not None]
    return {
        "seen": seen,
        "answered": sum(1 for r in responses if r.answered),
        "correct": correct,
        "facility": correct / seen if seen else None,
        "discrimination": point_biserial([r.score for r in responses], [r.total - r.score for r in responses])
        if enough else None,
        "upper_lower": None if upper_facility is None or lower_facility is None else upper_facility - lower_facility,
        "choices": choices,
        "median_time_ms": round(statistics.median(times)) if times else None,
    }


# ----- time on a question, from the session's log -----------------------------------------------------------


def mark_time(entry: LogEntry) -> int:
    """When, in the student's time, a log entry happened: an op at its effective time; a section that ran out at its
    deadline and a session ended by a rule at its end, not when the server happened to record them."""
    if entry.kind == "section_expired" and isinstance(entry.payload.get("deadline"), int):
        return int(entry.payload["deadline"])
    if entry.kind == "session_ended" and isinstance(entry.payload.get("ended_at"), int):
        return int(entry.payload["ended_at"])
    return entry.effective_time if entry.effective_time is not None else entry.server_time


def time_on_questions(entries: Iterable[LogEntry], end_at: int | None = None) -> dict[str, int]:
    """Milliseconds the student spent on each question they navigated to: the sum of their visits.

    A visit starts at a navigate op to the question and lasts until the next navigate (to any question) or the
    next entry that ends a section or the session (`VISIT_ENDS`), in the student's own time order; a visit still
    open when the log ends closes at `end_at` (the session's completion), or is not counted without one. Rejected
    ops are not visits. A question never navigated to has no entry: its time is unknown, not zero.
    """
    marks = sorted(
        ((mark_time(e), e.seq, e) for e in entries
         if e.status != REJECTED and (e.kind == "navigate" or e.kind in VISIT_ENDS)),
        key=lambda m: (m[0], m[1]),
    )
    spent: dict[str, int] = {}
    current: str | None = None
    since = 0
    for at, _, entry in marks:
        if current is not None:
            spent[current] = spent.get(current, 0) + max(0, at - since)
            current = None
        if entry.kind == "navigate" and entry.question_id is not None:
            current, since = entry.question_id, at
    if current is not None and end_at is not None:
        spent[current] = spent.get(current, 0) + max(0, end_at - since)
    return spent


# ----- which attempt counts ----------------------------------------------------------------------------------


def graded_attempt(attempts: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The attempt a student's grade comes from, among theirs at one assignment (each with status, score,
    started_at, completed_at).

    The completed attempt with the highest score, as Moodle's default grading method ("highest grade"); of equal
    scores the one completed first. Without a completed attempt, the latest active one (its score is not a grade
    yet); None without any attempt.
    """
    completed = [a for a in attempts if a["status"] == "completed" and a["score"] is not None]
    if completed:
        return min(completed, key=lambda a: (-float(a["score"]["score"]), a["completed_at"] or 0))
    active = [a for a in attempts if a["status"] != "completed"]
    return max(active, key=lambda a: a["started_at"]) if active else None
