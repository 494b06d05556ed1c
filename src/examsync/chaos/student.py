"""Simulated students: one OS process runs several, each an SDK `Client` with its own queue file.

Run as `python -m examsync.chaos.student PLAN.json` by the checker. A student
(its account made beforehand, its token in the plan) sits the chaos test again and again, and in each section answers,
changes answers, clears, flags, eliminates, notes and navigates with short
pauses, then submits the section: early, or riding the bell (acting from a few
seconds before to a few seconds after the section's deadline). Some students'
clocks are skewed. Everything a student does is an op in its queue file, so a
process killed with SIGKILL and started again on the same plan carries on
where it stopped: the queue keeps the ops and the token, and a small bookmark
file keeps the session and section it was in.

Once its students are loaded and their queue files open the process prints
`{"ready": true}`; after that, for each batch of ops acknowledged, a JSON line
`{"student": i, "instance": k, "acked": n, "at": t}`, `t` being when the
server's answer arrived (seconds since the epoch, on the true clock), for the
checker's recovery times. SIGTERM stops it without draining the queues: the
checker drains them itself.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from examsync.chaos.checker import ACKNOWLEDGED_STATES
from examsync.client import Client
from examsync.client.errors import AuthenticationError, NetworkError, RateLimitedError, ServerError
from examsync.client.models import Receipt
from examsync.content_import import parse_document

PAUSE_S = (0.03, 0.3)
BELL_WINDOW_S = 3.0
RETRY_S = 0.5


@dataclass(frozen=True)
class Section:
    id: str
    limit_s: float
    questions: tuple[dict[str, Any], ...]


def load_test(content_path: Path, slug: str) -> tuple[str, tuple[Section, ...]]:
    _, tests = parse_document(content_path, yaml.safe_load(content_path.read_text()), set())
    test = next(t for t in tests if t["slug"] == slug)
    return test["id"], tuple(
        Section(s["id"], float(s["time_limit_seconds"]), tuple(s["questions"])) for s in test["sections"]
    )


def wall_s() -> float:
    return time.time()


def skewed_clock(skew_ms: int) -> Callable[[], int]:
    """A device clock that is `skew_ms` off the true time."""
    return lambda: time.time_ns() // 1_000_000 + skew_ms


class Bookmark:
    """Where a student is, kept in a small file so a restarted process carries on (written atomically)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}

    def save(self, **changes: Any) -> None:
        self.data.update(changes)
        scratch = self.path.with_suffix(".tmp")
        scratch.write_text(json.dumps(self.data))
        os.replace(scratch, self.path)


