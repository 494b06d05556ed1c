"""The bench's own arithmetic: percentiles, the arrival schedule, the latency plot."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

import pytest

from examsync.bench.stats import arrival_offsets, latency_summary, median_and_range, percentile
from examsync.bench.svg import latency_svg, percentile_curve

SVG = "{http://www.w3.org/2000/svg}"


def test_percentile_is_the_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]  # 1 … 100
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 99.9) == 100
    assert percentile(values, 100) == 100
    assert percentile(values, 0) == 1
    assert percentile([7.0], 99.9) == 7


def test_percentile_does_not_depend_on_order() -> None:
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], 60) == 3


def test_percentile_refuses_nothing_and_out_of_range() -> None:
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_latency_summary_reports_every_percentile_and_survives_no_values() -> None:
    summary = latency_summary([float(v) for v in range(1, 1001)])
    assert summary == {"count": 1000, "p50": 500, "p95": 950, "p99": 990, "p999": 999, "max": 1000, "mean": 500.5}
    assert latency_summary([]) == {"count": 0, "p50": None, "p95": None, "p99": None, "p999": None, "max": None,
                                   "mean": None}


def test_arrivals_are_evenly_spaced_at_the_rate() -> None:
    offsets = list(arrival_offsets(4, 2))
    assert offsets == [0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75]


def test_generator_shares_interleave_into_the_whole_schedule() -> None:
    whole = list(arrival_offsets(10, 3))
    shares = [list(arrival_offsets(10, 3, phase=p, stride=3)) for p in range(3)]
    assert sorted(o for share in shares for o in share) == whole
    assert all(len(share) == 10 for share in shares)


def test_arrival_schedule_refuses_a_rate_that_is_not_positive() -> None:
    with pytest.raises(ValueError):
        list(arrival_offsets(0, 1))
    with pytest.raises(ValueError):
        list(arrival_offsets(1, 1, phase=2, stride=2))


def test_median_and_range() -> None:
    assert median_and_range([0.5, 0.9, 0.7]) == {"median": 0.7, "min": 0.5, "max": 0.9}


def test_percentile_curve_climbs_to_the_slowest_value() -> None:
    values = [float(v) for v in range(1, 10_001)]
    curve = percentile_curve(values)
    latencies = [ms for _, ms in curve]
    assert latencies == sorted(latencies)
    assert curve[0] == (0.0, 1.0)
    assert latencies[-1] == 10_000
    assert dict(curve)[2.0] == 9_900  # 99 %: two nines


def test_svg_draws_one_labelled_curve_per_series() -> None:
    document = latency_svg({"socket": [1.0, 2.0, 50.0], "http <&>": [3.0, 4.0, 900.0], "empty": []}, "answers")
    root = ElementTree.fromstring(document)
    assert root.tag == f"{SVG}svg"
    assert len(root.findall(f"{SVG}path")) == 2
    labels = [text.text for text in root.iter(f"{SVG}text")]
    assert "socket (n=3)" in labels and "http <&> (n=3)" in labels
    assert "1000 ms" in labels and "99.9%" in labels


def test_svg_refuses_to_draw_nothing() -> None:
    with pytest.raises(ValueError):
        latency_svg({"socket": []}, "answers")
