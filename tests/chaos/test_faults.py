"""The fault schedule is seeded and covers every kind; recovery times and the exit code follow their rules."""

from __future__ import annotations

from itertools import islice

import pytest

from examsync.chaos import faults
from examsync.chaos.checker import Verdict
from examsync.chaos.faults import (
    Ack,
    Fault,
    FaultKindError,
    FaultPlan,
    measure_recovery,
    p99,
    parse_kinds,
    percentile,
    recovery_by_kind,
)
from examsync.chaos.report import build_report, exit_code, format_table


def plan(seed: int, *, unsafe: bool = False) -> FaultPlan:
    return FaultPlan(seed, faults.KINDS, instances=2, student_processes=3, unsafe=unsafe)


def test_the_same_seed_gives_the_same_schedule() -> None:
    first = [(f.kind, f.target, f.params) for f in islice(plan(7), 30)]
    again = [(f.kind, f.target, f.params) for f in islice(plan(7), 30)]
    other = [(f.kind, f.target, f.params) for f in islice(plan(8), 30)]
    assert first == again != other


def test_every_kind_strikes_in_the_first_round() -> None:
    assert {f.kind for f in islice(plan(3), len(faults.KINDS))} == set(faults.KINDS)


def test_under_unsafe_every_other_fault_is_a_crash_that_kills_the_backends() -> None:
    crashes = list(islice(plan(3, unsafe=True), 12))[::2]
    assert all(f.kind == faults.PG_KILL and f.params["with_backends"] for f in crashes)


def test_targets_stay_within_the_instances_and_processes() -> None:
    for fault in islice(plan(11), 200):
        if fault.kind == faults.KILL_STUDENTS:
            assert 0 <= fault.target < 3
        elif fault.kind in faults.INSTANCE_KINDS:
            assert 0 <= fault.target < 2
        else:
            assert fault.target is None


def test_fault_kinds_are_parsed_and_unknown_ones_refused() -> None:
    assert parse_kinds("all") == faults.KINDS
    assert parse_kinds("pg_kill, delay,pg_kill") == ("pg_kill", "delay")
    with pytest.raises(FaultKindError, match="unknown fault kind nap"):
        parse_kinds("delay,nap")
    with pytest.raises(FaultKindError):
        parse_kinds(" , ")


def test_recovery_waits_for_every_route_the_fault_broke() -> None:
    database = Fault(1, faults.PG_RESTART_FAST, None, ended_s=10.0)
    instance = Fault(2, faults.APP_KILL, 1, ended_s=10.0)
    process = Fault(3, faults.KILL_STUDENTS, 2, ended_s=10.0)
    never = Fault(4, faults.BLACKHOLE, 0, ended_s=30.0)
    acks = [Ack(9.0, 2, 1), Ack(10.5, 0, 0), Ack(12.0, 1, 1), Ack(13.0, 2, 0)]
    measure_recovery([database, instance, process, never], acks)
    assert database.recovery_s == pytest.approx(2.0)  # instance 1 answered last, at 12 s
    assert instance.recovery_s == pytest.approx(2.0)
    assert process.recovery_s == pytest.approx(3.0)
    assert never.recovery_s is None


def test_p99_is_the_nearest_rank() -> None:
    assert p99([]) is None
    assert p99([3.0]) == 3.0
    assert p99([float(v) for v in range(1, 201)]) == 198.0


def test_the_median_is_the_nearest_rank() -> None:
    assert percentile([4.0, 1.0, 3.0, 2.0], 0.5) == 2.0
    assert percentile([5.0], 0.5) == 5.0


def struck(number: int, kind: str, recovery_s: float | None, *, ended: bool = True) -> Fault:
    return Fault(number, kind, None, ended_s=10.0 * number if ended else None, recovery_s=recovery_s)


def test_recovery_is_summed_up_per_fault_kind() -> None:
    log = [struck(1, faults.PG_KILL, 3.0), struck(2, faults.APP_KILL, 0.5), struck(3, faults.PG_KILL, 1.0),
           struck(4, faults.PG_KILL, None), struck(5, faults.PG_KILL, 2.0), struck(6, faults.DELAY, None, ended=False)]
    assert recovery_by_kind(log) == {
        faults.APP_KILL: {"faults": 1, "recovered": 1, "p50_s": 0.5, "p99_s": 0.5, "max_s": 0.5},
        faults.PG_KILL: {"faults": 4, "recovered": 3, "p50_s": 2.0, "p99_s": 3.0, "max_s": 3.0},
    }


def test_a_kind_that_never_recovered_shows_no_times() -> None:
    assert recovery_by_kind([struck(1, faults.BLACKHOLE, None)]) == {
        faults.BLACKHOLE: {"faults": 1, "recovered": 0, "p50_s": None, "p99_s": None, "max_s": None}}


def test_the_report_shows_each_kinds_recovery_in_its_table_and_json() -> None:
    log = [struck(1, faults.PG_RESTART_IMMEDIATE, 1.25), struck(2, faults.KILL_STUDENTS, 0.75)]
    report = build_report(students=3, verdict=Verdict(), faults=log, seed=1, duration_s=10, instances=1, unsafe=False)
    assert report["recovery_by_kind"][faults.PG_RESTART_IMMEDIATE]["p99_s"] == 1.25
    assert report["recovery_p99_s"] == 1.25
    lines = format_table(report).splitlines()
    assert "recovery kill_students         p50 0.75  p99 0.75  max 0.75 s  (1 of 1 faults)" in lines
    assert "recovery pg_restart_immediate  p50 1.25  p99 1.25  max 1.25 s  (1 of 1 faults)" in lines


def test_the_exit_code_says_whether_the_run_proved_its_point() -> None:
    clean, lossy = Verdict(), Verdict(lost=2)
    assert (exit_code(clean, unsafe=False), exit_code(lossy, unsafe=False)) == (0, 1)
    assert (exit_code(clean, unsafe=True), exit_code(lossy, unsafe=True)) == (1, 0)
    assert exit_code(Verdict(late_accepted=1), unsafe=False) == 1