class Student:
    def __init__(self, spec: dict[str, Any], test_id: str, sections: tuple[Section, ...], stop: asyncio.Event) -> None:
        self.spec = spec
        self.index = spec["index"]
        self.test_id = test_id
        self.sections = sections
        self.stop = stop
        self.rng = random.Random(spec["seed"])
        self.bookmark = Bookmark(Path(spec["bookmark"]))
        self.client = Client(spec["base_url"], spec["queue"], clock=skewed_clock(spec["skew_ms"]),
                             timeout=10.0, retry_base=0.05, retry_max=1.0)
        if self.client.token is None:  # a restarted process keeps the token its queue file holds
            self.client.token = spec["token"]
        self.pause_s = (PAUSE_S[0] / spec["pace"], PAUSE_S[1] / spec["pace"])
        self._syncing: asyncio.Future[None] | None = None

    async def run(self) -> None:
        try:
            syncing = self._syncing = asyncio.ensure_future(self._sync_forever())
            try:
                while not self.stop.is_set():
                    await self._sit()
            finally:
                syncing.cancel()
                await asyncio.gather(syncing, return_exceptions=True)
        except _Stopped:
            pass
        finally:
            await self.client.aclose()

    async def _until_stopped(self, work: Any) -> Any:
        """Retry a call answered at once until it succeeds; network trouble is expected here."""
        while True:
            if self.stop.is_set():
                raise _Stopped
            try:
                return await work()
            except (NetworkError, ServerError, AuthenticationError):
                await self._pause(RETRY_S)
            except RateLimitedError as error:
                await self._pause(max(RETRY_S, error.retry_after or 0))

    async def _sit(self) -> None:
        """One sitting of the test, from the section the bookmark names."""
        if self.bookmark.data.get("session_id") is None:
            state = await self._until_stopped(lambda: self.client.start_session(self.test_id))
            deadline = state.sections[0].deadline
            self.bookmark.save(session_id=state.id, section=0,
                               deadline=deadline / 1000 if deadline else wall_s() + self.sections[0].limit_s)
        session_id = self.bookmark.data["session_id"]
        while (index := self.bookmark.data["section"]) < len(self.sections):
            section = self.sections[index]
            if index > 0 and self.bookmark.data.get("deadline") is None:
                # The section's clock starts with the first op that touches it.
                await self.client.navigate(session_id, section.questions[0]["id"])
                self.bookmark.save(deadline=wall_s() + section.limit_s)
            await self._work_in(session_id, section, self.bookmark.data["deadline"])
            await self.client.submit_section(session_id, section.id)
            self.bookmark.save(section=index + 1, deadline=None)
        await self.client.complete(session_id)
        # A new sitting may start only once the server has this one completed, or it would resume it.
        while self.client.pending_count(session_id):
            await self._pause(0.1)
        self.bookmark.save(session_id=None, sittings=self.bookmark.data.get("sittings", 0) + 1)

    async def _work_in(self, session_id: str, section: Section, deadline_s: float) -> None:
        if self.rng.random() < 0.35:
            until = deadline_s + self.rng.uniform(-BELL_WINDOW_S, BELL_WINDOW_S)
        else:
            until = min(wall_s() + self.rng.uniform(1.0, section.limit_s), deadline_s - 1.0)
        while wall_s() < until:
            await self._act(session_id, section)
            await self._wait_for_the_class()
            await self._pause(self.rng.uniform(*self.pause_s))

    async def _wait_for_the_class(self) -> None:
        """After its first op a student waits until the whole class has begun, so faults strike a class
        that is all at work."""
        go = Path(self.spec["go_file"])
        while not go.exists():
            await self._pause(0.2)

    async def _act(self, session_id: str, section: Section) -> None:
        question = self.rng.choice(section.questions)
        qid = question["id"]
        choices = [c["id"] for c in question.get("choices", [])]
        roll = self.rng.random()
        if roll < 0.45:
            await self.client.answer(session_id, qid, self._answer(question, choices))
        elif roll < 0.50:
            await self.client.answer(session_id, qid, None)
        elif roll < 0.70:
            await self.client.navigate(session_id, qid)
        elif roll < 0.80:
            await (self.client.flag if self.rng.random() < 0.6 else self.client.unflag)(session_id, qid)
        elif roll < 0.90:
            await self.client.note(session_id, qid, self.rng.choice(["", "check again", "unsure", "guessed ✓"]))
        elif choices:
            method = self.client.eliminate if self.rng.random() < 0.7 else self.client.uneliminate
            await method(session_id, qid, self.rng.choice(choices))
        else:
            await self.client.navigate(session_id, qid)

    def _answer(self, question: dict[str, Any], choices: list[str]) -> Any:
        if question["kind"] == "single_choice":
            return self.rng.choice(choices)
        if question["kind"] == "multiple_choice":
            return self.rng.sample(choices, self.rng.randint(1, len(choices)))
        return self.rng.choice([str(self.rng.randint(0, 60)), " 12 ", "3,5", ""])

    async def _sync_forever(self) -> None:
        while True:
            if not self.client.pending_count():
                await asyncio.sleep(0.05)
                continue
            try:
                report = await self.client.sync(deadline=1.0)
            except AuthenticationError:
                await self._until_stopped(lambda: self.client.sign_in(self.spec["email"], self.spec["password"]))
                continue
            for at_s, acked in acknowledged_batches(report.receipts, self.spec["skew_ms"]):
                print(json.dumps({"student": self.index, "instance": self.spec["instance"], "acked": acked,
                                  "at": at_s}), flush=True)

    async def _pause(self, seconds: float) -> None:
        # A student whose syncing broke must fail loudly, not go on queueing ops nobody sends.
        if self._syncing is not None and self._syncing.done() and not self._syncing.cancelled():
            failure = self._syncing.exception()
            if failure is not None and not isinstance(failure, _Stopped):
                raise failure
        try:
            await asyncio.wait_for(self.stop.wait(), seconds)
        except asyncio.TimeoutError:
            return
        raise _Stopped


def acknowledged_batches(receipts: Iterable[Receipt], skew_ms: int) -> list[tuple[float, int]]:
    """When each batch of acknowledged ops was answered (true seconds since the epoch), and how many it held.

    A sync may send many batches before it returns; each batch's ops share the moment they were settled,
    on the device's skewed clock.
    """
    counts = Counter(r.settled_at for r in receipts if r.state in ACKNOWLEDGED_STATES and r.settled_at is not None)
    return [((settled_at - skew_ms) / 1000, count) for settled_at, count in sorted(counts.items())]


class _Stopped(Exception):
    """The checker asked the process to stop."""


async def run_students(plan: dict[str, Any]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    test_id, sections = load_test(Path(plan["content"]), plan["test_slug"])
    students = [Student(spec, test_id, sections, stop) for spec in plan["students"]]
    print(json.dumps({"ready": True}), flush=True)
    await asyncio.gather(*(student.run() for student in students))


def main() -> None:
    plan = json.loads(Path(sys.argv[1]).read_text())
    asyncio.run(run_students(plan))


if __name__ == "__main__":
    main()
