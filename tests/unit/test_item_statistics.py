"""The item analysis and the score summary, checked against values computed by hand (docs/item-analysis.md).

The class: 12 students, 4 one-point items. 1 = right, 0 = wrong, "-" = did not see the item.
Q2 is a single-choice item whose right choice is a; the letter is the student's final answer (S12 saw Q2 and left
it blank).

    student  Q1  Q2   Q3  Q4  total  percent
    S1       1   1 a  0   1   3      75
    S2       1   1 a  0   1   3      75
    S3       1   1 a  0   1   3      75
    S4       1   1 a  0   1   3      75
    S5       1   1 a  0   0   2      50
    S6       1   0 b  0   0   1      25
    S7       1   1 a  0   1   3      75
    S8       1   0 b  1   0   2      50
    S9       1   0 c  1   0   2      50
    S10      1   0 b  1   0   2      50
    S11      1   0 c  1   -   2      50
    S12      1   0 .  0   0   1      25

Q1 is the item everyone gets right; Q3 is answered right only by weaker students (it discriminates negatively);
S11 never saw Q4, so Q4 is analysed over 11 students.

Discrimination is Pearson's r of the item score x with the rest score y = total − x, computed here from sums:
    Sxy = Σxy − ΣxΣy/n,  Sxx = Σx² − (Σx)²/n,  Syy = Σy² − (Σy)²/n,  r = Sxy / √(Sxx·Syy)

Upper and lower groups: k = round(27 % of n), halves up = (27n + 50) // 100; for n = 12 and n = 11, k = 3.
"""

from __future__ import annotations

import math

import pytest

from examsync.domain.session import LogEntry
from examsync.domain.statistics import (
    ItemResponse,
    extreme_groups,
    graded_attempt,
    group_size,
    item_statistics,
    point_biserial,
    summarize,
    time_on_questions,
)

# (Q1, Q2 choice or None, Q3, Q4 or None when not seen) for S1..S12
CLASS = [
    (1, "a", 0, 1), (1, "a", 0, 1), (1, "a", 0, 1), (1, "a", 0, 1), (1, "a", 0, 0), (1, "b", 0, 0),
    (1, "a", 0, 1), (1, "b", 1, 0), (1, "c", 1, 0), (1, "b", 1, 0), (1, "c", 1, None), (1, None, 0, 0),
]
TOTALS = [3, 3, 3, 3, 2, 1, 3, 2, 2, 2, 2, 1]
# Q2's time on the question per student (ms); None: not known (never navigated to it).
Q2_TIMES = [10_000, 20_000, 30_000, None, 40_000, 50_000, None, 60_000, 70_000, 80_000, None, 90_000]


def responses(item: int) -> list[ItemResponse]:
    out = []
    for student, row in enumerate(CLASS):
        if item == 1:
            choice = row[1]
            out.append(ItemResponse(total=TOTALS[student], score=float(choice == "a"), correct=choice == "a",
                                    answered=choice is not None,
                                    choices=frozenset([choice]) if choice else frozenset(),
                                    time_ms=Q2_TIMES[student]))
        elif row[item] is not None:
            right = row[item] == 1
            out.append(ItemResponse(total=TOTALS[student], score=float(right), correct=right, answered=True))
    return out


def test_the_totals_of_the_table_are_the_sums_of_its_rows() -> None:
    assert [q1 + (q2 == "a") + q3 + (q4 or 0) for q1, q2, q3, q4 in CLASS] == TOTALS


def test_summary_of_the_percents_uses_the_sample_standard_deviation() -> None:
    # percents: 75 ×5, 50 ×5, 25 ×2.  mean = (375 + 250 + 50) / 12 = 56.25; median = mean of the 6th and 7th of
    # the sorted twelve = (50 + 50) / 2 = 50.
    # squared deviations: 5 × 18.75² + 5 × 6.25² + 2 × 31.25² = 1757.8125 + 195.3125 + 1953.125 = 3906.25;
    # sample variance = 3906.25 / 11 = 355.1136…; stdev = 18.8445
    summary = summarize([25.0 * t for t in TOTALS])
    assert summary == {"count": 12, "mean": 56.25, "median": 50.0, "stdev": pytest.approx(18.8445, abs=1e-4),
                       "min": 25.0, "max": 75.0}


def test_summary_of_one_value_has_no_spread_and_of_none_has_only_a_count() -> None:
    assert summarize([40.0]) == {"count": 1, "mean": 40.0, "median": 40.0, "stdev": None, "min": 40.0, "max": 40.0}
    assert summarize([]) == {"count": 0, "mean": None, "median": None, "stdev": None, "min": None, "max": None}


def test_group_size_is_27_percent_rounded_half_up() -> None:
    # 27 % of 12 = 3.24 → 3; of 11 = 2.97 → 3; of 50 = 13.5 → 14 (the half goes up); of 5 = 1.35 → 1; of 1 = 0.27 → 0
    assert [group_size(n) for n in (12, 11, 50, 5, 1)] == [3, 3, 14, 1, 0]


