"""Extra time from staff: for one section, or for the session split over the sections not yet submitted."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from examsync.domain.errors import InvalidTimeOptionError, SectionSubmittedError, UnknownSectionError
from examsync.domain.timing import TimeAllowance, TimeChange, split_evenly

from .builders import DIAG_S1, DIAG_S2, HOUR, MINUTE, Q_SINGLE, T0, diagnostic_test, drill_test, make_session, op

S1_LIMIT, S2_LIMIT = 10 * MINUTE, 5 * MINUTE


def started_diag(**kw):
    session = make_session(diagnostic_test(), **kw)
    session.apply(op("navigate", T0, question_id=Q_SINGLE), T0)
    return session


def limits(session):
    return [session.limit_ms(section) for section in session.test.sections]


def test_ten_more_minutes_go_to_the_current_section_only_by_default():
    session = started_diag()
    entry = session.adjust_time(TimeChange(extra_ms=10 * MINUTE), T0 + MINUTE, by="teacher")
    assert limits(session) == [S1_LIMIT + 10 * MINUTE, S2_LIMIT]
    assert session.deadline_ms(DIAG_S1) == T0 + S1_LIMIT + 10 * MINUTE
    assert (entry.payload["scope"], entry.payload["section_extra_ms"]) == ("section", {DIAG_S1: 10 * MINUTE})


def test_a_named_section_gets_the_time_even_before_it_starts():
    session = started_diag()
    session.adjust_time(TimeChange(extra_ms=2 * MINUTE, section_id=DIAG_S2), T0 + MINUTE, by="teacher")
    assert limits(session) == [S1_LIMIT, S2_LIMIT + 2 * MINUTE]


def test_extra_time_is_the_total_so_sending_it_again_changes_nothing():
    session = started_diag()
    for _ in range(2):
        session.adjust_time(TimeChange(extra_ms=10 * MINUTE), T0 + MINUTE, by="teacher")
    assert limits(session) == [S1_LIMIT + 10 * MINUTE, S2_LIMIT]
    session.adjust_time(TimeChange(extra_ms=0), T0 + MINUTE, by="teacher")
    assert limits(session) == [S1_LIMIT, S2_LIMIT]


def test_session_scope_splits_the_time_evenly_over_the_sections_not_yet_submitted():
    session = started_diag()
    entry = session.adjust_time(TimeChange(extra_ms=10 * MINUTE, scope="session"), T0 + MINUTE, by="teacher")
    assert limits(session) == [S1_LIMIT + 5 * MINUTE, S2_LIMIT + 5 * MINUTE]
    assert entry.payload["section_extra_ms"] == {DIAG_S1: 5 * MINUTE, DIAG_S2: 5 * MINUTE}

    session.apply(op("submit_section", T0 + 2 * MINUTE, section_id=DIAG_S1), T0 + 2 * MINUTE)
    session.adjust_time(TimeChange(extra_ms=10 * MINUTE, scope="session"), T0 + 3 * MINUTE, by="teacher")
    assert limits(session) == [S1_LIMIT + 5 * MINUTE, S2_LIMIT + 10 * MINUTE]


def test_the_multiplier_still_applies_to_every_section_and_the_extra_time_comes_on_top():
    session = started_diag()
    entry = session.adjust_time(TimeChange(multiplier=1.5, extra_ms=MINUTE), T0 + MINUTE, by="teacher")
    assert limits(session) == [S1_LIMIT * 3 // 2 + MINUTE, S2_LIMIT * 3 // 2]
    assert entry.payload["multiplier"] == 1.5
    only_multiplier = session.adjust_time(TimeChange(multiplier=2.0), T0 + MINUTE, by="teacher")
    assert "scope" not in only_multiplier.payload
    assert limits(session) == [S1_LIMIT * 2 + MINUTE, S2_LIMIT * 2]


def test_untimed_sections_get_no_share():
    test = diagnostic_test(s2_limit_s=None)
    session = make_session(test)
    session.begin(T0)
    session.adjust_time(TimeChange(extra_ms=HOUR, scope="session"), T0, by="teacher")
    assert limits(session) == [S1_LIMIT + HOUR, None]


def test_time_for_a_section_that_cannot_use_it_is_refused_and_changes_nothing():
    session = started_diag()
    session.apply(op("submit_section", T0 + MINUTE, section_id=DIAG_S1), T0 + MINUTE)
    seq = session.last_seq
    with pytest.raises(SectionSubmittedError):
        session.adjust_time(TimeChange(extra_ms=MINUTE, section_id=DIAG_S1), T0 + MINUTE, by="teacher")
    with pytest.raises(UnknownSectionError):
        session.adjust_time(TimeChange(extra_ms=MINUTE, section_id="nope"), T0 + MINUTE, by="teacher")
    with pytest.raises(InvalidTimeOptionError):
        session.adjust_time(TimeChange(extra_ms=MINUTE, untimed=True), T0 + MINUTE, by="teacher")
    drill = make_session(drill_test())
    with pytest.raises(InvalidTimeOptionError):
        drill.adjust_time(TimeChange(extra_ms=MINUTE, scope="session"), T0, by="teacher")
    assert session.last_seq == seq and session.allowance == TimeAllowance()
    assert limits(session) == [S1_LIMIT, S2_LIMIT]


def test_a_remainder_of_milliseconds_goes_to_the_earliest_sections():
    assert split_evenly(10_001, 3) == [3_334, 3_334, 3_333]


@given(st.integers(0, 86_400_000), st.integers(1, 20))
def test_shares_add_up_to_the_total_and_differ_by_at_most_one(total, count):
    shares = split_evenly(total, count)
    assert sum(shares) == total and len(shares) == count and max(shares) - min(shares) <= 1
    assert shares == sorted(shares, reverse=True)
