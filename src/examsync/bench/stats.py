"""Percentiles and the open-model arrival schedule."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Iterator, Sequence

# The percentiles every latency summary reports (99.9 is written p999).
REPORTED = (("p50", 50.0), ("p95", 95.0), ("p99", 99.0), ("p999", 99.9))


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank percentile: the smallest value with at least p % of the values at or below it."""
    if not values:
        raise ValueError("no values to take a percentile of")
    if not 0 <= p <= 100:
        raise ValueError(f"a percentile is between 0 and 100, not {p}")
    ordered = sorted(values)
    rank = max(1, math.ceil(round(p * len(ordered) / 100, 9)))  # round: 99.9 % of 1000 is 999, not 999.0000001
    return ordered[rank - 1]


def latency_summary(values: Iterable[float]) -> dict[str, float | int | None]:
    """count, p50, p95, p99, p999, max and mean in ms, rounded to 0.01; None when there are no values."""
    ordered = sorted(values)
    summary: dict[str, float | int | None] = {"count": len(ordered)}
    for name, p in REPORTED:
        summary[name] = round(percentile(ordered, p), 2) if ordered else None
    summary["max"] = round(ordered[-1], 2) if ordered else None
    summary["mean"] = round(statistics.fmean(ordered), 2) if ordered else None
    return summary


def arrival_offsets(rate: float, seconds: float, *, phase: int = 0, stride: int = 1) -> Iterator[float]:
    """Intended send times, in seconds from the start, of a constant arrival rate.

    Arrival k of the whole load is due at k / rate. A generator process that takes every
    `stride`-th arrival starting at `phase` gets its share of one evenly spaced sequence, so
    several processes together offer exactly `rate`.
    """
    if rate <= 0:
        raise ValueError(f"the arrival rate must be positive, not {rate}")
    if not 0 <= phase < stride:
        raise ValueError(f"phase {phase} is not one of the {stride} strides")
    k = phase
    while k / rate < seconds:
        yield k / rate
        k += stride


def median_and_range(values: Sequence[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3), "max": round(max(values), 3)}
