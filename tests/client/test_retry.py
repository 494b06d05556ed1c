"""The backoff between retries: exponential, capped, with full jitter."""

from __future__ import annotations

import pytest

from examsync.client.retry import Backoff


def ceiling(backoff_base: float, cap: float, failures: int) -> float:
    """The longest wait after `failures` failures (the jitter drawn at its top)."""
    return Backoff(backoff_base, cap, random=lambda: 1.0).delay(failures)


def test_the_wait_doubles_with_each_failure_up_to_the_cap() -> None:
    assert [ceiling(0.2, 2.0, n) for n in range(6)] == pytest.approx([0.2, 0.4, 0.8, 1.6, 2.0, 2.0])


def test_the_cap_holds_however_long_the_outage() -> None:
    # An hour of a server down is thousands of failures in a row; 2 ** 1100 no longer fits a float.
    assert [ceiling(0.2, 2.0, n) for n in (1023, 1100, 10**6)] == [2.0, 2.0, 2.0]


def test_the_jitter_spreads_the_wait_below_the_ceiling() -> None:
    assert Backoff(0.2, 2.0, random=lambda: 0.25).delay(10**6) == pytest.approx(0.5)
    assert Backoff(0.2, 2.0, random=lambda: 0.5).delay(1) == pytest.approx(0.2)


def test_a_base_above_the_cap_is_refused() -> None:
    with pytest.raises(ValueError, match="at most retry_max"):
        Backoff(3.0, 2.0)
