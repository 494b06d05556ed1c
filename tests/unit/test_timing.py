"""The server's clock: remaining time and deadlines per timer policy and allowance."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from examsync.domain.timing import SectionClock, TimeAllowance, deadline_ms, effective_limit_ms, remaining_ms

from .builders import HOUR, MINUTE, SECOND, T0, make_session, practice_test, diagnostic_test, op, P_Q1, Q_SINGLE, DIAG_S1, PRAC_S1

CREDIT = 15 * SECOND
LIMIT = 10 * MINUTE


def started(at: int = T0) -> SectionClock:
    clock = SectionClock()
    clock.start(at)
    return clock


# ----- limits and allowances ----------------------------------------------------


def test_base_limit_in_seconds_becomes_milliseconds():
    assert effective_limit_ms(600, TimeAllowance()) == 600_000


def test_multiplier_scales_the_base_limit():
    assert effective_limit_ms(600, TimeAllowance(multiplier=1.5)) == 900_000


def test_extra_time_is_added_after_the_multiplier():
    assert effective_limit_ms(600, TimeAllowance(multiplier=2.0, extra_ms=30_000)) == 1_230_000


def test_untimed_allowance_removes_the_limit():
    assert effective_limit_ms(600, TimeAllowance(multiplier=1.5, extra_ms=5_000, untimed=True)) is None


def test_section_without_a_limit_is_untimed_whatever_the_allowance():
    assert effective_limit_ms(None, TimeAllowance(multiplier=2.0, extra_ms=60_000)) is None


def test_negative_extra_time_never_makes_a_negative_limit():
    assert effective_limit_ms(60, TimeAllowance(extra_ms=-10 * MINUTE)) == 0


def test_combined_allowances_multiply_multipliers_and_add_extra_time():
    combined = TimeAllowance(multiplier=1.5, extra_ms=10_000).combine(TimeAllowance(multiplier=2.0, extra_ms=5_000))
    assert combined == TimeAllowance(multiplier=3.0, extra_ms=15_000, untimed=False)
    assert effective_limit_ms(600, combined) == 1_815_000


@pytest.mark.parametrize("first, second", [(True, False), (False, True), (True, True)])
def test_combined_allowance_is_untimed_if_either_is(first, second):
    combined = TimeAllowance(untimed=first).combine(TimeAllowance(untimed=second))
    assert combined.untimed is True
    assert effective_limit_ms(600, combined) is None


def test_session_limit_combines_session_and_user_allowances():
    session = make_session(diagnostic_test(), allowance=TimeAllowance(multiplier=1.5),
                           user_allowance=TimeAllowance(extra_ms=2 * MINUTE))
    section = session.test.section(DIAG_S1)
    assert session.limit_ms(section) == 600_000 * 3 // 2 + 2 * MINUTE


# ----- untimed and not started ----------------------------------------------------


@pytest.mark.parametrize("policy", ["wall_clock", "active_time"])
def test_untimed_section_has_no_remaining_time_and_no_deadline(policy):
    clock = started()
    assert remaining_ms(clock, policy, None, T0 + HOUR, CREDIT) is None
    assert deadline_ms(clock, policy, None, CREDIT) is None


@pytest.mark.parametrize("policy", ["wall_clock", "active_time"])
def test_section_not_started_has_its_whole_limit_and_no_deadline(policy):
    clock = SectionClock()
    assert remaining_ms(clock, policy, LIMIT, T0 + HOUR, CREDIT) == LIMIT
    assert deadline_ms(clock, policy, LIMIT, CREDIT) is None


# ----- wall_clock ---------------------------------------------------------------


def test_wall_clock_remaining_runs_from_the_start():
    clock = started(T0)
    assert remaining_ms(clock, "wall_clock", LIMIT, T0, CREDIT) == LIMIT
    assert remaining_ms(clock, "wall_clock", LIMIT, T0 + 4 * MINUTE, CREDIT) == 6 * MINUTE


def test_wall_clock_keeps_running_while_the_student_is_away():
    clock = started(T0)
    # No activity at all after the start: time still passes.
    assert remaining_ms(clock, "wall_clock", LIMIT, T0 + 9 * MINUTE, CREDIT) == 1 * MINUTE


def test_wall_clock_deadline_is_start_plus_limit():
    assert deadline_ms(started(T0), "wall_clock", LIMIT, CREDIT) == T0 + LIMIT


def test_wall_clock_activity_does_not_change_remaining_or_deadline():
    clock = started(T0)
    for t in range(T0, T0 + 5 * MINUTE, 5 * SECOND):
        clock.record_activity("wall_clock", t, CREDIT)
    assert clock.used_ms == 0
    assert remaining_ms(clock, "wall_clock", LIMIT, T0 + 5 * MINUTE, CREDIT) == 5 * MINUTE
    assert deadline_ms(clock, "wall_clock", LIMIT, CREDIT) == T0 + LIMIT


def test_wall_clock_remaining_is_zero_not_negative_after_the_deadline():
    clock = started(T0)
    assert remaining_ms(clock, "wall_clock", LIMIT, T0 + LIMIT, CREDIT) == 0
    assert remaining_ms(clock, "wall_clock", LIMIT, T0 + 5 * HOUR, CREDIT) == 0


# ----- active_time ----------------------------------------------------------------


def test_active_time_counts_time_while_heartbeats_arrive():
    clock = started(T0)
    for t in range(T0 + 5 * SECOND, T0 + MINUTE + 1, 5 * SECOND):
        clock.record_activity("active_time", t, CREDIT)
    assert clock.used_ms == MINUTE
    assert remaining_ms(clock, "active_time", LIMIT, T0 + MINUTE, CREDIT) == LIMIT - MINUTE


def test_active_time_closed_tab_stops_the_clock_within_one_interval():
    clock = started(T0)
    clock.record_activity("active_time", T0 + 30 * SECOND, CREDIT)  # 15 s credited (gap capped)
    last_sign = T0 + 30 * SECOND
    used = clock.used_ms
    at_gone = remaining_ms(clock, "active_time", LIMIT, last_sign + CREDIT, CREDIT)
    assert at_gone == LIMIT - used - CREDIT
    # Hours later the clock has not moved further.
    assert remaining_ms(clock, "active_time", LIMIT, last_sign + 5 * HOUR, CREDIT) == at_gone


def test_active_time_credits_at_most_one_interval_for_a_long_gap():
    clock = started(T0)
    clock.record_activity("active_time", T0 + 2 * HOUR, CREDIT)
    assert clock.used_ms == CREDIT
    assert clock.last_seen_ms == T0 + 2 * HOUR


def test_active_time_credits_the_exact_gap_when_shorter_than_an_interval():
    clock = started(T0)
    clock.record_activity("active_time", T0 + 7 * SECOND, CREDIT)
    assert clock.used_ms == 7 * SECOND


def test_active_time_activity_earlier_than_the_last_one_credits_nothing_and_keeps_last_seen():
    clock = started(T0)
    clock.record_activity("active_time", T0 + 10 * SECOND, CREDIT)
    clock.record_activity("active_time", T0 + 5 * SECOND, CREDIT)
    assert clock.used_ms == 10 * SECOND
    assert clock.last_seen_ms == T0 + 10 * SECOND


def test_active_time_has_no_deadline_while_more_than_an_interval_is_left():
    clock = started(T0)
    assert deadline_ms(clock, "active_time", LIMIT, CREDIT) is None


def test_active_time_deadline_is_last_sign_of_life_plus_what_is_left_within_an_interval():
    limit = 30 * SECOND
    clock = started(T0)
    clock.record_activity("active_time", T0 + 10 * SECOND, CREDIT)
    clock.record_activity("active_time", T0 + 20 * SECOND, CREDIT)  # used 20 s, 10 s left
    assert deadline_ms(clock, "active_time", limit, CREDIT) == T0 + 30 * SECOND
    assert remaining_ms(clock, "active_time", limit, T0 + 25 * SECOND, CREDIT) == 5 * SECOND
    assert remaining_ms(clock, "active_time", limit, T0 + 30 * SECOND, CREDIT) == 0


def test_active_time_remaining_is_zero_not_negative_when_used_up():
    clock = started(T0)
    for t in range(T0 + 10 * SECOND, T0 + 20 * MINUTE, 10 * SECOND):
        clock.record_activity("active_time", t, CREDIT)
    assert clock.used_ms > LIMIT
    assert remaining_ms(clock, "active_time", LIMIT, T0 + 20 * MINUTE, CREDIT) == 0
    assert deadline_ms(clock, "active_time", LIMIT, CREDIT) == clock.last_seen_ms


def test_active_time_session_clock_stops_when_the_student_leaves():
    session = make_session(practice_test())
    session.apply(op("answer", T0, question_id=P_Q1, answer="a"), T0)
    limit = 120 * SECOND
    credit = session.rules.heartbeat_credit_ms
    assert session.remaining_ms(PRAC_S1, T0 + HOUR) == limit - credit
    # Coming back costs that one interval and no more.
    result = session.apply(op("answer", T0 + HOUR, question_id=P_Q1, answer="b"), T0 + HOUR)
    assert result.status == "applied"
    assert session.remaining_ms(PRAC_S1, T0 + HOUR) == limit - credit


def test_wall_clock_session_clock_runs_while_the_student_is_away():
    session = make_session(diagnostic_test())
    session.apply(op("answer", T0, question_id=Q_SINGLE, answer="a"), T0)
    assert session.remaining_ms(DIAG_S1, T0 + 9 * MINUTE) == MINUTE


# ----- properties ---------------------------------------------------------------

activity = st.lists(st.integers(min_value=0, max_value=2 * HOUR), max_size=30)


@settings(max_examples=200, deadline=None)
@given(
    policy=st.sampled_from(["wall_clock", "active_time"]),
    limit=st.integers(min_value=0, max_value=3 * HOUR),
    credit=st.integers(min_value=1, max_value=MINUTE),
    offsets=activity,
    later=st.integers(min_value=0, max_value=10 * HOUR),
)
def test_remaining_is_never_negative_nor_more_than_the_limit(policy, limit, credit, offsets, later):
    clock = started(T0)
    now = T0
    for offset in sorted(offsets):
        now = T0 + offset
        clock.record_activity(policy, now, credit)
        left = remaining_ms(clock, policy, limit, now, credit)
        assert 0 <= left <= limit
    left = remaining_ms(clock, policy, limit, now + later, credit)
    assert 0 <= left <= limit


@settings(max_examples=200, deadline=None)
@given(
    policy=st.sampled_from(["wall_clock", "active_time"]),
    limit=st.integers(min_value=1, max_value=HOUR),
    credit=st.integers(min_value=1, max_value=MINUTE),
    offsets=activity,
    a=st.integers(min_value=0, max_value=10 * HOUR),
    b=st.integers(min_value=0, max_value=10 * HOUR),
)
def test_remaining_never_grows_as_server_time_passes(policy, limit, credit, offsets, a, b):
    clock = started(T0)
    last = T0
    for offset in sorted(offsets):
        last = T0 + offset
        clock.record_activity(policy, last, credit)
    early, late = sorted((a, b))
    assert remaining_ms(clock, policy, limit, last + late, credit) <= remaining_ms(clock, policy, limit, last + early, credit)


@settings(max_examples=200, deadline=None)
@given(
    policy=st.sampled_from(["wall_clock", "active_time"]),
    limit=st.integers(min_value=1, max_value=HOUR),
    credit=st.integers(min_value=1, max_value=MINUTE),
    offsets=activity,
)
def test_remaining_is_zero_at_the_deadline(policy, limit, credit, offsets):
    clock = started(T0)
    for offset in sorted(offsets):
        clock.record_activity(policy, T0 + offset, credit)
    deadline = deadline_ms(clock, policy, limit, credit)
    if deadline is None:
        # Only active_time has no deadline, and only while more than an interval is left.
        assert policy == "active_time"
        assert limit - clock.used_ms > credit
    else:
        assert remaining_ms(clock, policy, limit, deadline, credit) == 0
        if policy == "wall_clock" or limit - clock.used_ms > 0:
            # One millisecond earlier, exactly one millisecond was left.
            assert remaining_ms(clock, policy, limit, deadline - 1, credit) == 1
