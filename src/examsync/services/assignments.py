"""Assignments: which test a class sits, when, how often and with how much time; per-student overrides.

A student sees each assignment as it applies to them: its settings with their override (domain/assignments.py),
its state by the server's clock, the attempts they used and the active session to resume. Staff see the
assignment itself, its overrides and how many of its students are at work.

Changing the close time (of the assignment, or a student's) applies to attempts already running; the time
settings apply to attempts started afterwards (a running one is changed with `PUT /sessions/{id}/time`).
Deleting an assignment submits its active attempts with every acknowledged answer; all its sessions stay their
students' own, no longer attempts of it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from examsync.domain.assignments import AssignmentSettings, validate, validate_override
from examsync.domain.errors import ForbiddenError, InvalidRequestError, NotFoundError
from examsync.store.content import sees_test
from examsync.services.sessions import SessionService
from examsync.store import classes as store
from examsync.store.database import SYSTEM, Actor, Database
from examsync.store.repository import SessionRepository

SETTINGS = ("opens_at", "closes_at", "max_attempts", "time_multiplier", "extra_seconds", "on_close", "grace_seconds")


def terms_for_attempt(sessions: SessionRepository, actor: Actor, assignment_id: str,
                      test_id: str) -> AssignmentSettings:
    """The settings a student's new attempt of the assignment runs under (with their override); 404 unless the
    assignment is of a class they are in, 422 if it is of another test. The window and attempts are checked by
    the caller, after resuming any attempt still active."""
    found = sessions.assignment_for_student(actor.user_id, assignment_id)
    if found is None:
        raise NotFoundError("no such assignment")
    assigned_test_id, settings = found
    if assigned_test_id != test_id:
        raise InvalidRequestError("this assignment is of another test", field="test_id")
    return settings


@dataclass
class AssignmentService:
    db: Database
    sessions: SessionService
    clock: Callable[[], int]

    # ----- staff ---------------------------------------------------------

    def create(self, actor: Actor, class_id: str, values: dict[str, Any]) -> dict[str, Any]:
        _require_staff(actor)
        settings = validate(AssignmentSettings(**{k: values[k] for k in SETTINGS if k in values}))
        assignment_id = str(uuid.uuid4())
        with self.db.transaction(SYSTEM, write=True) as connection:
            _owned_class(connection, actor, class_id)
            # A test the teacher may not see (another teacher's, not shared with them) is one that does not exist.
            if not sees_test(connection, actor, values["test_id"]):
                raise NotFoundError(f"no test with id {values['test_id']!r}")
            store.insert_assignment(connection, {
                "id": assignment_id, "class_id": class_id, "test_id": values["test_id"], **settings.__dict__,
                "created_by": actor.user_id, "created_at": self.clock()})
        return self.get(actor, assignment_id)

    def update(self, actor: Actor, assignment_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        _require_staff(actor)
        unknown = sorted(set(changes) - set(SETTINGS))
        if unknown:
            raise InvalidRequestError(f"only {', '.join(SETTINGS)} can change", field=unknown[0])

        def change(writer: Any) -> None:
            connection = writer.transaction.writing()
            row = owned_assignment(connection, actor, assignment_id)
            settings = validate(AssignmentSettings(**{**{k: row[k] for k in SETTINGS}, **changes}))
            store.update_assignment(connection, assignment_id, **settings.__dict__)
            if {"closes_at", "on_close", "grace_seconds"} & set(changes):
                self._reclose(writer, assignment_id)

        self.sessions._write(SYSTEM, change)
        return self.get(actor, assignment_id)

    def delete(self, actor: Actor, assignment_id: str) -> dict[str, Any]:
        """Submit its active attempts (every acknowledged answer kept), detach all its sessions, then delete it."""
        _require_staff(actor)

        def remove(writer: Any) -> dict[str, Any]:
            connection = writer.transaction.writing()
            owned_assignment(connection, actor, assignment_id)
            rows = store.assignment_sessions(connection, assignment_id)
            submitted = 0
            for row in rows:
                if row["status"] != "active":
                    continue
                session = self.sessions._load(connection, SYSTEM, row["id"], for_update=True)
                session.expire_due(writer.now)
                if session.status == "active":
                    session.end("assignment_deleted", writer.now, writer.now)
                    submitted += 1
                writer.save(session)
            store.delete_assignment(connection, assignment_id)
            return {"id": assignment_id, "deleted": True, "sessions_submitted": submitted, "sessions_kept": len(rows)}

        return self.sessions._write(SYSTEM, remove)

    def put_override(self, actor: Actor, assignment_id: str, user_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        _require_staff(actor)

        def put(writer: Any) -> dict[str, Any]:
            connection = writer.transaction.writing()
            row = owned_assignment(connection, actor, assignment_id)
            if not store.enrolled(connection, row["class_id"], user_id):
                raise NotFoundError("no such student in this assignment's class")
            store.put_override(connection, assignment_id, user_id,
                               validate_override(AssignmentSettings.from_row(row), changes))
            if "closes_at" in changes:
                self._reclose(writer, assignment_id, user_id)
            return self._override_out(connection, row, user_id)

        return self.sessions._write(SYSTEM, put)

    def delete_override(self, actor: Actor, assignment_id: str, user_id: str) -> None:
        _require_staff(actor)

        def remove(writer: Any) -> None:
            connection = writer.transaction.writing()
            owned_assignment(connection, actor, assignment_id)
            if not store.delete_override(connection, assignment_id, user_id):
                raise NotFoundError("this student has no override of this assignment")
            self._reclose(writer, assignment_id, user_id)

        self.sessions._write(SYSTEM, remove)

    def _reclose(self, writer: Any, assignment_id: str, user_id: str | None = None) -> None:
        """Give the assignment's running attempts (of one student, or all) their close time as it now stands."""
        connection = writer.transaction.writing()
        row = store.assignment_with_names(connection, assignment_id)
        base = AssignmentSettings.from_row(row)
        overrides = store.overrides(connection, assignment_id)
        for attempt in store.assignment_sessions(connection, assignment_id):
            if attempt["status"] != "active" or user_id not in (None, attempt["user_id"]):
                continue
            settings = base.with_override(overrides.get(attempt["user_id"]))
            session = self.sessions._load(connection, SYSTEM, attempt["id"], for_update=True)
            session.closes_at, session.close_grace_ms = settings.closes_at, settings.close_grace_ms
            session.expire_due(writer.now)
            writer.save(session)

    def _override_out(self, connection: Connection, row: Any, user_id: str) -> dict[str, Any]:
        changes = store.override_of(connection, row["id"], user_id) or {}
        effective = AssignmentSettings.from_row(row).with_override(changes)
        return {"assignment_id": row["id"], "user_id": user_id, "changes": changes,
                "effective": {k: getattr(effective, k) for k in SETTINGS}}

    # ----- reading -------------------------------------------------------

    def get(self, actor: Actor, assignment_id: str) -> dict[str, Any]:
        with self.db.transaction(actor, write=False) as connection:
            store.assignment_row(connection, actor, assignment_id)
            row = store.assignment_with_names(connection, assignment_id)
            if actor.is_staff:
                return self._staff_view(connection, row, with_overrides=True)
            return self._student_view(connection, actor, row)

    def list(self, actor: Actor) -> list[dict[str, Any]]:
        with self.db.transaction(actor, write=False) as connection:
            rows = store.visible_assignments(connection, actor)
            if actor.is_staff:
                # Counted for all rows at once: a teacher's home page lists every assignment of every class.
                students = store.student_counts(connection, sorted({row["class_id"] for row in rows}))
                active = store.session_counts(connection, [row["id"] for row in rows])
                return [self._staff_view(connection, row, students=students, active=active) for row in rows]
            return [self._student_view(connection, actor, row) for row in rows]

    def _staff_view(self, connection: Connection, row: Any, *, with_overrides: bool = False,
                    students: dict[str, int] | None = None, active: dict[str, int] | None = None) -> dict[str, Any]:
        now = self.clock()
        if students is None or active is None:
            students = store.student_counts(connection, [row["class_id"]])
            active = store.session_counts(connection, [row["id"]])
        out = {**_common(row), "state": AssignmentSettings.from_row(row).state(now),
               "student_count": students.get(row["class_id"], 0), "active_count": active.get(row["id"], 0)}
        if with_overrides:
            out["overrides"] = [{"user_id": user_id, "changes": changes}
                                for user_id, changes in sorted(store.overrides(connection, row["id"]).items())]
        return out

    def _student_view(self, connection: Connection, actor: Actor, row: Any) -> dict[str, Any]:
        override = store.override_of(connection, row["id"], actor.user_id)
        settings = AssignmentSettings.from_row(row).with_override(override)
        attempts = store.attempts(connection, row["id"], actor.user_id)
        active = next((a["id"] for a in attempts if a["status"] == "active"), None)
        return {**_common(row), **{k: getattr(settings, k) for k in SETTINGS},
                "state": settings.state(self.clock()), "attempts_used": len(attempts),
                "attempts_left": settings.attempts_left(len(attempts)), "session_id": active,
                "overridden": sorted(override or {})}


def _common(row: Any) -> dict[str, Any]:
    return {k: row[k] for k in ("id", "class_id", "class_name", "test_id", "test_title", *SETTINGS,
                                "created_by", "created_at")}


def _owned_class(connection: Connection, actor: Actor, class_id: str) -> Any:
    row = store.class_row(connection, actor, class_id)
    if not store.is_staff_of(actor, row):
        raise NotFoundError("no such class")
    return row


def owned_assignment(connection: Connection, actor: Actor, assignment_id: str) -> Any:
    """The assignment's row, if the actor may change it (an admin, or the teacher of its class); else 404."""
    row = store.assignment_row(connection, actor, assignment_id)
    _owned_class(connection, actor, row["class_id"])
    return row


def staffed_assignment(connection: Connection, actor: Actor, assignment_id: str, doing: str) -> Any:
    """The assignment's row for its class's staff at work on it (`doing`): 403 for a student, 404 unless the actor
    is the teacher of its class or an admin."""
    if not actor.is_staff:
        raise ForbiddenError(f"only teachers and admins can {doing}")
    return owned_assignment(connection, actor, assignment_id)


def _require_staff(actor: Actor) -> None:
    if not actor.is_staff:
        raise ForbiddenError("only teachers and admins can do this")
