"""The proctor scenario: one class's assignment of 300 students answering every 2 s, watched live.

Set up straight in the database, like the bench's students (no sign-ups): a teacher, a class of `students`
students with the diagnostic test assigned, and each student's session of it tied to the assignment (as
starting it through the assignment does). While the students answer (the usual open-model load, `load.py`),
this process keeps `proctors` roster sockets open and reads the roster over HTTP every `GET_EVERY_S`:

- roster GET: the time to answer `GET /api/v1/assignments/{id}/roster`;
- socket lag: for each `roster_row` that shows a student's newer `last_op_at`, the time from that op's server
  time (taken as it is applied, just before its commit) to the row's arrival at the proctor, on this machine's
  one clock;
- keeps up: once the answers stop, each socket's rows settle on what the roster GET answers, for every student.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from sqlalchemy import insert, update

from examsync.accounts import Accounts
from examsync.bench.load import LoadPlan, run_load, transports_for
from examsync.bench.progress import announce
from examsync.bench.servers import BenchError
from examsync.bench.stats import latency_summary
from examsync.bench.students import TOKEN_TTL_SECONDS, Account
from examsync.bench.system import BenchOptions, System
from examsync.services import wall_clock_ms
from examsync.store.database import Database
from examsync.store.tables import assignments, class_students, classes, tests, user_test_sessions, users

GET_EVERY_S = 0.25
SETTLE_S = 10.0
LAG_TARGET_P99_MS = 1000.0
GET_TARGET_P99_MS = 50.0


@dataclass
class Watch:
    """What one proctor socket saw."""

    lags: list[float] = field(default_factory=list)
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)  # user_id -> latest row
    received: int = 0
    out_of_order: int = 0
    last_seq: int = 0
    closed: str | None = None


def proctor(system: System, options: BenchOptions) -> Any:
    from examsync.bench.scenarios import Findings

    findings = Findings()
    count = options.students or 300
    seconds = options.seconds or 60
    rate = options.rate or count / 2
    watchers = options.sockets or 2
    announce(f"proctor: {count} students in one assignment, {rate:g} answers/s for {seconds:g} s, "
             f"{watchers} proctor sockets, a roster GET every {GET_EVERY_S:g} s")
    people = system.students(count)
    teacher, assignment_id = _assign(system, [p.account.user_id for p in people], [p.session_id for p in people])
    base = system.server.url
    stop = threading.Event()
    outcome: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: outcome.update(asyncio.run(
        _watch(base, teacher, assignment_id, watchers, stop))), daemon=True)
    thread.start()
    time.sleep(2)  # sockets open and their first roster in
    try:
        result = run_load(LoadPlan(base, rate, seconds), people, transports_for(len(people), options.transport),
                          options.generators_for(rate), system.server, "proctor")
    finally:
        stop.set()
        thread.join(timeout=SETTLE_S + 30)
    if "error" in outcome:
        raise BenchError(f"the proctor sockets failed: {outcome['error']}")
    gets: list[float] = outcome["gets"]
    watches: list[Watch] = outcome["watches"]
    lags = [lag for watch in watches for lag in watch.lags]
    behind = outcome["behind"]
    lag_summary = latency_summary(lags)
    get_summary = latency_summary(gets)
    findings.results["proctor"] = {
        "students": count, "proctor_sockets": watchers, **result.report(),
        "roster_get_ms": get_summary,
        "roster_row_lag_ms": lag_summary,
        "roster_rows_received": sum(w.received for w in watches),
        "rows_out_of_order": sum(w.out_of_order for w in watches),
        "sockets_closed": [w.closed for w in watches if w.closed],
        "rows_behind_after_settling": behind,
        "keeps_up": bool(lags) and behind == 0 and not any(w.closed for w in watches)
        and (lag_summary["p99"] or 0) <= LAG_TARGET_P99_MS,
        "roster_get_p99_within_50_ms": (get_summary["p99"] or 0) <= GET_TARGET_P99_MS,
    }
    findings.series.update({"roster GET": gets, "roster_row lag": lags})
    return findings


def _assign(system: System, student_ids: list[str], session_ids: list[str]) -> tuple[Account, str]:
    """A teacher, their class of these students, the diagnostic assigned to it, and each session tied to it."""
    database = Database(system.database.url)
    accounts = Accounts(db=database, secret=system.secret_key, token_ttl_seconds=TOKEN_TTL_SECONDS,
                        clock=wall_clock_ms)
    now = wall_clock_ms()
    teacher_id, class_id, assignment_id = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    try:
        with database.owner_transaction() as connection:
            test_id = connection.execute(
                tests.select().with_only_columns(tests.c.id).where(tests.c.slug == "diagnostic-general")).scalar()
            connection.execute(insert(users).values(
                id=teacher_id, email=f"bench-teacher-{teacher_id[:8]}@example.org", display_name="Bench Teacher",
                role="teacher", created_at=now))
            connection.execute(insert(classes).values(id=class_id, name="Bench class", owner_id=teacher_id,
                                                      join_code=uuid.uuid4().hex[:12], created_at=now))
            connection.execute(insert(class_students), [
                {"class_id": class_id, "user_id": user_id, "joined_at": now} for user_id in student_ids])
            connection.execute(insert(assignments).values(
                id=assignment_id, class_id=class_id, test_id=test_id, opens_at=now, created_by=teacher_id,
                created_at=now))
            connection.execute(update(user_test_sessions).where(user_test_sessions.c.id.in_(session_ids))
                               .values(assignment_id=assignment_id))
    finally:
        database.dispose()
    return Account(teacher_id, accounts.issue_token(teacher_id, "teacher")["access_token"]), assignment_id


async def _watch(base: str, teacher: Account, assignment_id: str, count: int, stop: threading.Event
                 ) -> dict[str, Any]:
    try:
        async with aiohttp.ClientSession() as http:
            watches = [Watch() for _ in range(count)]
            ws_url = f"{base.replace('http', 'ws', 1)}/api/v1/assignments/{assignment_id}/live"
            sockets = [await http.ws_connect(ws_url, headers=teacher.headers, max_msg_size=0) for _ in watches]
            readers = [asyncio.create_task(_read(socket, watch)) for socket, watch in zip(sockets, watches)]
            gets: list[float] = []
            roster_url = f"{base}/api/v1/assignments/{assignment_id}/roster"
            while not stop.is_set():
                sent = time.perf_counter()
                async with http.get(roster_url, headers=teacher.headers) as response:
                    body = await response.read()
                    if response.status != 200:
                        raise BenchError(f"the roster answered {response.status}: {body[:200]!r}")
                gets.append((time.perf_counter() - sent) * 1000)
                await asyncio.sleep(GET_EVERY_S)
            # Settled: every socket's rows show what the roster GET shows, for every student.
            behind = -1
            deadline = time.perf_counter() + SETTLE_S
            while time.perf_counter() < deadline:
                async with http.get(roster_url, headers=teacher.headers) as response:
                    truth = {row["user_id"]: row["last_op_at"] for row in await response.json()}
                behind = sum(1 for watch in watches for user_id, last_op_at in truth.items()
                             if watch.rows.get(user_id, {}).get("last_op_at") != last_op_at)
                if behind == 0:
                    break
                await asyncio.sleep(0.5)
            for reader in readers:
                reader.cancel()
            for socket in sockets:
                await socket.close()
            return {"gets": gets, "watches": watches, "behind": behind}
    except Exception as error:  # reported to the scenario, which fails the run with it
        return {"error": f"{type(error).__name__}: {error}"}


async def _read(socket: aiohttp.ClientWebSocketResponse, watch: Watch) -> None:
    async for frame in socket:
        if frame.type != aiohttp.WSMsgType.TEXT:
            break
        arrived = wall_clock_ms()
        message = json.loads(frame.data)
        if message["type"] == "roster":
            watch.rows = {row["user_id"]: row for row in message["rows"]}
            watch.last_seq = message["seq"]
        elif message["type"] == "roster_row":
            watch.received += 1
            if message["seq"] <= watch.last_seq:
                watch.out_of_order += 1
            watch.last_seq = message["seq"]
            row = message["row"]
            before = watch.rows.get(row["user_id"], {}).get("last_op_at")
            if row["last_op_at"] is not None and (before is None or row["last_op_at"] > before):
                watch.lags.append(float(arrived - row["last_op_at"]))
            watch.rows[row["user_id"]] = row
    watch.closed = f"closed with {socket.close_code}"
