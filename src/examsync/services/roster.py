"""An assignment's proctor roster: one row per enrolled student, as the database holds it now.

The rows here carry what the database knows (the student, their latest attempt, its progress, clock and log);
who is connected right now, the offline queue a device reported and when the student was last seen are known
only to the live layer, which adds them (live/roster.py, `RosterFeed.with_presence`).
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from examsync.domain.session import TestSession
from examsync.services.assignments import staffed_assignment
from examsync.services.sessions import SessionService
from examsync.store import roster as store
from examsync.store.database import Actor, Database
from examsync.store.sessions import from_rows


@dataclass(frozen=True)
class Watched:
    """What the live feed needs to know about an assignment to tell which changes touch its roster."""

    assignment_id: str
    class_id: str
    test_id: str
    user_ids: frozenset[str]


LOG_SUMMARIES_KEPT = 200_000
CLOCKS_KEPT = 20_000
_NOTHING_COUNTED: tuple[int, int | None, int] = (0, None, 0)


class Clock:
    """A session kept to read its clocks, brought up to now only once something in it can have come due."""

    def __init__(self, session: TestSession) -> None:
        self.session = session
        self.due_at = session.next_due_ms()

    def at(self, now: int) -> TestSession:
        if self.due_at is not None and now >= self.due_at:
            self.session.expire_due(now)
            self.due_at = self.session.next_due_ms()
        return self.session


@dataclass
class RosterService:
    db: Database
    sessions: SessionService
    # session_id -> (last seq counted, last op at, late or rejected ops): see `_log_summaries`.
    _logs: dict[str, tuple[int, int | None, int]] = field(default_factory=dict)
    # session_id -> (its row's values, the session read from them): see `_clocks_of`.
    _clocks: dict[str, tuple[tuple[Any, ...], Clock]] = field(default_factory=dict)
    # The kept sessions are brought up to now (`expire_due`) as rows are made: one thread at a time.
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def watched(self, actor: Actor, assignment_id: str) -> Watched:
        """The assignment as the actor may watch it: 403 for a student, 404 unless the actor runs its class."""
        with self.db.transaction(actor, write=False) as connection:
            assignment = staffed_assignment(connection, actor, assignment_id, "proctor an assignment")
            user_ids = store.student_ids(connection, assignment["class_id"])
        return Watched(assignment_id, assignment["class_id"], assignment["test_id"], frozenset(user_ids))

    def rows(self, actor: Actor, assignment_id: str, user_ids: Collection[str] | None = None) -> list[dict[str, Any]]:
        """The roster's rows (only those of `user_ids` if given), in display-name order, without presence."""
        now = self.sessions.clock()
        with self.db.transaction(actor, write=False) as connection:
            assignment = staffed_assignment(connection, actor, assignment_id, "proctor an assignment")
            assigned = self.sessions.content.get(connection, assignment["test_id"])
            total = assigned.question_count if assigned is not None else 0
            people = store.students(connection, assignment["class_id"], user_ids)
            attempts = store.latest_attempts(connection, assignment_id, user_ids)
            logs = self._log_summaries(connection, attempts.values())
            with self._lock:
                clocks = self._clocks_of(connection, attempts)
                return [_row(person, attempts.get(person["user_id"]), clocks, logs, now, total) for person in people]

    def _clocks_of(self, connection: Any, attempts: dict[str, Any]) -> dict[str, Clock]:
        """Each attempt as a session to read the clocks of (no answers), kept while its row stays the same.

        Every write to a session's sections also writes its row (`store.sessions.save`), changing at least its
        `last_activity_at`, `version` or `last_seq`; so a row read again unchanged means sections unchanged, and
        only the sessions whose row changed have their sections read.
        """
        kept = self._clocks
        clocks, stale = {}, {}
        for row in attempts.values():
            key = tuple(row.values())
            known = kept.get(row["id"])
            if known is not None and known[0] == key:
                clocks[row["id"]] = known[1]
            else:
                stale[row["id"]] = (key, row)
        if len(kept) + len(stale) > CLOCKS_KEPT:
            kept.clear()
        for session_id, sections in store.section_rows(connection, list(stale)).items():
            key, row = stale[session_id]
            test = self.sessions.content.get(connection, row["test_id"], row["content_version"])
            if test is not None:
                clocks[session_id] = Clock(from_rows(row, sections, test, self.sessions.rules))
                kept[session_id] = (key, clocks[session_id])
        return clocks

    def _log_summaries(self, connection: Any, attempts: Collection[Any]) -> dict[str, tuple[int | None, int]]:
        """Each session's last op time and late-or-rejected count: counted once per log entry, then remembered.

        A log only grows, so only its entries past the last one counted are read (up to the `last_seq` the
        session's row has, read in the same transaction). Two readers counting the same entries at once write
        the same sum.
        """
        known = self._logs
        spans = {}
        for row in attempts:
            counted = known.get(row["id"], _NOTHING_COUNTED)[0]
            if counted < row["last_seq"]:
                spans[row["id"]] = (counted, row["last_seq"])
        fresh = store.log_summary(connection, spans)
        if len(known) + len(spans) > LOG_SUMMARIES_KEPT:
            known.clear()  # rebuilt as rosters are read again
        for session_id, (counted, upto) in spans.items():
            _, last_op_at, late_or_rejected = known.get(session_id, _NOTHING_COUNTED)
            new_last, new_count = fresh.get(session_id, (None, 0))
            known[session_id] = (upto, max((t for t in (last_op_at, new_last) if t is not None), default=None),
                                 late_or_rejected + new_count)
        return {row["id"]: known.get(row["id"], _NOTHING_COUNTED)[1:] for row in attempts}


def _row(person: Any, stored: Any, clocks: dict[str, Clock], logs: dict[str, tuple[int | None, int]],
         now: int, total: int) -> dict[str, Any]:
    row: dict[str, Any] = {"user_id": person["user_id"], "display_name": person["display_name"],
                           "email": person["email"]}
    clock = clocks.get(stored["id"]) if stored is not None else None
    if clock is None:
        return {**row, "session_id": None, "status": "not_started", "answered": 0, "total": total, "flagged": 0,
                "section": None, "time_remaining_ms": None, "last_op_at": None, "late_or_rejected_ops": 0,
                "last_activity_at": None}
    # The session holds no answers: its counts are the row's.
    # Shown as it stands now: what ran out is recorded by the sweep or the student's next request.
    session = clock.at(now)
    current = session.current_section if session.status == "active" else None
    last_op_at, late_or_rejected = logs.get(session.id, (None, 0))
    status = session.status if session.status != "active" else (
        "paused" if session.paused else "active")
    return {
        **row,
        "session_id": session.id,
        "status": status if status in ("active", "paused") else "completed",
        "answered": stored["answered_count"],
        "total": session.test.question_count,
        "flagged": stored["flagged_count"],
        "section": current.title if current is not None else None,
        "time_remaining_ms": session.remaining_ms(current.id, now) if current is not None else None,
        "last_op_at": last_op_at,
        "late_or_rejected_ops": late_or_rejected,
        "last_activity_at": session.last_activity_at,
    }
