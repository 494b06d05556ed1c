"""What each load-generator process runs (started by load.py's `run_load`): its share of the students on their
transports, sending answers on the open or closed schedule, and reporting every acknowledgement to the parent."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from typing import TYPE_CHECKING, Any

import aiohttp

from examsync.bench.devices import DeviceClosed, LiveDevice
from examsync.bench.stats import arrival_offsets
from examsync.bench.students import Student

if TYPE_CHECKING:
    from examsync.bench.load import LoadPlan

OK_STATUSES = ("applied", "superseded", "duplicate")
REQUEST_TIMEOUT_SECONDS = 30.0
TICK_SECONDS = 0.5
CONNECT_CONCURRENCY = 50


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
