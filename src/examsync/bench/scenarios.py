"""The measurements, one function each; a scenario runs one or several of them on one system.

Why this module is over 300 lines: `SCENARIOS` names every `--scenario` next to its function, and they share
`Findings` and `_load`; the larger measurements already live beside it (physical.py, proctor.py, peer.py).
"""

from __future__ import annotations

import asyncio
import math
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

import aiohttp

from examsync.bench.devices import LiveDevice
from examsync.bench.load import LoadPlan, LoadResult, run_load, transports_for
from examsync.bench.physical import PgbenchAnswers
from examsync.bench.progress import announce
from examsync.bench.servers import BenchError
from examsync.bench.stats import latency_summary, median_and_range
from examsync.bench.students import Account, Question, Student, api, diagnostic_test_id, make_accounts
from examsync.bench.system import BenchOptions, System
from examsync.services import wall_clock_ms

# A peak search stops when the achieved rate falls this far below the offered one.
FOLLOWS = 0.9
PEAK_GROWTH = 1.5
PEAK_MAX_STEPS = 12
SOCKETS_PER_STUDENT = 10  # below the default limit of 20 live sockets per user
RESUME_READS = 20


@dataclass
class Findings:
    results: dict[str, Any] = field(default_factory=dict)
    series: dict[str, list[float]] = field(default_factory=dict)  # latencies to plot, by name


def _load(system: System, options: BenchOptions, findings: Findings, name: str, *, students: int, rate: float,
          seconds: float, heartbeat_seconds: float | None = None) -> LoadResult:
    announce(f"{name}: {students} students, {rate:g} answers/s offered for {seconds:g} s")
    people = system.students(students)
    result = run_load(LoadPlan(system.server.url, rate, seconds, heartbeat_seconds=heartbeat_seconds), people,
                      transports_for(len(people), options.transport), options.generators_for(rate), system.server, name)
    findings.results[name] = {"students": students, **result.report()}
    for transport, values in result.latencies.items():
        if values:
            findings.series[f"{name} {transport}"] = values
    return result


def quick(system: System, options: BenchOptions) -> Findings:
    """A short all-round run: answers, resume, propagation, idle sockets."""
    findings = Findings()
    students = options.students or 20
    seconds = options.seconds or 10
    _load(system, options, findings, "load", students=students, rate=options.rate or 100, seconds=seconds)
    _resume(system, findings, min(students, 5))
    _propagation(system, findings, students=min(students, 5), rate=10, seconds=min(seconds, 5))
    _sockets(system, findings, options.sockets or 100)
    return findings


def peak(system: System, options: BenchOptions) -> Findings:
    """Raise the offered rate step by step until the achieved rate stops following it."""
    findings = Findings()
    students, seconds = options.students or 200, options.seconds or 10
    rate, steps = options.rate or 100, []
    for step in range(PEAK_MAX_STEPS):
        result = _load(system, options, findings, f"step {step + 1}", students=students, rate=rate, seconds=seconds)
        report = result.report()
        steps.append(findings.results.pop(f"step {step + 1}"))
        if report["achieved_ops_per_s"] < FOLLOWS * rate:
            break
        rate = round(rate * PEAK_GROWTH)
    followed = [s for s in steps if s["achieved_ops_per_s"] >= FOLLOWS * s["offered_ops_per_s"]]
    findings.results["peak"] = {
        "sustained_ops_per_s": max((s["achieved_ops_per_s"] for s in followed), default=0.0),
        "p99_ms_at_sustained": max(followed, key=lambda s: s["achieved_ops_per_s"])["answer_ms"]["p99"] if followed else None,
        "steps": steps,
    }
    return findings


def steady(system: System, options: BenchOptions) -> Findings:
    """2,000 students, each answering every 2 s and heartbeating every 15 s."""
    findings = Findings()
    students = options.students or 2000
    _load(system, options, findings, "steady", students=students, rate=options.rate or students / 2,
          seconds=options.seconds or 30, heartbeat_seconds=15)
    return findings


def start(system: System, options: BenchOptions) -> Findings:
    """A synchronized start: every student starts the test within a window, then resumes it."""
    findings = Findings()
    count, window = options.students or 2000, options.seconds or 2
    announce(f"start: {count} students start within {window:g} s")
    accounts = make_accounts(system.database.url, system.secret_key, count)
    starts, resumes, errors = asyncio.run(_synchronized_start(system.server.url, accounts, window))
    findings.results["start"] = {"students": count, "window_s": window, "errors": sum(errors.values()),
                                 "error_reasons": dict(errors), "start_ms": latency_summary(starts),
                                 "resume_ms": latency_summary(resumes)}
    findings.series.update({"start": starts, "resume after start": resumes})
    return findings


