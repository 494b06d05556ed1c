"""The run's report (a table and one JSON object), and its live progress on stderr."""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Iterable
from typing import Any, TextIO

from examsync.chaos.checker import ANOMALIES, Verdict
from examsync.chaos.faults import Fault, p99, recovery_by_kind

TABLE_ROWS = ("students", "ops", "acknowledged", "rejected", "indeterminate", *ANOMALIES, "indeterminate_applied",
              "recovery_p99_s")


def build_report(*, students: int, verdict: Verdict, faults: Iterable[Fault], seed: int, duration_s: float,
                 instances: int, unsafe: bool) -> dict[str, Any]:
    faults = list(faults)
    ended = [f for f in faults if f.ended_s is not None]
    recoveries = [f.recovery_s for f in ended if f.recovery_s is not None]
    report: dict[str, Any] = {"students": students, **verdict.counts()}
    report.update(
        recovery_p99_s=None if not recoveries else round(p99(recoveries) or 0.0, 3),
        recovery_by_kind=recovery_by_kind(ended),
        unrecovered_faults=sum(1 for f in ended if f.recovery_s is None),
        faults=dict(sorted(Counter(f.kind for f in ended).items())),
        seed=seed, duration_s=duration_s, instances=instances, unsafe=unsafe,
        exit_code=exit_code(verdict, unsafe=unsafe),
        examples={name: examples for name, examples in verdict.examples.items() if examples},
        fault_log=[f.as_json() for f in faults],
    )
    return report


def exit_code(verdict: Verdict, *, unsafe: bool) -> int:
    """0 when the run proves what it set out to: no anomaly, or under --unsafe, that losses are seen."""
    if unsafe:
        return 0 if verdict.lost > 0 else 1
    return 0 if verdict.anomalies == 0 else 1


def format_table(report: dict[str, Any]) -> str:
    recovery_rows = {f"recovery {kind}": recovery for kind, recovery in report["recovery_by_kind"].items()}
    width = max(len(name) for name in (*TABLE_ROWS, *recovery_rows))
    lines = [f"{name:<{width}}  {_shown(report[name])}" for name in TABLE_ROWS]
    faults = ", ".join(f"{kind} {count}" for kind, count in report["faults"].items()) or "none"
    lines.append(f"{'faults':<{width}}  {sum(report['faults'].values())} ({faults})")
    for name, recovery in recovery_rows.items():
        lines.append(f"{name:<{width}}  p50 {_shown(recovery['p50_s'])}  p99 {_shown(recovery['p99_s'])}  "
                     f"max {_shown(recovery['max_s'])} s  ({recovery['recovered']} of {recovery['faults']} faults)")
    if report["unrecovered_faults"]:
        lines.append(f"{'unrecovered':<{width}}  {report['unrecovered_faults']} (no op acknowledged afterwards)")
    for name, examples in report["examples"].items():
        lines += [f"{name}: {example}" for example in examples]
    if report["unsafe"]:
        verdict = "losses seen: the checker detects them" if report["lost"] else "NO loss seen"
    else:
        verdict = "no anomaly" if report["exit_code"] == 0 else "ANOMALIES FOUND"
    lines.append(f"{'verdict':<{width}}  {verdict}")
    return "\n".join(lines)


def _shown(value: Any) -> str:
    return "-" if value is None else str(value)


class Progress:
    """One status line on stderr: redrawn in place on a terminal, printed every few seconds otherwise."""

    def __init__(self, stream: TextIO | None = None, *, every_s: float = 5.0) -> None:
        self.stream = stream or sys.stderr
        self.in_place = self.stream.isatty()
        self.every_s = every_s
        self._last = 0.0
        self._shown = False

    def update(self, line: str, *, force: bool = False) -> None:
        if self.in_place:
            self.stream.write("\r\x1b[2K" + line)
            self._shown = True
        elif force or time.monotonic() - self._last >= self.every_s:
            self.stream.write(line + "\n")
            self._last = time.monotonic()
        self.stream.flush()

    def say(self, message: str) -> None:
        """A line that stays (a fault as it happens), printed above the status line."""
        if self.in_place and self._shown:
            self.stream.write("\r\x1b[2K")
        self.stream.write(message + "\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.in_place and self._shown:
            self.stream.write("\n")
            self.stream.flush()
            self._shown = False
