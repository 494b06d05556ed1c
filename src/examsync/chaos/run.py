"""One fault-injection run: set up, let students work while faults strike, heal, drain, judge, clean up.

    students --> client proxy --> app server --> database proxy --> PostgreSQL (its own cluster)

Everything runs on loopback. The proxies live in this process's event loop;
PostgreSQL, the app servers and the student processes are child processes
that this module starts, kills and restarts, and always removes at the end,
also on Ctrl-C or failure. The students and their processes are in classroom.py.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import shutil
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

from examsync.bench.students import Account, make_accounts
from examsync.chaos import faults
from examsync.chaos.checker import ClientOp, check
from examsync.chaos.classroom import PASSWORD, ChaosOptions, StudentProcess, class_plan, student_email
from examsync.chaos.cluster import PostgresCluster, find_bin_dir
from examsync.chaos.faults import Ack, Fault, FaultPlan, measure_recovery
from examsync.chaos.proxy import FaultProxy
from examsync.chaos.report import Progress, build_report
from examsync.chaos.server_state import read_server_state
from examsync.chaos.servers import AppServer
from examsync.chaos.student import skewed_clock
from examsync.client import Client
from examsync.content_import import import_files
from examsync.serverproc import free_port
from examsync.store import migrate as migrations
from examsync.store.database import Database
from examsync.store.roles import create_login_role

CONTENT = Path(__file__).parent / "content.yaml"
TEST_SLUG = "chaos-sprint"
# The servers log in as a member of the app role, as a deployment should (docs/deployment.md#roles); setting up and
# reading the final state use the cluster's superuser.
APP_LOGIN_ROLE = "examsync_login"
OFFLINE_GRACE_S = 2
WARM_UP_BASE_S = 60
WARM_UP_PER_STUDENT_S = 0.5
RATE_WINDOW_S = 5.0


class RunError(RuntimeError):
    """The run could not go on (for example, students could not begin); the message says why."""


class ChaosRun:
    def __init__(self, options: ChaosOptions, progress: Progress) -> None:
        self.options = options
        self.progress = progress
        bin_dir = find_bin_dir()  # before anything is made, so a missing PostgreSQL leaves nothing behind
        self.root = Path(tempfile.mkdtemp(prefix="examsync-chaos-"))
        # The cluster runs as the postgres OS user, which must be able to reach its directory inside.
        self.root.chmod(0o711)
        self.secret_key = secrets.token_hex(32)
        self.cluster = PostgresCluster(self.root / "pg", free_port(), unsafe=options.unsafe, bin_dir=bin_dir)
        self.servers: list[AppServer] = []
        self.client_proxies: list[FaultProxy] = []
        self.db_proxy: FaultProxy | None = None
        self.processes: list[StudentProcess] = []
        self.students: list[dict[str, Any]] = []
        self.faults: list[Fault] = []
        self.acks: list[Ack] = []
        self.acknowledged = 0
        self.begun: set[int] = set()
        self._start_clocks()

    def _start_clocks(self) -> None:
        self.started = time.monotonic()
        self.started_wall = time.time()  # the students report when their acks arrived on the wall clock

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    # ----- the run ------------------------------------------------------------------

    async def run(self) -> dict[str, Any]:
        options = self.options
        self.progress.say(f"examsync chaos: {options.students} students, {options.duration_s:g} s, seed {options.seed}, "
                          f"{options.instances} instance(s){', UNSAFE async commit' if options.unsafe else ''}; "
                          f"work dir {self.root}")
        accounts = await asyncio.to_thread(self._create_database)
        await self._start_servers()
        await self._start_students(accounts)
        await self._warm_up()
        self._start_clocks()
        reporter = asyncio.ensure_future(self._report_progress())
        try:
            await self._inflict_faults()
        finally:
            reporter.cancel()
            await asyncio.gather(reporter, return_exceptions=True)
        self.progress.say(f"[{self.elapsed():6.1f}s] healing: stopping students, draining every queue")
        for process in self.processes:
            await process.stop(signal.SIGTERM)
        client_ops = await self._drain()
        measure_recovery(self.faults, self.acks)
        self.progress.finish()
        server = await asyncio.to_thread(read_server_state, self.cluster.url, grace_ms=OFFLINE_GRACE_S * 1000)
        verdict = check(client_ops, server)
        return build_report(students=options.students, verdict=verdict, faults=self.faults, seed=options.seed,
                            duration_s=options.duration_s, instances=options.instances, unsafe=options.unsafe)

    def _create_database(self) -> list[Account]:
        """The database with the chaos test and an account per student. The accounts are made here, not
        signed up through the servers: hashing hundreds of passwords would take a small machine minutes."""
        self.cluster.create()
        database = Database(self.cluster.url)
        try:
            migrations.upgrade(database)
            import_files(database, [CONTENT])
        finally:
            database.dispose()
        with psycopg.connect(self.cluster.url, autocommit=True) as admin:
            create_login_role(admin, APP_LOGIN_ROLE, database.app_role)
        return make_accounts(self.cluster.url, self.secret_key, self.options.students,
                             email=student_email, password=PASSWORD)

    async def _start_servers(self) -> None:
        self.db_proxy = FaultProxy(self.cluster.port, name="database")
        await self.db_proxy.start()
        app_url = f"postgresql://{APP_LOGIN_ROLE}@127.0.0.1:{self.db_proxy.port}/examsync"
        env = {
            "EXAMSYNC_DATABASE_URL": app_url,
            "EXAMSYNC_SECRET_KEY": self.secret_key,
            "EXAMSYNC_DATA_DIR": str(self.root / "app"),
            "EXAMSYNC_OPS_PER_SECOND": "0",
            # Every simulated student connects from 127.0.0.1: one address, a whole class (they log in
            # again when a token is refused).
            "EXAMSYNC_LOGIN_FAILURES_PER_ADDRESS": "0",
            "EXAMSYNC_LOG_LEVEL": "warning",
            "EXAMSYNC_LOAD_SAMPLE_CONTENT": "false",
            "EXAMSYNC_OFFLINE_GRACE_SECONDS": str(OFFLINE_GRACE_S),
            "EXAMSYNC_POOL_SIZE": "5",
            "EXAMSYNC_UNSAFE_ASYNC_COMMIT": "true" if self.options.unsafe else "false",
        }
        if self.options.instances > 1:
            env["EXAMSYNC_BROKER_URL"] = app_url
        for index in range(self.options.instances):
            server = AppServer(index, env, self.root / f"app-{index}.log")
            proxy = FaultProxy(server.port, name=f"clients-{index}")
            await proxy.start()
            self.servers.append(server)
            self.client_proxies.append(proxy)
        await asyncio.gather(*(server.start() for server in self.servers))

    async def _start_students(self, accounts: list[Account]) -> None:
        proxy_ports = [proxy.port for proxy in self.client_proxies]
        plans = class_plan(self.options, [account.token for account in accounts], proxy_ports, self.root)
        for number, students in enumerate(plans):
            self.students += students
            plan_path = self.root / f"students-{number}.json"
            plan_path.write_text(json.dumps({"content": str(CONTENT), "test_slug": TEST_SLUG, "students": students}))
            process = StudentProcess(number, plan_path, self.root / f"students-{number}.log")
            self.processes.append(process)
            await process.start(self._on_ack)
        self.students.sort(key=lambda spec: spec["index"])

    async def _warm_up(self) -> None:
        """Faults start once every student has started a session and been acknowledged once."""
        allowed_s = WARM_UP_BASE_S + WARM_UP_PER_STUDENT_S * len(self.students)
        give_up_at = time.monotonic() + allowed_s
        while len(self.begun) < len(self.students):
            if time.monotonic() > give_up_at:
                raise RunError(f"only {len(self.begun)} of {len(self.students)} students began within {allowed_s:g} s "
                               f"(logs in {self.root} are removed at exit; run with fewer students)")
            self.progress.update(f"warming up: {len(self.begun)} of {len(self.students)} students have begun")
            await asyncio.sleep(0.2)
        (self.root / "go").touch()
        self.progress.say(f"all {len(self.students)} students have begun; faults start now")
        self.acks.clear()  # recovery is measured on the clock of the fault phase

    def _on_ack(self, process: int, student: int, instance: int, count: int, at_wall_s: float | None = None) -> None:
        self.acknowledged += count
        self.begun.add(student)
        at_s = self.elapsed() if at_wall_s is None else at_wall_s - self.started_wall
        self.acks.append(Ack(at_s, process, instance, count))

    async def _report_progress(self) -> None:
        every = 0.5 if self.progress.in_place else self.progress.every_s
        while True:
            self.progress.update(self._status())
            await asyncio.sleep(every)

    def _status(self) -> str:
        now = self.elapsed()
        rate = sum(a.count for a in self.acks if a.at_s > now - RATE_WINDOW_S) / RATE_WINDOW_S
        return (f"[{now:6.1f}s of {self.options.duration_s:g}s] ops acknowledged {self.acknowledged} "
                f"({rate:.0f}/s now), faults {len(self.faults)}")

    # ----- faults -------------------------------------------------------------------

    async def _inflict_faults(self) -> None:
        plan = FaultPlan(self.options.seed, self.options.kinds, instances=self.options.instances,
                         student_processes=len(self.processes), unsafe=self.options.unsafe)
        struck: set[str] = set()
        for fault in plan:
            for process in self.processes:
                if (failure := process.failure()) is not None:
                    raise RunError(failure)
            pause = plan.pause_s()
            # The run lasts its duration, and longer if needed until every kind of fault has struck once.
            if self.elapsed() + pause >= self.options.duration_s and struck >= set(self.options.kinds):
                await asyncio.sleep(max(0.0, self.options.duration_s - self.elapsed()))
                return
            await asyncio.sleep(pause)
            fault.started_s = self.elapsed()
            self.faults.append(fault)
            struck.add(fault.kind)
            self.progress.say(f"[{fault.started_s:6.1f}s] {fault.describe()}")
            await self._inflict(fault)
            fault.ended_s = self.elapsed()

    async def _inflict(self, fault: Fault) -> None:
        kind, target, params = fault.kind, fault.target, fault.params
        if kind in (faults.APP_KILL, faults.APP_RESTART):
            server = self.servers[target or 0]
            await server.stop(signal.SIGKILL if kind == faults.APP_KILL else signal.SIGTERM)
            await server.start()
        elif kind == faults.PG_RESTART_FAST:
            await asyncio.to_thread(self.cluster.restart, "fast")
        elif kind == faults.PG_RESTART_IMMEDIATE:
            await asyncio.to_thread(self.cluster.restart, "immediate")
        elif kind == faults.PG_KILL:
            await asyncio.to_thread(self.cluster.kill_postmaster, with_backends=params["with_backends"])
            await asyncio.to_thread(self.cluster.start)
        elif kind == faults.CUT_CLIENTS:
            for proxy in self.client_proxies:
                proxy.cut()
        elif kind == faults.DELAY:
            proxy = self.client_proxies[target or 0]
            proxy.delay(params["delay_s"])
            await asyncio.sleep(params["for_s"])
            proxy.delay(0)
        elif kind == faults.BLACKHOLE:
            proxy = self.client_proxies[target or 0]
            proxy.blackhole(True)
            await asyncio.sleep(params["for_s"])
            proxy.blackhole(False)
        elif kind == faults.CUT_DB:
            assert self.db_proxy is not None
            until = time.monotonic() + params["for_s"]
            while time.monotonic() < until:
                self.db_proxy.cut()
                await asyncio.sleep(params["every_s"])
        elif kind == faults.KILL_STUDENTS:
            process = self.processes[target or 0]
            await process.stop(signal.SIGKILL)
            await asyncio.sleep(params["down_s"])
            await process.start(self._on_ack)
            # The fault ends when the student's device is back, ready to send: how long an interpreter takes
            # to start on a busy machine is no part of examsync's recovery.
            await process.until_ready()

    # ----- the end ------------------------------------------------------------------

    async def _drain(self) -> list[ClientOp]:
        """Sync every queue until it is empty or the drain time is up; return every op with its last answer."""
        give_up_at = time.monotonic() + self.options.drain_s
        results = await asyncio.gather(*(self._drain_one(spec, give_up_at) for spec in self.students))
        return [op for ops in results for op in ops]

    async def _drain_one(self, spec: dict[str, Any], give_up_at: float) -> list[ClientOp]:
        async with Client(spec["base_url"], spec["queue"], clock=skewed_clock(spec["skew_ms"]),
                          timeout=10.0, retry_base=0.1, retry_max=1.0) as client:
            while client.pending_count() and (left := give_up_at - time.monotonic()) > 0:
                report = await client.sync(deadline=left)
                if report.applied + report.duplicate + report.superseded:
                    self._on_ack(spec["process"], spec["index"], spec["instance"],
                                 report.applied + report.duplicate + report.superseded)
            return [ClientOp(r.op_id, r.session_id, r.op, r.state, r.seq) for r in client.receipts()]

    # ----- cleanup ------------------------------------------------------------------

    async def shut_down(self) -> None:
        """Stop every process and proxy while the event loop still runs (remove_everything is the backstop)."""
        for process in self.processes:
            await process.stop(signal.SIGKILL)
        for server in self.servers:
            await server.stop(signal.SIGKILL)
        for proxy in [*self.client_proxies, *([self.db_proxy] if self.db_proxy else [])]:
            await proxy.close()

    def remove_everything(self) -> None:
        """Kill every process this run started and delete its files. Safe to call at any point, and twice."""
        for process in self.processes:
            process.kill_now()
        for server in self.servers:
            server.kill_now()
        self.cluster.stop()
        shutil.rmtree(self.root, ignore_errors=True)
