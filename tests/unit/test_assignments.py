"""The rules of an assignment (domain/assignments.py): its window, attempts, a student's override, the close."""

from __future__ import annotations

import pytest

from examsync.domain.assignments import AssignmentSettings, validate, validate_override
from examsync.domain.errors import (
    AssignmentClosedError,
    AssignmentNotOpenError,
    AttemptsExhaustedError,
    InvalidRequestError,
)
from examsync.domain.timing import TimeAllowance
from tests.unit.builders import DIAG_S1, MINUTE, Q_SINGLE, T0, diagnostic_test, drill_test, make_session, op

OPENS, CLOSES = 1_000_000, 2_000_000
BASE = AssignmentSettings(opens_at=OPENS, closes_at=CLOSES, max_attempts=2, time_multiplier=1.5, extra_seconds=60)


@pytest.mark.parametrize("now, state", [
    (OPENS - 1, "upcoming"), (OPENS, "open"), (CLOSES - 1, "open"), (CLOSES, "closed"), (CLOSES + 1, "closed"),
])
def test_the_state_follows_the_window_by_the_servers_clock(now: int, state: str) -> None:
    assert BASE.state(now) == state


def test_without_a_close_it_never_closes() -> None:
    assert AssignmentSettings(opens_at=OPENS).state(10**15) == "open"


def test_an_attempt_starts_only_in_the_window_and_within_the_attempts() -> None:
    with pytest.raises(AssignmentNotOpenError):
        BASE.check_can_start(OPENS - 1, 0)
    with pytest.raises(AssignmentClosedError):
        BASE.check_can_start(CLOSES, 0)
    BASE.check_can_start(OPENS, 1)
    with pytest.raises(AttemptsExhaustedError):
        BASE.check_can_start(OPENS, 2)
    unlimited = AssignmentSettings(opens_at=OPENS)
    unlimited.check_can_start(OPENS, 1000)
    assert unlimited.attempts_left(1000) is None and BASE.attempts_left(1) == 1 and BASE.attempts_left(5) == 0


def test_an_override_replaces_only_the_keys_it_holds() -> None:
    student = BASE.with_override({"closes_at": CLOSES + 500, "extra_seconds": 120})
    assert (student.closes_at, student.extra_seconds) == (CLOSES + 500, 120)
    assert (student.max_attempts, student.time_multiplier, student.opens_at) == (2, 1.5, OPENS)
    assert BASE.with_override(None) == BASE and BASE.with_override({}) == BASE
    lifted = BASE.with_override({"closes_at": None, "max_attempts": None})
    assert lifted.state(10**15) == "open" and lifted.attempts_left(99) is None
    # Keys an override cannot hold are ignored, whatever was stored.
    assert BASE.with_override({"opens_at": 0}).opens_at == OPENS


def test_the_time_it_adds_and_the_grace_at_the_close() -> None:
    assert BASE.allowance == TimeAllowance(multiplier=1.5, extra_ms=60_000)
    assert AssignmentSettings(opens_at=0).allowance == TimeAllowance()
    assert AssignmentSettings(opens_at=0, on_close="grace", grace_seconds=90).close_grace_ms == 90_000
    assert AssignmentSettings(opens_at=0, on_close="submit", grace_seconds=90).close_grace_ms == 0


@pytest.mark.parametrize("changes, field", [
    ({"closes_at": OPENS}, "closes_at"),
    ({"closes_at": OPENS - 5}, "closes_at"),
    ({"max_attempts": 0}, "max_attempts"),
    ({"time_multiplier": 0.0}, "time_multiplier"),
    ({"time_multiplier": -2.0}, "time_multiplier"),
    ({"extra_seconds": -1}, "extra_seconds"),
    ({"on_close": "later"}, "on_close"),
    ({"grace_seconds": -1}, "grace_seconds"),
])
def test_invalid_settings_say_which_field(changes: dict, field: str) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        validate(AssignmentSettings(**{**BASE.__dict__, **changes}))
    assert raised.value.data["field"] == field


def test_an_override_is_checked_against_the_assignment() -> None:
    assert validate_override(BASE, {"max_attempts": None}) == {"max_attempts": None}
    for changes in ({}, {"opens_at": 5}, {"closes_at": OPENS}, {"max_attempts": 0}, {"time_multiplier": 0}):
        with pytest.raises(InvalidRequestError):
            validate_override(BASE, changes)


# ----- what closes when: a session under an assignment's close --------------------------------------------------


def closing_session(grace_ms: int):
    settings = AssignmentSettings(opens_at=T0, closes_at=T0 + 5 * MINUTE, on_close="grace" if grace_ms else "submit",
                                  grace_seconds=grace_ms // 1000)
    session = make_session(diagnostic_test(), closes_at=settings.closes_at, close_grace_ms=settings.close_grace_ms)
    session.begin(T0)
    return session


def test_with_submit_the_session_ends_at_the_close_with_what_it_holds() -> None:
    session = closing_session(0)
    assert session.apply(op("answer", T0 + MINUTE, question_id=Q_SINGLE, answer="b"), T0 + MINUTE).status == "applied"
    assert session.next_rule_change() == (T0 + 5 * MINUTE, "close_time")  # before the section's own 10 minutes
    [ended] = session.expire_due(T0 + 5 * MINUTE)
    assert ended.payload["rule"] == "close_time" and session.status == "completed"
    assert session.sections[DIAG_S1].answers() == {Q_SINGLE: "b"}


def test_with_grace_work_from_before_the_close_is_taken_during_the_grace_and_later_work_is_not() -> None:
    session = closing_session(2 * MINUTE)
    close = T0 + 5 * MINUTE
    assert session.next_rule_change() == (close + 2 * MINUTE, "close_time")
    assert session.expire_due(close + MINUTE) == []  # within the grace: still active
    # Made offline a minute before the close, delivered a minute after it: taken.
    before = session.apply(op("answer", close - MINUTE, question_id=Q_SINGLE, answer="b"), close + MINUTE,
                           clock_offset_ms=0)
    assert before.status == "applied"
    after = session.apply(op("answer", close + 30_000, question_id=Q_SINGLE, answer="a"), close + MINUTE)
    assert (after.status, after.code) == ("rejected", "time_expired")
    [ended] = session.expire_due(close + 2 * MINUTE)
    assert ended.payload == {"rule": "close_time", "ended_at": close + 2 * MINUTE, "closes_at": close}
    assert session.sections[DIAG_S1].answers() == {Q_SINGLE: "b"}


def test_before_the_close_work_is_taken_as_usual() -> None:
    session = make_session(drill_test(), closes_at=T0 + MINUTE, close_grace_ms=MINUTE)
    session.begin(T0)
    assert session.expire_due(T0 + MINUTE) == []
    assert session.status == "active"
