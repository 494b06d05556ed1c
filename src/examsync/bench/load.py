"""The load generator: students answering at a constant arrival rate, in one or more processes.

Open model: answer k of the whole load is due at k / rate, whether or not earlier answers have
been acknowledged, and its latency runs from that intended time to the acknowledgement. A slow
server therefore shows up as latency instead of as a lower offered rate (no coordinated
omission). The generator reports how late it actually sent (`send_lag_ms`): if that grows, the
generator, not the server, was the bottleneck and more generator processes are needed.

Closed mode (for the throughput pairs against pgbench) instead keeps every student busy:
each sends its next answer as soon as the last one is acknowledged.

This module is the parent's side (start the generators, collect and summarise); each generator process runs
load_generator.py.
"""

from __future__ import annotations

import multiprocessing
import queue
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from examsync.bench.progress import Progress
from examsync.bench.servers import BenchError, ServerUnderTest
from examsync.bench.load_generator import TICK_SECONDS, generate
from examsync.bench.stats import latency_summary, percentile
from examsync.bench.students import Student


@dataclass(frozen=True)
class LoadPlan:
    base_url: str
    rate: float  # offered answers per second, all generator processes together (open mode)
    seconds: float
    closed: bool = False
    heartbeat_seconds: float | None = None  # each student also heartbeats this often


@dataclass
class LoadResult:
    closed: bool
    offered_rate: float
    seconds: float
    elapsed: float
    latencies: dict[str, list[float]]  # by transport: "socket", "http"
    errors: Counter[str] = field(default_factory=Counter)
    send_lag_ms: list[float] = field(default_factory=list)
    heartbeats: int = 0
    server_cpu_seconds: float = 0.0
    server_rss_peak: int = 0
    generators: int = 1

    @property
    def acknowledged(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    def report(self) -> dict[str, Any]:
        acknowledged = self.acknowledged
        all_latencies = [ms for values in self.latencies.values() for ms in values]
        return {
            "mode": "closed" if self.closed else "open",
            "offered_ops_per_s": None if self.closed else round(self.offered_rate, 1),
            "seconds": self.seconds,
            "acknowledged": acknowledged,
            "achieved_ops_per_s": round(acknowledged / self.elapsed, 1) if self.elapsed else 0.0,
            "errors": sum(self.errors.values()),
            "error_reasons": dict(self.errors.most_common(5)),
            "answer_ms": latency_summary(all_latencies),
            "answer_ms_by_transport": {name: latency_summary(values) for name, values in self.latencies.items()},
            "send_lag_ms": latency_summary(self.send_lag_ms),
            "heartbeats": self.heartbeats,
            "server_cpu_ms_per_op": round(self.server_cpu_seconds * 1000 / acknowledged, 3) if acknowledged else None,
            "server_rss_mb": round(self.server_rss_peak / 2**20, 1),
            "generator_processes": self.generators,
        }


def transports_for(count: int, transport: str) -> list[str]:
    """Which transport each student uses: all one, or alternating socket and HTTP."""
    if transport == "both":
        return ["socket" if i % 2 == 0 else "http" for i in range(count)]
    return [transport] * count


def run_load(plan: LoadPlan, students: list[Student], transports: list[str], generators: int,
             server: ServerUnderTest, label: str) -> LoadResult:
    """Run the plan from `generators` processes, showing progress; return every latency."""
    if not students:
        raise BenchError("a load run needs at least one student")
    generators = max(1, min(generators, len(students)))
    context = multiprocessing.get_context("spawn")
    reports: Any = context.Queue()
    go_signals = [context.Queue() for _ in range(generators)]
    shares = [[(s, t) for j, (s, t) in enumerate(zip(students, transports)) if j % generators == g]
              for g in range(generators)]
    processes = [context.Process(target=generate, args=(plan, shares[g], g, generators, reports, go_signals[g]),
                                 daemon=True) for g in range(generators)]
    for process in processes:
        process.start()
    try:
        _wait_for(reports, processes, "ready", generators)
        start_at = time.time() + 1.0
        for signal in go_signals:
            signal.put(start_at)
        time.sleep(max(0.0, start_at - time.time()))
        return _collect(plan, reports, processes, server, label, generators)
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()


def _wait_for(reports: Any, processes: list[Any], kind: str, count: int) -> None:
    seen = 0
    while seen < count:
        try:
            message = reports.get(timeout=1)
        except queue.Empty:
            if not all(p.is_alive() for p in processes):
                raise BenchError("a load generator process died while connecting") from None
            continue
        if message[0] == "failed":
            raise BenchError(f"a load generator failed: {message[1]}")
        if message[0] == kind:
            seen += 1


def _collect(plan: LoadPlan, reports: Any, processes: list[Any], server: ServerUnderTest, label: str,
             generators: int) -> LoadResult:
    progress = Progress(label, plan.seconds)
    result = LoadResult(plan.closed, plan.rate, plan.seconds, 0.0, {"socket": [], "http": []}, generators=generators)
    started, cpu_before = time.perf_counter(), server.cpu_seconds()
    recent: deque[tuple[float, int]] = deque()
    done = 0
    last_drawn = 0.0
    while done < generators:
        try:
            message = reports.get(timeout=TICK_SECONDS)
        except queue.Empty:
            if not all(p.is_alive() or p.exitcode == 0 for p in processes):
                raise BenchError("a load generator process died during the run") from None
            message = None
        now = time.perf_counter()
        if message is not None:
            kind, payload = message
            if kind == "tick" or kind == "done":
                for name, values in payload["latencies"].items():
                    result.latencies[name].extend(values)
                result.errors.update(payload["errors"])
                recent.append((now, sum(len(v) for v in payload["latencies"].values())))
            if kind == "done":
                result.send_lag_ms.extend(payload["send_lag_ms"])
                result.heartbeats += payload["heartbeats"]
                done += 1
            elif kind == "failed":
                raise BenchError(f"a load generator failed: {payload}")
        result.server_rss_peak = max(result.server_rss_peak, server.rss_bytes())
        while recent and recent[0][0] < now - 2.0:
            recent.popleft()
        if now - last_drawn >= 1.0:
            last_drawn = now
            window = max(0.5, min(2.0, now - started))
            measured = [ms for values in result.latencies.values() for ms in values]
            progress.update(now - started, sum(n for _, n in recent) / window,
                            percentile(measured, 99) if measured else None, sum(result.errors.values()))
    result.elapsed = time.perf_counter() - started
    measured = [ms for values in result.latencies.values() for ms in values]
    progress.update(result.elapsed, result.acknowledged / result.elapsed,
                    percentile(measured, 99) if measured else None, sum(result.errors.values()), final=True)
    progress.finish()
    result.server_cpu_seconds = server.cpu_seconds() - cpu_before
    return result
