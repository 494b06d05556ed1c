"""An assignment's proctor roster: one row per enrolled student, as the database holds it now.

The rows here carry what the database knows (the student, their latest attempt, its progress, clock and log);
who is connected right now, the offline queue a device reported and when the student was last seen are known
only to the live layer, which adds them (live/roster.py, `RosterFeed.with_presence`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from examsync.domain.errors import ForbiddenError, NotFoundError
from examsync.domain.session import TestSession
from examsync.services.sessions import SessionService
from examsync.store import classes, roster as store
from examsync.store.database import Actor, Database
from examsync.store.sessions import from_rows


@dataclass(frozen=True)
class Watched:
    """What the live feed needs to know about an assignment to tell which changes touch its roster."""

    assignment_id: str
    class_id: str
    test_id: str
    user_ids: frozenset[str]


@dataclass
class RosterService:
    db: Database
    sessions: SessionService

    def watched(self, actor: Actor, assignment_id: str) -> Watched:
        """The assignment as the actor may watch it: 403 for a student, 404 unless the actor runs its class."""
        with self.db.transaction(actor, write=False) as connection:
            assignment = self._assignment(connection, actor, assignment_id)
            user_ids = store.student_ids(connection, assignment["class_id"])
        return Watched(assignment_id, assignment["class_id"], assignment["test_id"], frozenset(user_ids))

    def rows(self, actor: Actor, assignment_id: str, user_ids: Collection[str] | None = None) -> list[dict[str, Any]]:
        """The roster's rows (only those of `user_ids` if given), in display-name order, without presence."""
        now = self.sessions.clock()
        with self.db.transaction(actor, write=False) as connection:
            assignment = self._assignment(connection, actor, assignment_id)
            assigned = self.sessions.content.get(connection, assignment["test_id"])
            total = assigned.question_count if assigned is not None else 0
            people = store.students(connection, assignment["class_id"], user_ids)
            attempts = store.latest_attempts(connection, assignment_id, [p["user_id"] for p in people])
            session_ids = [row["id"] for row in attempts.values()]
            sections = store.section_rows(connection, session_ids)
            logs = store.log_summary(connection, session_ids)
            loaded = {}
            for user_id, row in attempts.items():
                test = self.sessions.content.get(connection, row["test_id"], row["content_version"])
                if test is not None:
                    loaded[user_id] = from_rows(row, sections[row["id"]], test, self.sessions.rules)
        return [_row(person, loaded.get(person["user_id"]), logs, now, total) for person in people]

    def _assignment(self, connection: Any, actor: Actor, assignment_id: str) -> Any:
        if not actor.is_staff:
            raise ForbiddenError("only teachers and admins can proctor an assignment")
        assignment = classes.assignment_row(connection, actor, assignment_id)
        if not classes.is_staff_of(actor, classes.class_row(connection, actor, assignment["class_id"])):
            raise NotFoundError("no such assignment")
        return assignment


def _row(person: Any, session: TestSession | None, logs: dict[str, tuple[int | None, int]], now: int,
         total: int) -> dict[str, Any]:
    row: dict[str, Any] = {"user_id": person["user_id"], "display_name": person["display_name"],
                           "email": person["email"]}
    if session is None:
        return {**row, "session_id": None, "status": "not_started", "answered": 0, "total": total, "flagged": 0,
                "section": None, "time_remaining_ms": None, "last_op_at": None, "late_or_rejected_ops": 0,
                "last_activity_at": None}
    # Shown as it stands now: what ran out is recorded by the sweep or the student's next request.
    session.expire_due(now)
    current = session.current_section if session.status == "active" else None
    last_op_at, late_or_rejected = logs.get(session.id, (None, 0))
    status = session.status if session.status != "active" else (
        "paused" if getattr(session, "paused", False) else "active")
    return {
        **row,
        "session_id": session.id,
        "status": status if status in ("active", "paused") else "completed",
        "answered": session.answered_count,
        "total": session.test.question_count,
        "flagged": session.flagged_count,
        "section": current.title if current is not None else None,
        "time_remaining_ms": session.remaining_ms(current.id, now) if current is not None else None,
        "last_op_at": last_op_at,
        "late_or_rejected_ops": late_or_rejected,
        "last_activity_at": session.last_activity_at,
    }
