"""Who the chaos run's students are: how they are spread over processes and servers, and at what pace."""

from __future__ import annotations

from pathlib import Path

from examsync.chaos.classroom import (FULL_PACE_STUDENTS, MAX_SKEW_MS, MAX_STUDENT_PROCESSES, ChaosOptions,
                                      class_plan, student_email)


def plan(students: int, instances: int = 2) -> list[list[dict]]:
    options = ChaosOptions(students=students, duration_s=60, seed=7, instances=instances)
    return class_plan(options, [f"token-{i}" for i in range(students)], [9001, 9002][:instances], Path("/run/chaos"))


def test_a_large_class_shares_at_most_the_allowed_processes_and_keeps_the_pace_of_a_full_pace_class() -> None:
    processes = plan(200)
    students = sorted((spec for group in processes for spec in group), key=lambda spec: spec["index"])

    assert len(processes) == MAX_STUDENT_PROCESSES
    assert [spec["index"] for spec in students] == list(range(200))
    assert all(spec["process"] == number for number, group in enumerate(processes) for spec in group)
    # Two hundred students pausing 200/60 times longer offer what 60 at full pace would.
    assert {spec["pace"] for spec in students} == {FULL_PACE_STUDENTS / 200}


def test_a_small_class_works_at_full_pace_five_to_a_process() -> None:
    processes = plan(12)
    assert len(processes) == 3
    assert {spec["pace"] for group in processes for spec in group} == {1.0}


def test_every_student_has_their_own_account_queue_and_a_server_in_turn() -> None:
    students = [spec for group in plan(9) for spec in group]
    for spec in students:
        index = spec["index"]
        assert spec["token"] == f"token-{index}"
        assert spec["email"] == student_email(index)
        assert spec["queue"] == f"/run/chaos/student-{index}.db"
        assert spec["base_url"] == f"http://127.0.0.1:{9001 + index % 2}"
    assert len({spec["seed"] for spec in students}) == 9


def test_a_third_of_the_clocks_are_skewed_within_two_minutes() -> None:
    students = [spec for group in plan(300, instances=1) for spec in group]
    skewed = [spec for spec in students if spec["skew_ms"] != 0]
    assert all(spec["index"] % 3 == 0 for spec in skewed)
    assert len(skewed) >= 95
    assert all(-MAX_SKEW_MS <= spec["skew_ms"] <= MAX_SKEW_MS for spec in students)
