"""The session store in memory: `store/repository.py`'s seam over dicts, for running the session use cases without
a database (the services' unit tests).

It keeps the SQL store's promises, which `tests/store/` checks on both: the same rows (built by the same functions
of `store/sessions.py`, and copied through JSON as a JSON column would, so nothing the domain holds aliases what is
stored), exactly-once receipts, the log ordered by seq with its hash chain as the domain computed it, the same
scoping rule as `store/classes.py` (an admin sees all; a teacher, their students' sessions of the tests assigned to
their classes; a student, their own; a disabled account, none of its own). One lock stands for SQLite's single
writer; a write job that fails leaves everything as it was before it ran.

What it holds is only what sessions need: accounts (role, time allowance, disabled), tests and their sub-skills,
classes as their owner, students and assigned tests, and assignments' terms (window, attempts, time) with each
student's override.

Over 300 lines because it is the whole of `SessionRepository` in one place, as `sql_sessions.py` is on SQL: read
side by side, the two show that they keep the same rule.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from examsync.domain.assignments import AssignmentSettings
from examsync.domain.content import Test
from examsync.domain.errors import AccountDisabledError, NotFoundError
from examsync.domain.events import SessionChange
from examsync.domain.session import LogEntry, Rules, TestSession
from examsync.domain.timing import TimeAllowance
from examsync.store.database import Actor
from examsync.store.group_commit import BatchStats
from examsync.store.repository import UnitOfWork
from examsync.store.sessions import entry_from_row, from_rows, log_rows, section_row, session_values

T = TypeVar("T")

SEES_ALL = ("admin", "system")


def _stored(value: Any) -> Any:
    """What a JSON column gives back: a copy, with tuples as lists."""
    return json.loads(json.dumps(value))


@dataclass
class MemoryData:
    """The tables, as dicts keyed by their primary keys."""

    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    tests: dict[str, Test] = field(default_factory=dict)
    test_rows: dict[str, dict[str, Any]] = field(default_factory=dict)  # title, self_study, mode, sub_skill_slug
    sub_skills: dict[str, dict[str, str]] = field(default_factory=dict)
    classes: dict[str, dict[str, Any]] = field(default_factory=dict)  # owner_id, students, test_ids
    assignments: dict[str, dict[str, Any]] = field(default_factory=dict)  # class_id, test_id, settings
    overrides: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (assignment, student) -> changes
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    sections: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # session id -> section id -> row
    log: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # session id -> rows by seq
    performance: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    # What a write job can change, copied before it runs and put back if it fails.
    WRITTEN = ("users", "sessions", "sections", "log", "performance")


class MemorySessionRepository:
    def __init__(self, data: MemoryData, *, writable: bool) -> None:
        self.data, self.writable = data, writable

    def _writing(self) -> MemoryData:
        if not self.writable:
            raise RuntimeError("a read transaction does not write")
        return self.data

    # ----- one session ---------------------------------------------------

    def row(self, actor: Actor, session_id: str, *, for_update: bool = False, owner_only: bool = False) -> Any:
        scope = None if actor.is_staff and not owner_only else actor.user_id
        stored = self.data.sessions.get(session_id)
        if stored is None:
            raise NotFoundError("no such session")
        owner = self.data.users[stored["user_id"]]
        if scope is not None and (stored["user_id"] != scope or owner["disabled"]):
            raise NotFoundError("no such session")
        if not self._sees_session(actor, stored):
            raise NotFoundError("no such session")
        return {**_stored(stored), "user_time_multiplier": owner["time_multiplier"],
                "user_extra_seconds": owner["extra_seconds"], "content_version": 1, "close_grace_ms": 0}

    def load(self, actor: Actor, session_id: str, rules: Rules, *, for_update: bool = False,
             owner_only: bool = False) -> TestSession:
        row = self.row(actor, session_id, for_update=for_update, owner_only=owner_only)
        test = self.test(row["test_id"])
        if test is None:
            raise NotFoundError(f"no test with id {row['test_id']!r}")
        return from_rows(row, _stored(list(self.data.sections[session_id].values())), test, rules)

    def create(self, session: TestSession) -> None:
        data = self._writing()
        if session.id in data.sessions:
            raise ValueError(f"session {session.id} exists already")
        data.sessions[session.id] = _stored({
            "id": session.id, "user_id": session.user_id, "test_id": session.test.id,
            "started_at": session.started_at, "assignment_id": session.assignment_id, **session_values(session)})
        data.sections[session.id] = {
            sid: _stored({"session_id": session.id, "section_id": sid, "user_id": session.user_id,
                          **section_row(session, sid)})
            for sid in session.sections
        }
        data.log[session.id] = []
        self._append_log(session, None)

    def save(self, session: TestSession, *, changed_sections: Iterable[str],
             fingerprints: dict[str, str] | None = None) -> list[LogEntry]:
        data = self._writing()
        stored = data.sessions.get(session.id)
        if stored is not None and stored["user_id"] == session.user_id:  # as the UPDATE's WHERE
            stored.update(_stored(session_values(session)))
            for section_id in set(changed_sections):
                data.sections[session.id][section_id].update(_stored(section_row(session, section_id)))
        return self._append_log(session, fingerprints)

    def _append_log(self, session: TestSession, fingerprints: dict[str, str] | None) -> list[LogEntry]:
        entries = list(session.log)
        log = self.data.log[session.id]
        taken_seqs = {row["seq"] for row in log}
        taken_op_ids = {row["op_id"] for row in log if row["op_id"] is not None}
        for row in log_rows(session, entries, fingerprints):
            # The log's keys, as the SQL table's: (session, seq) and (session, op_id) are each unique.
            if row["seq"] in taken_seqs or (row["op_id"] is not None and row["op_id"] in taken_op_ids):
                raise ValueError(f"session {session.id} already logged seq {row['seq']} or op {row['op_id']}")
            taken_seqs.add(row["seq"])
            if row["op_id"] is not None:
                taken_op_ids.add(row["op_id"])
            log.append(_stored(row))
        log.sort(key=lambda row: row["seq"])
        session.log.clear()
        return entries

    def receipts(self, session_id: str, user_id: str, op_ids: list[str]) -> dict[str, tuple[str, int]]:
        wanted = set(op_ids)
        return {row["op_id"]: (row["fingerprint"], row["seq"]) for row in self.data.log.get(session_id, [])
                if row["user_id"] == user_id and row["op_id"] in wanted}

    def history(self, session_id: str, user_id: str | None, after_seq: int = 0,
                limit: int | None = None) -> list[LogEntry]:
        rows = [row for row in self.data.log.get(session_id, [])
                if row["seq"] > after_seq and user_id in (None, row["user_id"])]
        return [entry_from_row(_stored(row)) for row in rows[:limit]]

    def submitted_section_ids(self, session_id: str) -> set[str]:
        return {sid for sid, row in self.data.sections.get(session_id, {}).items() if row["status"] == "submitted"}

    # ----- finding sessions ----------------------------------------------

    def active_session_id(self, user_id: str, test_id: str) -> str | None:
        return next((row["id"] for row in self.data.sessions.values() if row["user_id"] == user_id
                     and row["test_id"] == test_id and row["status"] == "active"), None)

    def ids_of_user(self, user_id: str) -> list[str]:
        rows = [row for row in self.data.sessions.values() if row["user_id"] == user_id]
        return [row["id"] for row in sorted(rows, key=lambda row: row["last_activity_at"], reverse=True)]

    def active_ids_of_user(self, actor: Actor, user_id: str) -> list[str]:
        return [row["id"] for row in self.data.sessions.values() if row["user_id"] == user_id
                and row["status"] == "active" and self._sees_session(actor, row)]

    def ids_of_test(self, actor: Actor, test_id: str, session_id: str | None = None) -> list[str]:
        rows = [row for row in self._of_test(actor, test_id)
                if (row["id"] == session_id if session_id else row["status"] == "active")]
        return [row["id"] for row in rows]

    def rows_of_test(self, actor: Actor, test_id: str) -> list[Mapping[str, Any]]:
        return [_stored(row) for row in self._of_test(actor, test_id)]

    def _of_test(self, actor: Actor, test_id: str) -> list[dict[str, Any]]:
        taught = self._taught_students(actor.user_id, test_id) if actor.role == "teacher" else None
        rows = [row for row in self.data.sessions.values()
                if row["test_id"] == test_id and (taught is None or row["user_id"] in taught)]
        return sorted(rows, key=lambda row: row["started_at"])

    def sessions_due(self, now_ms: int, grace_ms: int = 0) -> list[str]:
        by_section = [session_id for session_id, sections in self.data.sections.items()
                      if any(s["status"] == "in_progress" and s["due_at"] <= now_ms - grace_ms
                             for s in sections.values())]
        by_rule = [row["id"] for row in self.data.sessions.values()
                   if row["status"] == "active" and row["due_at"] <= now_ms]
        return list(dict.fromkeys([*by_section, *by_rule]))

    def rescued(self, session_id: str) -> Mapping[str, Any] | None:
        row = self.data.sessions.get(session_id)
        if row is None:
            return None
        owner = self.data.users[row["user_id"]]
        return {"id": row["id"], "user_id": row["user_id"], "status": row["status"], "email": owner["email"],
                "display_name": owner["display_name"], "test_title": self.data.test_rows[row["test_id"]]["title"]}

    # ----- content -------------------------------------------------------

    def test(self, test_id: str, content_version: int | None = None) -> Test | None:
        return self.data.tests.get(test_id)

    def self_study(self, test_id: str) -> bool:
        return bool(self.data.test_rows.get(test_id, {}).get("self_study"))

    def sub_skill_names(self) -> dict[str, dict[str, str]]:
        return copy.deepcopy(self.data.sub_skills)

    def drills_by_sub_skill(self) -> dict[str, list[str]]:
        drills: dict[str, list[str]] = {}
        for test_id, row in self.data.test_rows.items():
            if row["mode"] == "drill" and row["sub_skill_slug"]:
                drills.setdefault(row["sub_skill_slug"], []).append(test_id)
        return drills

    # ----- the student's account -----------------------------------------

    def user_exists(self, user_id: str) -> bool:
        user = self.data.users.get(user_id)
        if user is not None and user["disabled"]:
            raise AccountDisabledError()
        return user is not None

    def sees_student(self, actor: Actor, user_id: str) -> bool:
        if user_id not in self.data.users:
            return False
        if actor.role in SEES_ALL or user_id == actor.user_id:
            return True
        return actor.role == "teacher" and user_id in self._taught_students(actor.user_id)

    def user_allowance(self, user_id: str) -> TimeAllowance:
        user = self.data.users.get(user_id)
        if user is None:
            return TimeAllowance()
        return TimeAllowance(multiplier=user["time_multiplier"], extra_ms=user["extra_seconds"] * 1000)

    def set_user_allowance(self, user_id: str, allowance: TimeAllowance) -> None:
        user = self._writing().users.get(user_id)
        if user is not None:
            user.update(time_multiplier=allowance.multiplier, extra_seconds=allowance.extra_ms // 1000)

    def performance(self, user_id: str) -> list[Mapping[str, Any]]:
        return [dict(row) for (owner, _), row in self.data.performance.items() if owner == user_id]

    def record_performance(self, user_id: str, by_sub_skill: dict[str, dict[str, Any]], now_ms: int) -> None:
        performance = self._writing().performance
        for slug, skill in by_sub_skill.items():
            row = performance.setdefault((user_id, slug), {
                "user_id": user_id, "sub_skill_slug": slug, "attempts": 0, "correct": 0, "points": 0.0,
                "max_points": 0.0, "sessions": 0})
            for name in ("attempts", "correct", "points", "max_points"):
                row[name] += skill[name]
            row["sessions"] += 1
            row["updated_at"] = now_ms

    # ----- assignments ---------------------------------------------------

    def assignment_for_student(self, user_id: str, assignment_id: str) -> tuple[str, AssignmentSettings] | None:
        assignment = self.data.assignments.get(assignment_id)
        if assignment is None or user_id not in self.data.classes[assignment["class_id"]]["students"]:
            return None
        override = self.data.overrides.get((assignment_id, user_id))
        return assignment["test_id"], assignment["settings"].with_override(_stored(override) if override else None)

    def attempts_used(self, assignment_id: str, user_id: str) -> int:
        return sum(1 for row in self.data.sessions.values()
                   if row["assignment_id"] == assignment_id and row["user_id"] == user_id)

    # ----- the scoping rule (store/classes.py) ---------------------------

    def _sees_session(self, actor: Actor, row: Mapping[str, Any]) -> bool:
        if actor.role in SEES_ALL or row["user_id"] == actor.user_id:
            return True
        return actor.role == "teacher" and row["user_id"] in self._taught_students(actor.user_id, row["test_id"])

    def _taught_students(self, teacher_id: str, test_id: str | None = None) -> set[str]:
        return {student for group in self.data.classes.values() if group["owner_id"] == teacher_id
                and (test_id is None or test_id in group["test_ids"]) for student in group["students"]}


class MemorySessionStore:
    """The store, and what a test puts in it first: accounts, tests, sub-skills and classes."""

    def __init__(self, on_commit: Callable[[BatchStats], None] = lambda stats: None) -> None:
        self.data = MemoryData()
        self.on_commit = on_commit
        self._lock = threading.RLock()

    # ----- what sessions are taken of and by -----------------------------

    def add_user(self, user_id: str, *, role: str = "student", email: str | None = None, display_name: str = "",
                 time_multiplier: float = 1.0, extra_seconds: int = 0, disabled: bool = False) -> None:
        self.data.users[user_id] = {"id": user_id, "role": role, "email": email or f"{user_id}@example.org",
                                    "display_name": display_name, "time_multiplier": time_multiplier,
                                    "extra_seconds": extra_seconds, "disabled": disabled}

    def add_test(self, test: Test, *, title: str = "", self_study: bool = True, mode: str = "test",
                 sub_skill_slug: str | None = None) -> None:
        self.data.tests[test.id] = test
        self.data.test_rows[test.id] = {"title": title or test.id, "self_study": self_study, "mode": mode,
                                        "sub_skill_slug": sub_skill_slug}

    def add_sub_skill(self, slug: str, name: str, skill_area: str, skill_area_name: str = "") -> None:
        self.data.sub_skills[slug] = {"name": name, "skill_area": skill_area,
                                      "skill_area_name": skill_area_name or skill_area}

    def add_class(self, class_id: str, owner_id: str, students: Iterable[str], test_ids: Iterable[str]) -> None:
        """A class of `owner_id` with `students` enrolled and `test_ids` assigned to it."""
        self.data.classes[class_id] = {"owner_id": owner_id, "students": set(students), "test_ids": set(test_ids)}

    def add_assignment(self, assignment_id: str, class_id: str, test_id: str, settings: AssignmentSettings) -> None:
        """An assignment of the test to the class (which then counts it among its assigned tests)."""
        self.data.assignments[assignment_id] = {"class_id": class_id, "test_id": test_id, "settings": settings}
        self.data.classes[class_id]["test_ids"].add(test_id)

    def put_override(self, assignment_id: str, user_id: str, changes: dict[str, Any]) -> None:
        self.data.overrides[assignment_id, user_id] = _stored(changes)

    # ----- units of work -------------------------------------------------

    @contextmanager
    def reading(self, actor: Actor, now: int) -> Iterator[UnitOfWork]:
        with self._lock:
            yield UnitOfWork(MemorySessionRepository(self.data, writable=False), now)

    def submit(self, actor: Actor, work: Callable[[UnitOfWork], T], clock: Callable[[], int], *,
               ops: int = 0) -> Future[tuple[T, list[SessionChange]]]:
        future: Future[tuple[T, list[SessionChange]]] = Future()
        started = time.perf_counter()
        with self._lock:
            before = {name: copy.deepcopy(getattr(self.data, name)) for name in MemoryData.WRITTEN}
            uow = UnitOfWork(MemorySessionRepository(self.data, writable=True), clock())
            try:
                result = work(uow)
            except Exception as error:  # rolled back: nothing of the job stays
                for name, value in before.items():
                    setattr(self.data, name, value)
                future.set_exception(error)
                return future
        self.on_commit(BatchStats(1, ops, time.perf_counter() - started))
        future.set_result((result, uow.events))
        return future

    def close(self) -> None:
        pass
