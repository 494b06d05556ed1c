"""The test-level options that end a timed session: `break_seconds` and `idle_limit_seconds`."""

from __future__ import annotations

import pytest

from examsync.domain.content import DEFAULT_BREAK_SECONDS, DEFAULT_IDLE_LIMIT_SECONDS

from .test_content_format import assert_names, document, error_of, parse


def test_a_test_gets_the_documented_break_and_idle_limit_by_default():
    _, tests = parse(document())
    assert {(t["break_seconds"], t["idle_limit_seconds"]) for t in tests} == {
        (DEFAULT_BREAK_SECONDS, DEFAULT_IDLE_LIMIT_SECONDS)}
    assert (DEFAULT_BREAK_SECONDS, DEFAULT_IDLE_LIMIT_SECONDS) == (600, 86_400)


def test_each_rule_can_be_set_or_turned_off_with_null():
    doc = document()
    doc["tests"][0].update(break_seconds=300.9, idle_limit_seconds=None)
    doc["tests"][1].update(break_seconds=None, idle_limit_seconds=3600)
    diag, drill, _ = parse(doc)[1]
    assert (diag["break_seconds"], diag["idle_limit_seconds"]) == (300, None)
    assert (drill["break_seconds"], drill["idle_limit_seconds"]) == (None, 3600)


@pytest.mark.parametrize("value", [0, -5, "600", True, [600]])
def test_a_rule_that_is_not_a_positive_number_is_refused(value):
    doc = document()
    doc["tests"][0]["break_seconds"] = value
    assert_names(error_of(doc), "test 'maths-diagnostic'", "field 'break_seconds'")


def test_a_timed_test_that_could_stay_open_for_ever_is_refused():
    doc = document()
    doc["tests"][2]["idle_limit_seconds"] = None  # active_time: its clock stops while the student is away
    assert_names(error_of(doc), "test 'maths-practice'", "field 'idle_limit_seconds'", "needs an idle limit")
    doc = document()
    doc["tests"][0].update(break_seconds=None, idle_limit_seconds=None)
    assert_names(error_of(doc), "test 'maths-diagnostic'", "field 'idle_limit_seconds'")


def test_an_untimed_test_may_stay_open():
    doc = document()
    doc["tests"][1].update(break_seconds=None, idle_limit_seconds=None)  # the drill has no time limit
    assert parse(doc)[1][1]["idle_limit_seconds"] is None