def test_students_tied_at_a_groups_edge_share_its_places() -> None:
    # Upper 3 places: five students tied on 3 (S1–S4, S7) share them: 3 / 5 = 0.6 each.
    # Lower 3 places: S6 and S12 (total 1) take one each; the last is shared by the five tied on 2: 0.2 each.
    upper, lower = extreme_groups(TOTALS)
    assert upper == [0.6, 0.6, 0.6, 0.6, 0, 0, 0.6, 0, 0, 0, 0, 0]
    assert lower == pytest.approx([0, 0, 0, 0, 0.2, 1, 0, 0.2, 0.2, 0.2, 0.2, 1])
    assert sum(upper) == pytest.approx(3) and sum(lower) == pytest.approx(3)


def test_the_item_everyone_gets_right_has_facility_one_and_no_discrimination() -> None:
    # x = 1 for all 12: Sxx = 12 − 144/12 = 0, so r is undefined (null); both groups' facility is 1: 1 − 1 = 0.
    stats = item_statistics(responses(0))
    assert (stats["seen"], stats["answered"], stats["correct"]) == (12, 12, 12)
    assert stats["facility"] == 1.0
    assert stats["discrimination"] is None
    assert stats["upper_lower"] == 0.0
    assert stats["choices"] == [] and stats["median_time_ms"] is None


def test_a_choice_item_and_its_distractors() -> None:
    # Q2: right 6 of 12 → facility 0.5; answered 11 (S12 left it blank).
    # Σx = 6, Σx² = 6, y = total − x = 2 2 2 2 1 1 2 2 2 2 2 1: Σy = 21, Σy² = 39, Σxy = 2+2+2+2+1+2 = 11.
    # Sxy = 11 − 6·21/12 = 0.5; Sxx = 6 − 36/12 = 3; Syy = 39 − 441/12 = 2.25; r = 0.5 / √6.75 = 0.19245
    # upper (S1–S4, S7 at 0.6 each, all chose a): facility (5 × 0.6) / 3 = 1.
    # lower: S6 (b) 1, S12 (blank) 1, S5 (a) S8 (b) S9 (c) S10 (b) S11 (c) 0.2 each: facility 0.2 / 3 = 1/15.
    # upper_lower = 1 − 1/15 = 14/15 = 0.9333
    # choice a: 6 students, share 6/12; upper 1; lower 0.2/3 = 1/15
    # choice b: S6 S8 S10, share 3/12; upper 0; lower (1 + 0.2 + 0.2)/3 = 7/15
    # choice c: S9 S11, share 2/12; upper 0; lower (0.2 + 0.2)/3 = 2/15
    # (the blank answer takes the rest of the lower group: 1/3; the lower shares sum to 1/15+7/15+2/15+5/15 = 1)
    # times known for 9 students: 10 20 30 40 50 60 70 80 90 thousand ms; the median is the 5th: 50 000
    stats = item_statistics(responses(1), ["a", "b", "c"])
    assert (stats["seen"], stats["answered"], stats["correct"]) == (12, 11, 6)
    assert stats["facility"] == 0.5
    assert stats["discrimination"] == pytest.approx(0.5 / math.sqrt(6.75))
    assert stats["discrimination"] == pytest.approx(0.19245, abs=1e-5)
    assert stats["upper_lower"] == pytest.approx(14 / 15)
    assert stats["choices"] == [
        {"choice_id": "a", "count": 6, "share": 0.5, "upper_share": pytest.approx(1.0),
         "lower_share": pytest.approx(1 / 15)},
        {"choice_id": "b", "count": 3, "share": 0.25, "upper_share": 0.0, "lower_share": pytest.approx(7 / 15)},
        {"choice_id": "c", "count": 2, "share": pytest.approx(1 / 6), "upper_share": 0.0,
         "lower_share": pytest.approx(2 / 15)},
    ]
    assert stats["median_time_ms"] == 50_000


def test_an_item_the_weaker_students_get_right_discriminates_negatively() -> None:
    # Q3: right for S8–S11 only: facility 4/12 = 1/3.
    # Σx = 4, Σx² = 4, y = 3 3 3 3 2 1 3 1 1 1 1 1: Σy = 23, Σy² = 55, Σxy = 1+1+1+1 = 4.
    # Sxy = 4 − 4·23/12 = −11/3; Sxx = 4 − 16/12 = 8/3; Syy = 55 − 529/12 = 131/12
    # r = (−11/3) / √(8/3 · 131/12) = −3.6667 / 5.3955 = −0.67958
    # upper: nobody right → 0; lower: S8–S11 at 0.2 each → 0.8 / 3 = 4/15; upper_lower = −4/15 = −0.2667
    stats = item_statistics(responses(2))
    assert stats["facility"] == pytest.approx(1 / 3)
    assert stats["discrimination"] == pytest.approx((-11 / 3) / math.sqrt(8 / 3 * 131 / 12))
    assert stats["discrimination"] == pytest.approx(-0.67958, abs=1e-5)
    assert stats["upper_lower"] == pytest.approx(-4 / 15)


