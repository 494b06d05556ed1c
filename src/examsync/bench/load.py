"""The load generator: students answering at a constant arrival rate, in one or more processes.

Open model: answer k of the whole load is due at k / rate, whether or not earlier answers have
been acknowledged, and its latency runs from that intended time to the acknowledgement. A slow
server therefore shows up as latency instead of as a lower offered rate (no coordinated
omission). The generator reports how late it actually sent (`send_lag_ms`): if that grows, the
generator, not the server, was the bottleneck and more generator processes are needed.

Closed mode (for the throughput pairs against pgbench) instead keeps every student busy:
each sends its next answer as soon as the last one is acknowledged.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import queue
import random
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from examsync.bench.devices import DeviceClosed, LiveDevice
from examsync.bench.progress import Progress
from examsync.bench.servers import BenchError, ServerUnderTest
from examsync.bench.stats import arrival_offsets, latency_summary, percentile
from examsync.bench.students import Student

OK_STATUSES = ("applied", "superseded", "duplicate")
REQUEST_TIMEOUT_SECONDS = 30.0
TICK_SECONDS = 0.5
CONNECT_CONCURRENCY = 50


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


def generate(plan: LoadPlan, share: list[tuple[Student, str]], phase: int, stride: int, reports: Any,
             go_signal: Any) -> None:
    """One generator process: connect its students, wait for the common start, run its share."""
    try:
        asyncio.run(_generate(plan, share, phase, stride, reports, go_signal))
    except Exception as error:  # reported to the parent, which names it in its error
        reports.put(("failed", f"{type(error).__name__}: {error}"))


class _Generator:
    def __init__(self, plan: LoadPlan, http: aiohttp.ClientSession, devices: dict[str, LiveDevice]) -> None:
        self.plan, self.http, self.devices = plan, http, devices
        self.latencies: dict[str, list[float]] = {"socket": [], "http": []}
        self.errors: Counter[str] = Counter()
        self.send_lag_ms: list[float] = []
        self.heartbeats = 0
        self.rng = random.Random()

    def drain(self) -> dict[str, Any]:
        payload = {"latencies": self.latencies, "errors": dict(self.errors)}
        self.latencies, self.errors = {"socket": [], "http": []}, Counter()
        return payload

    async def send_answer(self, student: Student, transport: str, intended: float) -> None:
        """One answer; its latency runs from `intended` to the acknowledgement."""
        try:
            results = await asyncio.wait_for(self._send(student, transport, [student.answer_op(self.rng)]),
                                             REQUEST_TIMEOUT_SECONDS)
        except asyncio.TimeoutError:
            self.errors[f"no acknowledgement within {REQUEST_TIMEOUT_SECONDS:g} s"] += 1
            return
        except (DeviceClosed, aiohttp.ClientError, RuntimeError) as error:
            self.errors[str(error)[:100] or type(error).__name__] += 1
            return
        status = results[0]
        if status["status"] in OK_STATUSES:
            self.latencies[transport].append((time.perf_counter() - intended) * 1000)
        else:
            self.errors[f"op {status['status']}: {status.get('code')}"] += 1

    async def heartbeat(self, student: Student, transport: str) -> None:
        try:
            op = {"op_id": str(uuid.uuid4()), "type": "heartbeat", "client_time": int(time.time() * 1000)}
            results = await asyncio.wait_for(self._send(student, transport, [op]), REQUEST_TIMEOUT_SECONDS)
            if results[0]["status"] != "applied":
                self.errors[f"heartbeat {results[0]['status']}: {results[0].get('code')}"] += 1
            self.heartbeats += 1
        except (asyncio.TimeoutError, DeviceClosed, aiohttp.ClientError, RuntimeError) as error:
            self.errors[f"heartbeat: {str(error)[:80] or type(error).__name__}"] += 1

    async def _send(self, student: Student, transport: str, ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if transport == "socket":
            answer = await self.devices[student.session_id].request({"type": "ops", "ops": ops})
            if answer.get("type") != "ack":
                raise RuntimeError(f"live socket answered {answer.get('error', answer)}")
            return list(answer["results"])
        url = f"{self.plan.base_url}/api/v1/sessions/{student.session_id}/ops"
        async with self.http.post(url, json={"ops": ops}, headers=student.account.headers) as response:
            body = await response.json(content_type=None)
            if response.status != 200:
                raise RuntimeError(f"HTTP {response.status} {body.get('error', {}).get('code')}")
            return list(body["results"])


async def _generate(plan: LoadPlan, share: list[tuple[Student, str]], phase: int, stride: int, reports: Any,
                    go_signal: Any) -> None:
    connector = aiohttp.TCPConnector(limit=1000)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None)) as http:
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

        async def connect(student: Student) -> LiveDevice:
            async with gate:
                return await LiveDevice(student, plan.base_url).connect()

        opened = await asyncio.gather(*(connect(s) for s, t in share if t == "socket"))
        generator = _Generator(plan, http, {device.student.session_id: device for device in opened})
        try:
            reports.put(("ready", None))
            start_at = await asyncio.get_running_loop().run_in_executor(None, go_signal.get)
            base = time.perf_counter() + (start_at - time.time())
            ticker = asyncio.create_task(_tick(generator, reports))
            heartbeats = asyncio.create_task(_heartbeats(generator, share, base)) if plan.heartbeat_seconds else None
            if plan.closed:
                await _closed_loop(generator, share, base)
            else:
                await _open_loop(generator, share, base, phase, stride)
            if heartbeats is not None:
                heartbeats.cancel()
            ticker.cancel()
            reports.put(("done", {**generator.drain(), "send_lag_ms": generator.send_lag_ms,
                                  "heartbeats": generator.heartbeats}))
        finally:
            await asyncio.gather(*(device.close() for device in opened))


async def _tick(generator: _Generator, reports: Any) -> None:
    while True:
        await asyncio.sleep(TICK_SECONDS)
        reports.put(("tick", generator.drain()))


async def _open_loop(generator: _Generator, share: list[tuple[Student, str]], base: float, phase: int,
                     stride: int) -> None:
    in_flight: set[asyncio.Task[None]] = set()
    for index, offset in enumerate(arrival_offsets(generator.plan.rate, generator.plan.seconds,
                                                   phase=phase, stride=stride)):
        intended = base + offset
        delay = intended - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        generator.send_lag_ms.append(max(0.0, time.perf_counter() - intended) * 1000)
        student, transport = share[index % len(share)]
        task = asyncio.create_task(generator.send_answer(student, transport, intended))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    if in_flight:
        await asyncio.wait(in_flight)


async def _closed_loop(generator: _Generator, share: list[tuple[Student, str]], base: float) -> None:
    end = base + generator.plan.seconds

    async def busy(student: Student, transport: str) -> None:
        while time.perf_counter() < end:
            await generator.send_answer(student, transport, time.perf_counter())

    await asyncio.sleep(max(0.0, base - time.perf_counter()))
    await asyncio.gather(*(busy(student, transport) for student, transport in share))


async def _heartbeats(generator: _Generator, share: list[tuple[Student, str]], base: float) -> None:
    """Each student heartbeats every interval, the students spread evenly over it."""
    interval = generator.plan.heartbeat_seconds or 0.0
    offered = len(share) / interval
    in_flight: set[asyncio.Task[None]] = set()
    for index, offset in enumerate(arrival_offsets(offered, generator.plan.seconds)):
        await asyncio.sleep(max(0.0, base + offset - time.perf_counter()))
        task = asyncio.create_task(generator.heartbeat(*share[index % len(share)]))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