async def _synchronized_start(base_url: str, accounts: list[Account], window: float
                              ) -> tuple[list[float], list[float], dict[str, int]]:
    starts: list[float] = []
    resumes: list[float] = []
    errors: dict[str, int] = {}
    connector = aiohttp.TCPConnector(limit=1000)
    async with aiohttp.ClientSession(connector=connector) as http:
        test_id = await diagnostic_test_id(http, base_url, accounts[0])
        base = time.perf_counter() + 0.5

        async def one(index: int, account: Account) -> None:
            intended = base + window * index / len(accounts)
            await asyncio.sleep(max(0.0, intended - time.perf_counter()))
            try:
                state = await api(http, "POST", f"{base_url}/api/v1/sessions", account, json={"test_id": test_id})
                starts.append((time.perf_counter() - intended) * 1000)
                sent = time.perf_counter()
                await api(http, "GET", f"{base_url}/api/v1/sessions/{state['id']}", account)
                resumes.append((time.perf_counter() - sent) * 1000)
            except (aiohttp.ClientError, RuntimeError) as error:
                reason = str(error)[:100] or type(error).__name__
                errors[reason] = errors.get(reason, 0) + 1

        await asyncio.gather(*(one(i, account) for i, account in enumerate(accounts)))
    return starts, resumes, errors


def resume(system: System, options: BenchOptions) -> Findings:
    findings = Findings()
    _resume(system, findings, options.students or 10)
    return findings


def _resume(system: System, findings: Findings, count: int) -> None:
    """Fill all three sections of each student's session, then time reading it back."""
    announce(f"resume: {count} full three-section sessions, {RESUME_READS} reads each")
    students = system.students(count)
    latencies, sizes = asyncio.run(_fill_and_resume(system.server.url, students))
    findings.results["resume"] = {"students": count, "sections": 3, "response_bytes": max(sizes),
                                  "resume_ms": latency_summary(latencies)}
    findings.series["resume"] = latencies


async def _fill_and_resume(base_url: str, students: list[Student]) -> tuple[list[float], list[int]]:
    rng = random.Random()
    latencies: list[float] = []
    sizes: list[int] = []
    async with aiohttp.ClientSession() as http:
        for student in students:
            session_url = f"{base_url}/api/v1/sessions/{student.session_id}"
            account = student.account

            async def send(*ops: dict[str, Any]) -> None:
                batch = [{"op_id": str(uuid.uuid4()), "client_time": wall_clock_ms(), **op} for op in ops]
                outcome = await api(http, "POST", f"{session_url}/ops", account, json={"ops": batch})
                refused = [r for r in outcome["results"] if r["status"] == "rejected"]
                if refused:
                    raise BenchError(f"filling a session, an op was rejected: {refused[0]}")

            for index in range(3):
                section = (await api(http, "GET", session_url, account))["sections"][index]
                if section["status"] == "not_started":
                    await send({"type": "navigate", "question_id": section["first_question_id"]})
                    section = (await api(http, "GET", session_url, account))["sections"][index]
                await send(*({"type": "answer", "question_id": q["id"],
                              "answer": Question.from_state(q).random_answer(rng)} for q in section["questions"]))
                if index < 2:
                    await send({"type": "submit_section", "section_id": section["section_id"]})
            for _ in range(RESUME_READS):
                sent = time.perf_counter()
                async with http.get(session_url, headers=account.headers) as response:
                    body = await response.read()
                    if response.status != 200:
                        raise BenchError(f"resume answered {response.status}: {body[:200]!r}")
                latencies.append((time.perf_counter() - sent) * 1000)
                sizes.append(len(body))
    return latencies, sizes


def propagation(system: System, options: BenchOptions) -> Findings:
    findings = Findings()
    students = options.students or 10
    _propagation(system, findings, students=students, rate=options.rate or 2 * students,
                 seconds=options.seconds or 10)
    return findings


def _propagation(system: System, findings: Findings, *, students: int, rate: float, seconds: float) -> None:
    """Answer over HTTP on one device; time the event's arrival on the student's second device.

    With a broker the second device is connected to a second server, so the event crosses instances.
    """
    where = f" across two instances ({system.options.broker} broker)" if system.options.broker else ""
    announce(f"propagation{where}: {students} students, {rate:g} answers/s for {seconds:g} s")
    people = system.students(students)
    sent_to_event, ack_to_event, missing = asyncio.run(
        _propagate(system.server.url, system.servers[-1].url, people, rate, seconds))
    findings.results["propagation"] = {
        "students": students, "offered_ops_per_s": rate, "seconds": seconds,
        "broker": system.options.broker or None, "events_seen": len(sent_to_event), "events_missing": missing,
        "send_to_event_ms": latency_summary(sent_to_event), "ack_to_event_ms": latency_summary(ack_to_event),
    }
    findings.series["propagation"] = sent_to_event


