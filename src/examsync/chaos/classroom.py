"""The class of a chaos run: the run's options, who the students are and how they are spread over OS processes and
servers (`class_plan`), and the processes that run them (`StudentProcess`, each `examsync.chaos.student`)."""

from __future__ import annotations

import asyncio
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from examsync.chaos import faults
from examsync.serverproc import kill_process_group

STUDENTS_PER_PROCESS = 5
# Every student process is a Python interpreter of its own; past a few, on a small machine they would
# take the CPU the servers under test need. Larger runs put more students in each.
MAX_STUDENT_PROCESSES = 8
MAX_SKEW_MS = 120_000
PASSWORD = "chaos student password"
# Up to this many students act at full pace; a larger class keeps the same total pace (each student
# pauses longer), so the servers face the same load and the faults, not an overload, are what is tested.
FULL_PACE_STUDENTS = 60
READY_TIMEOUT_S = 60.0


def student_email(index: int) -> str:
    return f"chaos-student-{index}@example.org"


@dataclass(frozen=True)
class ChaosOptions:
    students: int
    duration_s: float
    seed: int
    unsafe: bool = False
    instances: int = 1
    kinds: tuple[str, ...] = faults.KINDS
    drain_s: float = 60.0


def class_plan(options: ChaosOptions, tokens: list[str], proxy_ports: list[int], root: Path) -> list[list[dict[str, Any]]]:
    """Every student's part, grouped by the OS process that will run it."""
    count = max(1, min(MAX_STUDENT_PROCESSES, math.ceil(options.students / STUDENTS_PER_PROCESS)))
    plans: list[list[dict[str, Any]]] = [[] for _ in range(count)]
    pace = min(1.0, FULL_PACE_STUDENTS / options.students)
    for index in range(options.students):
        instance = index % options.instances
        # A third of the students have a clock that is off by up to two minutes either way.
        skew = 0 if index % 3 else (((index * 7919 + options.seed) % (2 * MAX_SKEW_MS + 1)) - MAX_SKEW_MS)
        plans[index % count].append({
            "index": index, "process": index % count, "instance": instance, "seed": options.seed * 1_000_003 + index,
            "pace": pace, "go_file": str(root / "go"), "token": tokens[index],
            "email": student_email(index), "password": PASSWORD, "skew_ms": skew,
            "base_url": f"http://127.0.0.1:{proxy_ports[instance]}",
            "queue": str(root / f"student-{index}.db"), "bookmark": str(root / f"student-{index}.json"),
        })
    return plans


class StudentProcess:
    def __init__(self, index: int, plan_path: Path, log_path: Path) -> None:
        self.index = index
        self.plan_path = plan_path
        self.log_path = log_path
        self.process: asyncio.subprocess.Process | None = None
        self.reader: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()

    async def start(self, on_ack: Any) -> None:
        self.ready.clear()
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "examsync.chaos.student", str(self.plan_path),
                stdout=asyncio.subprocess.PIPE, stderr=log, start_new_session=True,
            )
        self.reader = asyncio.ensure_future(self._read(self.process, on_ack))

    async def until_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Wait until the process has its students loaded and is about to send (or has ended, or the time is up)."""
        assert self.reader is not None
        ready = asyncio.ensure_future(self.ready.wait())
        await asyncio.wait({ready, self.reader}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()

    async def _read(self, process: asyncio.subprocess.Process, on_ack: Any) -> None:
        assert process.stdout is not None
        while line := await process.stdout.readline():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("ready"):
                self.ready.set()
            else:
                on_ack(self.index, event["student"], event["instance"], event["acked"], event["at"])

    def failure(self) -> str | None:
        """Why the process ended on its own (it only ever should when told to), or None while it runs."""
        if self.process is None or self.process.returncode is None:
            return None
        try:
            log = self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            log = ""
        return f"student process {self.index} exited with status {self.process.returncode}:\n{log}"

    async def stop(self, sig: int) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.returncode is None:
            process.send_signal(sig)
        try:
            await asyncio.wait_for(process.wait(), 15)
        except asyncio.TimeoutError:
            process.kill()
            await process.wait()
        if self.reader is not None:
            await asyncio.gather(self.reader, return_exceptions=True)

    def kill_now(self) -> None:
        kill_process_group(self.process)

