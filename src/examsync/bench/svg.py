"""The latency distribution as a hand-written SVG: one percentile curve per series.

The x axis spreads the tail out (0 %, 90 %, 99 %, 99.9 %, 99.99 % are equally spaced, as in
HdrHistogram plots) and the y axis is logarithmic, so a p50 of 3 ms and a p99.9 of 800 ms are
both readable in one picture.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

WIDTH, HEIGHT = 760, 420
LEFT, RIGHT, TOP, BOTTOM = 70, 170, 40, 50
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
# Nines shown on the x axis: 0 → 0 %, 1 → 90 %, 2 → 99 %, 3 → 99.9 %, 4 → 99.99 %.
MAX_NINES = 4.0


def percentile_curve(values: Sequence[float]) -> list[tuple[float, float]]:
    """(nines, ms) points of the series' percentile curve, at most ~400 of them."""
    ordered = sorted(values)
    n = len(ordered)
    points = []
    steps = 400
    for i in range(steps + 1):
        nines = MAX_NINES * i / steps
        fraction = 1.0 - 10 ** -nines
        rank = min(n, max(1, math.ceil(fraction * n)))
        points.append((nines, ordered[rank - 1]))
        if rank == n:
            return points
    # The slowest values lie beyond 99.99 %: the curve ends on the slowest at the axis' end.
    points.append((MAX_NINES, ordered[-1]))
    return points


def latency_svg(series: Mapping[str, Sequence[float]], title: str) -> str:
    """An SVG document drawing each named series of latencies (ms) as a percentile curve."""
    drawn = {name: values for name, values in series.items() if values}
    if not drawn:
        raise ValueError("there are no latencies to draw")
    low = max(0.1, min(min(v) for v in drawn.values()))
    high = max(max(v) for v in drawn.values())
    y_min = 10 ** math.floor(math.log10(low))
    y_max = 10 ** math.ceil(math.log10(high * 1.0001)) if high > y_min else y_min * 10
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(nines: float) -> float:
        return LEFT + plot_w * nines / MAX_NINES

    def y(ms: float) -> float:
        span = math.log10(y_max) - math.log10(y_min)
        return TOP + plot_h * (1 - (math.log10(max(ms, y_min)) - math.log10(y_min)) / span)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{LEFT}" y="24" font-size="15">{escape(title)}</text>',
    ]
    for nines, label in ((0, "0%"), (1, "90%"), (2, "99%"), (3, "99.9%"), (4, "99.99%")):
        parts.append(f'<line x1="{x(nines):.1f}" y1="{TOP}" x2="{x(nines):.1f}" y2="{TOP + plot_h}" stroke="#ddd"/>')
        parts.append(f'<text x="{x(nines):.1f}" y="{TOP + plot_h + 18}" text-anchor="middle">{label}</text>')
    decade = y_min
    while decade <= y_max * 1.0001:
        parts.append(f'<line x1="{LEFT}" y1="{y(decade):.1f}" x2="{LEFT + plot_w}" y2="{y(decade):.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y(decade) + 4:.1f}" text-anchor="end">{decade:g} ms</text>')
        decade *= 10
    parts.append(f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 12}" text-anchor="middle">percentile</text>')
    parts.append(f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#333"/>')
    for index, (name, values) in enumerate(drawn.items()):
        colour = COLOURS[index % len(COLOURS)]
        path = " ".join(f"{'M' if i == 0 else 'L'}{x(n):.1f},{y(ms):.1f}"
                        for i, (n, ms) in enumerate(percentile_curve(values)))
        parts.append(f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        legend_y = TOP + 16 + 20 * index
        parts.append(f'<line x1="{LEFT + plot_w + 12}" y1="{legend_y - 4}" x2="{LEFT + plot_w + 32}" '
                     f'y2="{legend_y - 4}" stroke="{colour}" stroke-width="2"/>')
        parts.append(f'<text x="{LEFT + plot_w + 38}" y="{legend_y}">{escape(name)} (n={len(values)})</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
