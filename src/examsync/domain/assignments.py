"""Assignments: which test a class sits, when, how often and with how much time. Pure rules, no I/O.

An assignment's settings apply to each of its class's students, except where a per-student override (Moodle's user
override) gives its own value for `closes_at`, `max_attempts`, `time_multiplier` or `extra_seconds`: only the keys
an override holds replace the assignment's. Times are milliseconds since the epoch, by the server's clock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from examsync.domain.errors import (
    AssignmentClosedError,
    AssignmentNotOpenError,
    AttemptsExhaustedError,
    InvalidRequestError,
)
from examsync.domain.timing import TimeAllowance

UPCOMING, OPEN, CLOSED = "upcoming", "open", "closed"
ON_CLOSE = ("submit", "grace")
OVERRIDABLE = ("closes_at", "max_attempts", "time_multiplier", "extra_seconds")
MAX_GRACE_SECONDS = 24 * 3600


@dataclass(frozen=True)
class AssignmentSettings:
    """What an assignment says, for the whole class or (after `with_override`) for one student."""

    opens_at: int
    closes_at: int | None = None  # None: never closes
    max_attempts: int | None = None  # None: unlimited
    time_multiplier: float | None = None  # None: no change to the student's own
    extra_seconds: int | None = None  # None: no change to the student's own
    on_close: str = "submit"
    grace_seconds: int = 0

    @classmethod
    def from_row(cls, row: Any) -> "AssignmentSettings":
        return cls(**{name: row[name] for name in (
            "opens_at", "closes_at", "max_attempts", "time_multiplier", "extra_seconds", "on_close", "grace_seconds")})

    def with_override(self, changes: dict[str, Any] | None) -> "AssignmentSettings":
        """The student's settings: the override's keys replace the assignment's (a key given as null means null:
        an override can lift a close time or an attempt limit)."""
        return replace(self, **{key: value for key, value in (changes or {}).items() if key in OVERRIDABLE})

    def state(self, now_ms: int) -> str:
        """`upcoming` before opens_at, `closed` from closes_at on, `open` in between."""
        if now_ms < self.opens_at:
            return UPCOMING
        if self.closes_at is not None and now_ms >= self.closes_at:
            return CLOSED
        return OPEN

    def attempts_left(self, used: int) -> int | None:
        """How many more attempts may start (None: unlimited)."""
        return None if self.max_attempts is None else max(0, self.max_attempts - used)

    def check_can_start(self, now_ms: int, attempts_used: int) -> None:
        """Refuse a new attempt outside the window or past the attempt limit (resuming an active one is not
        starting: the caller checks that first)."""
        state = self.state(now_ms)
        if state == UPCOMING:
            raise AssignmentNotOpenError("this assignment is not open yet", opens_at=self.opens_at)
        if state == CLOSED:
            raise AssignmentClosedError("this assignment has closed", closes_at=self.closes_at)
        if self.attempts_left(attempts_used) == 0:
            raise AttemptsExhaustedError(
                f"all {self.max_attempts} attempts of this assignment have been used", max_attempts=self.max_attempts)

    @property
    def close_grace_ms(self) -> int:
        """How long after closes_at a session still takes work done before closes_at (then it is submitted)."""
        return self.grace_seconds * 1000 if self.on_close == "grace" else 0

    @property
    def allowance(self) -> TimeAllowance:
        """The time the assignment adds, on top of the student's own accommodation."""
        return TimeAllowance(multiplier=1.0 if self.time_multiplier is None else self.time_multiplier,
                             extra_ms=(self.extra_seconds or 0) * 1000)


def validate(settings: AssignmentSettings) -> AssignmentSettings:
    """An assignment's settings as a teacher gives them, or 422 `invalid_request` saying what is wrong."""
    if settings.closes_at is not None and settings.closes_at <= settings.opens_at:
        raise InvalidRequestError("closes_at must be after opens_at", field="closes_at")
    _check_student_values(settings.__dict__)
    if settings.on_close not in ON_CLOSE:
        raise InvalidRequestError("on_close must be 'submit' or 'grace'", field="on_close")
    if not 0 <= settings.grace_seconds <= MAX_GRACE_SECONDS:
        raise InvalidRequestError(f"grace_seconds must be between 0 and {MAX_GRACE_SECONDS}", field="grace_seconds")
    return settings


def validate_override(settings: AssignmentSettings, changes: dict[str, Any]) -> dict[str, Any]:
    """A per-student override: only the overridable keys, each valid, and a close time after the opening."""
    unknown = sorted(set(changes) - set(OVERRIDABLE))
    if unknown:
        raise InvalidRequestError(f"an override can change only {', '.join(OVERRIDABLE)}", field=unknown[0])
    if not changes:
        raise InvalidRequestError(f"give at least one of {', '.join(OVERRIDABLE)}")
    _check_student_values(changes)
    closes_at = changes.get("closes_at")
    if closes_at is not None and closes_at <= settings.opens_at:
        raise InvalidRequestError("closes_at must be after the assignment's opens_at", field="closes_at")
    return changes


def _check_student_values(values: dict[str, Any]) -> None:
    if values.get("max_attempts") is not None and values["max_attempts"] < 1:
        raise InvalidRequestError("max_attempts must be at least 1 (or null: unlimited)", field="max_attempts")
    multiplier = values.get("time_multiplier")
    if multiplier is not None and not 0 < multiplier <= 10:
        raise InvalidRequestError("time_multiplier must be greater than 0 (and at most 10)", field="time_multiplier")
    extra = values.get("extra_seconds")
    if extra is not None and not 0 <= extra <= 7 * 24 * 3600:
        raise InvalidRequestError("extra_seconds must be between 0 and 604800", field="extra_seconds")