def test_an_item_is_analysed_over_the_students_who_saw_it() -> None:
    # Q4 without S11: n = 11, right S1–S4 and S7: facility 5/11 = 0.4545.
    # Σx = 5, Σx² = 5, y = 2 2 2 2 2 1 2 2 2 2 1 (S12 last): Σy = 20, Σy² = 38, Σxy = 2·5 = 10.
    # Sxy = 10 − 5·20/11 = 10/11; Sxx = 5 − 25/11 = 30/11; Syy = 38 − 400/11 = 18/11
    # r = (10/11) / √(540/121) = 10 / √540 = 0.43033
    # k = (27·11 + 50) // 100 = 3. upper: the five on 3 at 0.6, all right → 1;
    # lower: S6, S12 (1) and the four left on 2 (S5 S8 S9 S10) at 0.25 each, all wrong → 0; upper_lower = 1
    stats = item_statistics(responses(3))
    assert stats["seen"] == 11
    assert stats["facility"] == pytest.approx(5 / 11)
    assert stats["discrimination"] == pytest.approx(10 / math.sqrt(540))
    assert stats["upper_lower"] == pytest.approx(1.0)


def test_under_five_students_there_is_no_discrimination_nor_upper_lower() -> None:
    few = responses(2)[7:11]  # S8–S11: 4 students
    stats = item_statistics(few)
    assert stats["facility"] == 1.0
    assert stats["discrimination"] is None and stats["upper_lower"] is None
    nobody = item_statistics([], ["a"])
    assert nobody["facility"] is None and nobody["choices"] == [
        {"choice_id": "a", "count": 0, "share": None, "upper_share": None, "lower_share": None}]


def test_a_rest_score_that_does_not_vary_leaves_discrimination_null() -> None:
    assert point_biserial([1, 0, 1, 0, 1], [2, 2, 2, 2, 2]) is None


def entry(seq: int, kind: str, at: int, question_id: str | None = None, status: str = "applied",
          **payload: int) -> LogEntry:
    client = kind not in ("section_expired", "session_ended")
    return LogEntry(seq=seq, kind=kind, status=status, server_time=at + 500, question_id=question_id,
                    effective_time=at if client else None, payload=payload)


def test_time_on_a_question_sums_its_visits_in_the_students_own_time() -> None:
    # navigate q1 at 1 000, answer at 3 000 (no change of visit), navigate q2 at 5 000, navigate q1 at 9 000,
    # a rejected navigate to q3 at 9 500 (not a visit), submit_section at 12 000.
    # q1: (5 000 − 1 000) + (12 000 − 9 000) = 7 000; q2: 9 000 − 5 000 = 4 000; q3: never visited (unknown).
    # The navigate to q2 arrived late (seq 5) but was made at 5 000: time order, not arrival order, counts.
    log = [
        entry(1, "navigate", 1_000, "q1"),
        entry(2, "answer", 3_000, "q1"),
        entry(3, "navigate", 9_000, "q1"),
        entry(4, "navigate", 9_500, "q3", status="rejected"),
        entry(5, "navigate", 5_000, "q2"),
        entry(6, "submit_section", 12_000),
    ]
    assert time_on_questions(log) == {"q1": 7_000, "q2": 4_000}


def test_a_section_that_ran_out_ends_the_visit_at_its_deadline_and_an_open_visit_at_the_end() -> None:
    # q1 from 1 000 until the deadline 61 000 (recorded later, at 90 500); q2 from 70 000 until the session's end
    # at 80 000, given as end_at, or not counted without it.
    log = [entry(1, "navigate", 1_000, "q1"), entry(2, "section_expired", 90_000, deadline=61_000),
           entry(3, "navigate", 70_000, "q2")]
    assert time_on_questions(log, end_at=80_000) == {"q1": 60_000, "q2": 10_000}
    assert time_on_questions(log) == {"q1": 60_000}


def attempt(status: str, score: float | None, started_at: int, completed_at: int | None = None) -> dict[str, object]:
    return {"status": status, "score": None if score is None else {"score": score}, "started_at": started_at,
            "completed_at": completed_at}


def test_the_graded_attempt_is_the_highest_completed_one_and_the_first_of_equals() -> None:
    first, best, equal_later, active = (attempt("completed", 2, 1, 10), attempt("completed", 3, 20, 30),
                                        attempt("completed", 3, 40, 50), attempt("active", None, 60))
    assert graded_attempt([first, best, equal_later, active]) is best
    assert graded_attempt([equal_later, best]) is best


def test_without_a_completed_attempt_the_latest_active_one_shows_and_without_any_none() -> None:
    older, newer = attempt("active", None, 1), attempt("active", None, 5)
    assert graded_attempt([older, newer]) is newer
    assert graded_attempt([]) is None
