"""The server's clock for a section: remaining time and deadlines.

Everything is a pure function of the section's clock record, its effective
limit and `now_ms` (the server's time). No value a client sends can add time:
client times never enter these functions.

Policies:
- `wall_clock`: the deadline runs from the section's start, also while the
  student is away (exam style).
- `active_time`: time counts only while a client has the section open. Each
  sign of life (an op or a heartbeat) credits the time since the previous one,
  but at most `credit_ms` (one heartbeat interval), so a closed tab stops the
  clock within one interval.

Under either policy a clock can be stopped (staff paused the session): from
`stopped_since` on, no time is used and nothing runs out; restarted, the time
it stood still is added to `stopped_ms`, which the deadline skips over.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TimeAllowance:
    """Extra time granted on top of a section's base limit."""

    multiplier: float = 1.0
    extra_ms: int = 0
    untimed: bool = False

    def combine(self, other: "TimeAllowance") -> "TimeAllowance":
        return TimeAllowance(
            multiplier=self.multiplier * other.multiplier,
            extra_ms=self.extra_ms + other.extra_ms,
            untimed=self.untimed or other.untimed,
        )


@dataclass(frozen=True)
class TimeChange:
    """Staff's change to one session's time; a field left None keeps its value.

    The multiplier and `untimed` apply to the whole session. `extra_ms` is extra time in all, not an increment,
    and `scope` says where it goes: `section`, to one section (`section_id`, or the current one), or `session`,
    split evenly over the timed sections not yet submitted. With `added`, `extra_ms` is added to the extra time
    each section already has (a staff op's `extend_time`).
    """

    multiplier: float | None = None
    untimed: bool | None = None
    extra_ms: int | None = None
    scope: str = "section"
    section_id: str | None = None
    added: bool = False


def split_evenly(total_ms: int, count: int) -> list[int]:
    """`total_ms` in `count` whole-millisecond shares that differ by at most 1; the first shares take the rest."""
    share, rest = divmod(total_ms, count)
    return [share + (1 if i < rest else 0) for i in range(count)]


def effective_limit_ms(base_seconds: int | None, allowance: TimeAllowance) -> int | None:
    """The section's time limit after accommodations; None means untimed."""
    if base_seconds is None or allowance.untimed:
        return None
    return max(0, round(base_seconds * 1000 * allowance.multiplier) + allowance.extra_ms)


@dataclass
class SectionClock:
    started_at_ms: int | None = None
    used_ms: int = 0  # active_time only: time credited so far
    last_seen_ms: int | None = None  # active_time only: the last sign of life
    stopped_ms: int = 0  # time the clock stood still (paused, or submitted before staff reopened the section)
    stopped_since: int | None = None  # set while the clock stands still

    def start(self, now_ms: int) -> None:
        self.started_at_ms = now_ms
        self.last_seen_ms = now_ms

    def stop(self, policy: str, now_ms: int, credit_ms: int) -> None:
        """Stop the clock: the time up to now counts, nothing after it until `restart`."""
        if self.stopped_since is None:
            self.record_activity(policy, now_ms, credit_ms)
            self.stopped_since = now_ms

    def restart(self, now_ms: int) -> None:
        if self.stopped_since is not None:
            self.stopped_ms += max(0, now_ms - self.stopped_since)
            self.stopped_since = None
        self.last_seen_ms = now_ms if self.last_seen_ms is None else max(self.last_seen_ms, now_ms)

    def record_activity(self, policy: str, now_ms: int, credit_ms: int) -> None:
        if policy != "active_time" or self.last_seen_ms is None or self.stopped_since is not None:
            return
        self.used_ms += _credited(now_ms - self.last_seen_ms, credit_ms)
        self.last_seen_ms = max(self.last_seen_ms, now_ms)


def _credited(gap_ms: int, credit_ms: int) -> int:
    return max(0, min(gap_ms, credit_ms))


def remaining_ms(
    clock: SectionClock, policy: str, limit_ms: int | None, now_ms: int, credit_ms: int
) -> int | None:
    """Milliseconds left, never negative; None when the section is untimed."""
    if limit_ms is None:
        return None
    if clock.started_at_ms is None:
        return limit_ms
    if clock.stopped_since is not None:
        now_ms = max(clock.stopped_since, clock.started_at_ms)
    if policy == "wall_clock":
        left = clock.started_at_ms + clock.stopped_ms + limit_ms - now_ms
    else:
        last_seen = now_ms if clock.last_seen_ms is None else clock.last_seen_ms
        pending = _credited(now_ms - last_seen, credit_ms)
        left = limit_ms - clock.used_ms - pending
    return max(0, left)


def deadline_ms(clock: SectionClock, policy: str, limit_ms: int | None, credit_ms: int) -> int | None:
    """The server time at which the section runs out if nothing more happens.

    None when untimed, not started, stopped, or (active_time) when the clock
    would stop before reaching zero because no client is there to keep it running.
    """
    if limit_ms is None or clock.started_at_ms is None or clock.stopped_since is not None:
        return None
    if policy == "wall_clock":
        return clock.started_at_ms + clock.stopped_ms + limit_ms
    assert clock.last_seen_ms is not None
    left = limit_ms - clock.used_ms
    if left <= credit_ms:
        return clock.last_seen_ms + max(0, left)
    return None