async def _propagate(sender_url: str, watcher_url: str, students: list[Student], rate: float, seconds: float
                     ) -> tuple[list[float], list[float], int]:
    rng = random.Random()
    intended_at: dict[str, float] = {}
    acked_at: dict[str, float] = {}
    seen_at: dict[str, float] = {}

    def seen(message: dict[str, Any]) -> None:
        if message.get("op_id") in intended_at:
            seen_at[message["op_id"]] = time.perf_counter()

    watchers = [await LiveDevice(student, watcher_url).connect() for student in students]
    for watcher in watchers:
        watcher.on_event(seen)
    try:
        async with aiohttp.ClientSession() as http:
            base = time.perf_counter() + 0.2
            count = int(math.ceil(rate * seconds))

            async def answer(index: int) -> None:
                student = students[index % len(students)]
                intended = base + index / rate
                await asyncio.sleep(max(0.0, intended - time.perf_counter()))
                op = student.answer_op(rng)
                intended_at[op["op_id"]] = intended
                await api(http, "POST", f"{sender_url}/api/v1/sessions/{student.session_id}/ops", student.account,
                          json={"ops": [op]})
                acked_at[op["op_id"]] = time.perf_counter()

            await asyncio.gather(*(answer(i) for i in range(count)))
            deadline = time.perf_counter() + 5
            while len(seen_at) < len(intended_at) and time.perf_counter() < deadline:
                await asyncio.sleep(0.05)
    finally:
        await asyncio.gather(*(watcher.close() for watcher in watchers))
    sent_to_event = [(seen_at[k] - intended_at[k]) * 1000 for k in seen_at]
    # Negative when the push overtook the HTTP answer.
    ack_to_event = [(seen_at[k] - acked_at[k]) * 1000 for k in seen_at if k in acked_at]
    return sent_to_event, ack_to_event, len(intended_at) - len(seen_at)


def sockets(system: System, options: BenchOptions) -> Findings:
    findings = Findings()
    _sockets(system, findings, options.sockets or 1000)
    return findings


def _sockets(system: System, findings: Findings, count: int) -> None:
    """The server's memory per idle live socket: its RSS before and after opening `count` of them."""
    announce(f"sockets: {count} idle live sockets")
    owners = system.students(max(1, math.ceil(count / SOCKETS_PER_STUDENT)))
    warm_up = owners[: max(1, min(len(owners), 5))]

    async def measure() -> tuple[int, int, int]:
        gate = asyncio.Semaphore(50)

        async def open_one(student: Student) -> LiveDevice:
            async with gate:
                return await LiveDevice(student, system.server.url).connect()

        # A few sockets first, so code paths and pools that come up on first use are not counted.
        first = await asyncio.gather(*(open_one(s) for s in warm_up))
        await asyncio.gather(*(device.close() for device in first))
        await asyncio.sleep(1)
        before = system.server.rss_bytes()
        opened = await asyncio.gather(*(open_one(owners[i % len(owners)]) for i in range(count)))
        await asyncio.sleep(2)
        after = system.server.rss_bytes()
        await asyncio.gather(*(device.close() for device in opened))
        return before, after, len(opened)

    before, after, opened = asyncio.run(measure())
    findings.results["sockets"] = {"idle_sockets": opened, "server_rss_before_mb": round(before / 2**20, 1),
                                   "server_rss_after_mb": round(after / 2**20, 1),
                                   "kb_per_idle_socket": round((after - before) / 1024 / opened, 1)}


def physical(system: System, options: BenchOptions) -> Findings:
    """The app's saturated answers/s against pgbench's, alternating, as a ratio."""
    if system.database.kind != "postgresql":
        raise BenchError("the physical scenario compares with pgbench and needs --database postgresql")
    findings = Findings()
    seconds = options.seconds or 10
    # pgbench gets as many connections as the app's pools hold: one pool per worker process.
    pool_size = int(system.server.env.get("EXAMSYNC_POOL_SIZE", "10")) * system.server.workers
    students = options.students or 4 * pool_size
    announce(f"physical: {options.pairs} pairs of app (closed loop, {students} students) and pgbench "
             f"({pool_size} clients), {seconds:g} s each")
    people = system.students(students)
    baseline = PgbenchAnswers(options.pg_url)
    pairs = []
    try:
        for pair in range(options.pairs):
            result = run_load(LoadPlan(system.server.url, 0.0, seconds, closed=True), people,
                              transports_for(len(people), options.transport), options.generators or 1,
                              system.server, f"app {pair + 1}")
            app_rate = result.acknowledged / result.elapsed
            announce(f"pgbench {pair + 1}: {pool_size} clients, {seconds:g} s")
            pgbench_rate = baseline.run(pool_size, seconds)
            pairs.append({"app_ops_per_s": round(app_rate, 1), "app_errors": sum(result.errors.values()),
                          "app_p99_ms": result.report()["answer_ms"]["p99"], "pgbench_tps": round(pgbench_rate, 1),
                          "ratio": round(app_rate / pgbench_rate, 3)})
    finally:
        baseline.remove()
    findings.results["physical"] = {"pool_size": pool_size, "app_students": students, "seconds": seconds,
                                    "ratio": median_and_range([p["ratio"] for p in pairs]), "pairs": pairs}
    return findings


def proctor(system: System, options: BenchOptions) -> Findings:
    """300 students of one assignment answering every 2 s, its roster watched live (bench/proctor.py)."""
    from examsync.bench.proctor import proctor as run_proctor  # it builds on this module's Findings

    result: Findings = run_proctor(system, options)
    return result


SCENARIOS: dict[str, Callable[[System, BenchOptions], Findings]] = {
    "quick": quick, "peak": peak, "steady": steady, "start": start, "resume": resume,
    "propagation": propagation, "sockets": sockets, "physical": physical, "proctor": proctor,
}
