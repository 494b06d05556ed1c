"""The session use cases: one method per thing a student, staff or the server does to a session.

Each runs in one unit of work acting for its actor, on the storage seam (`store/repository.py`) alone: this module
holds no SQL, and runs on the SQL store or the memory one. A change is acknowledged only once its unit of work has
committed (SQLite `synchronous=FULL`, PostgreSQL synchronous commit): acknowledged means durable.

Longer than one module should be: `SessionService` is the one object that `create_app`, the CLI and the staff side's
services are handed, and its use cases share its loading, writing and announcing; splitting it is splitting that
wiring too.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from functools import partial
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from examsync.domain.content import Test, is_correct, is_marked_by_staff
from examsync.domain.errors import (
    AssignmentRequiredError,
    DomainError,
    ForbiddenError,
    InvalidOpError,
    InvalidTokenError,
    InvalidRequestError,
    InvalidTimeOptionError,
    NotFoundError,
    SessionCompletedError,
    TooManyOpsError,
)
from examsync.domain.events import ChangeListener, SessionChange
from examsync.domain.ops import parse_op, canonical_op_id, unparsed_fingerprint
from examsync.domain.session import REJECTED, Rules, SentOp, TestSession
from examsync.domain.staff_ops import student_entry
from examsync.domain.timing import TimeAllowance, TimeChange
from examsync.domain.views import live_state, progress_view, results_view, resume_view
from examsync.metrics import AppMetrics, observe_commit, observe_offline_replays, observe_op_results
from examsync.settings import Settings
from examsync.store import classes
from examsync.store.content import ContentCache, list_tests
from examsync.store.database import SYSTEM, Actor, Database
from examsync.store.repository import SessionStore, UnitOfWork
from examsync.store.sql_sessions import SqlSessionRepository, SqlSessionStore

log = logging.getLogger("examsync.services")

RESCUE_SOURCE = "rescue"

T = TypeVar("T")


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


# The unit of work a write job gets; the staff side's services name it so.
_Writer = UnitOfWork


@dataclass
class SessionService:
    """The session use cases, on a `SessionStore` (`store/repository.py`): SQL when given a database, or memory.

    The staff side's services (`staff.py`, `assignments.py`) still work on a connection: for them `_load` and `_row`
    read through the SQL repository of the connection they hold.
    """

    db: Database | None = None
    rules: Rules = field(default_factory=Rules)
    max_ops_per_batch: int = 500
    max_note_length: int = 2_000
    clock: Callable[[], int] = wall_clock_ms
    content: ContentCache = field(default_factory=ContentCache)
    listeners: list[ChangeListener] = field(default_factory=list)
    metrics: AppMetrics = field(default_factory=AppMetrics)
    writers: int = 1
    store: SessionStore | None = None

    def __post_init__(self) -> None:
        if self.store is None:
            if self.db is None:
                raise ValueError("a session service needs a database or a store")
            self.store = SqlSessionStore(
                self.db, self.content, writers=self.writers,
                on_commit=lambda batch: observe_commit(self.metrics, batch.jobs, batch.ops, batch.seconds))
        self._store: SessionStore = self.store

    def close(self) -> None:
        self._store.close()

    def _write(self, actor: Actor, work: Callable[[Any], T], ops: int = 0) -> T:
        """Run `work` in a (shared) write transaction; its changes are announced once it has committed."""
        result, changes = self._store.submit(actor, work, self.clock, ops=ops).result()
        self._announce_all(changes)
        return result

    async def _write_async(self, actor: Actor, work: Callable[[Any], T], ops: int = 0) -> T:
        result, changes = await asyncio.wrap_future(self._store.submit(actor, work, self.clock, ops=ops))
        self._announce_all(changes)
        return result

    def _announce_all(self, changes: list[SessionChange]) -> None:
        for change in changes:
            self._announce(change)

    def _announce(self, change: SessionChange) -> None:
        for listener in self.listeners:
            try:
                listener(change)
            except Exception:  # a failed push never undoes a committed write; clients resume by seq
                log.exception("announcing a change of session %s failed", change.session_id)

    @classmethod
    def from_settings(cls, db: Database, settings: Settings, clock: Callable[[], int] = wall_clock_ms) -> "SessionService":
        return cls(
            db=db,
            rules=Rules(
                heartbeat_credit_ms=settings.heartbeat_interval_seconds * 1000,
                offline_grace_ms=settings.offline_grace_seconds * 1000,
                max_answer_length=settings.max_answer_length,
                max_extended_answer_length=settings.max_extended_answer_length,
            ),
            max_ops_per_batch=settings.max_ops_per_batch,
            max_note_length=settings.max_note_length,
            clock=clock,
            writers=settings.pg_writers,
        )

    # ----- catalogue -----------------------------------------------------

    def tests(self, actor: Actor) -> list[dict[str, Any]]:
        """The catalogue: all of it for staff; for a student, the self-study tests and those assigned to their classes."""
        assert self.db is not None, "the catalogue is read from the database"
        with self.db.transaction(actor, write=False) as connection:
            if actor.is_staff:
                return list_tests(connection, actor)  # the tests this staff member may see (store/content.py)
            catalogue = list_tests(connection)
            assigned = classes.assigned_test_ids(connection, actor.user_id)
            return [t for t in catalogue if t["self_study"] or t["id"] in assigned]

    # ----- sessions ------------------------------------------------------

    def start(
        self, actor: Actor, test_id: str, *, untimed: bool = False, time_multiplier: float = 1.0,
        assignment_id: str | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Start a session (an attempt of the assignment, or self-study), or return the student's active one for
        this test (created=False)."""
        try:
            return self._start(actor, test_id, untimed=untimed, time_multiplier=time_multiplier,
                               assignment_id=assignment_id)
        except IntegrityError:
            # Another device started this test at the same instant: return that session.
            return self._start(actor, test_id, untimed=untimed, time_multiplier=time_multiplier,
                               assignment_id=assignment_id)

    def _start(
        self, actor: Actor, test_id: str, *, untimed: bool, time_multiplier: float, assignment_id: str | None
    ) -> tuple[dict[str, Any], bool]:
        from examsync.services import assignments

        def start(writer: UnitOfWork) -> tuple[dict[str, Any], bool]:
            sessions, now = writer.sessions, writer.now
            test = self._test(writer, test_id)
            terms = (None if assignment_id is None
                     else assignments.terms_for_attempt(sessions, actor, assignment_id, test.id))
            existing = sessions.active_session_id(actor.user_id, test.id)
            if existing is not None:
                session = sessions.load(actor, existing, self.rules, for_update=True)
                if session.expire_due(now):
                    writer.save(session)
                if session.status == "active" and terms is not None and session.assignment_id is None:
                    # A self-study session of the test gives way to the assignment's attempt: it is submitted with
                    # everything acknowledged, rather than letting practice stand in for the assigned attempt.
                    session.end("assignment_started", now, now)
                    writer.save(session)
                if session.status == "active":
                    return resume_view(session, now), False
            if terms is not None:
                assert assignment_id is not None
                terms.check_can_start(now, sessions.attempts_used(assignment_id, actor.user_id))
            elif not actor.is_staff and not sessions.self_study(test.id):
                raise AssignmentRequiredError(
                    "this test is taken as an assignment of your class: start it from your assignments")
            if untimed and not test.allow_untimed:
                raise InvalidTimeOptionError("this test cannot be taken untimed")
            if not any(abs(time_multiplier - m) < 1e-9 for m in test.time_multipliers):
                allowed = ", ".join(f"{m:g}" for m in test.time_multipliers)
                raise InvalidTimeOptionError(f"time_multiplier must be one of: {allowed}")
            session = TestSession(
                id=str(uuid.uuid4()),
                user_id=actor.user_id,
                test=test,
                rules=self.rules,
                started_at=now,
                last_activity_at=now,
                allowance=TimeAllowance(multiplier=time_multiplier * (terms.allowance.multiplier if terms else 1.0),
                                        untimed=untimed),
                user_allowance=sessions.user_allowance(actor.user_id),
                closes_at=terms.closes_at if terms else None,
                close_grace_ms=terms.close_grace_ms if terms else 0,
                assignment_id=assignment_id,
            )
            if terms is not None and terms.allowance.extra_ms:
                for state in session.sections.values():  # like a student's own extra time: each section's
                    state.extra_ms += terms.allowance.extra_ms
            session.begin(now)
            writer.create(session)
            return resume_view(session, now), True

        return self._write(actor, start)

    def resume(self, actor: Actor, session_id: str) -> dict[str, Any]:
        """Everything a device needs to continue."""
        return self._read(actor, session_id, lambda _, session, now: resume_view(session, now))

    def live_state(self, actor: Actor, session_id: str) -> dict[str, Any]:
        """Status, progress and clocks, as pushed to live clients."""
        return self._read(actor, session_id, lambda _, session, now: live_state(session, now))

    def _read(self, actor: Actor, session_id: str, view: Callable[[UnitOfWork, TestSession, int], Any]) -> Any:
        """A view of the session as of now; a section whose time ran out is submitted first."""
        now = self.clock()
        with self._store.reading(actor, now) as uow:
            session = uow.sessions.load(actor, session_id, self.rules)
            if not session.expire_due(now):
                return view(uow, session, now)

        def expire(writer: UnitOfWork) -> Any:
            session = writer.sessions.load(actor, session_id, self.rules, for_update=True)
            if session.expire_due(writer.now):
                writer.save(session)
            return view(writer, session, writer.now)

        return self._write(actor, expire)

    def list_mine(self, actor: Actor) -> list[dict[str, Any]]:
        now = self.clock()
        with self._store.reading(actor, now) as uow:
            views = []
            for session_id in uow.sessions.ids_of_user(actor.user_id):
                session = uow.sessions.load(actor, session_id, self.rules)
                # Show time as it stands now; the sweep or next request records any expiry.
                session.expire_due(now)
                views.append(progress_view(session, now))
        return views

    def apply_ops(self, actor: Actor, session_id: str, raw_ops: list[Any], *, device_id: str | None = None,
                  sent_at: int | None = None, transport: str = "http", source: str | None = None) -> dict[str, Any]:
        """Apply a batch in one transaction; each op gets its own result (`source` marks its log entries)."""
        self._check_batch_size(raw_ops)
        work = self._ops_work(actor, session_id, raw_ops, device_id, sent_at, source)
        return self._counted(raw_ops, sent_at, transport, self._write(actor, work, len(raw_ops)))

    async def apply_ops_async(self, actor: Actor, session_id: str, raw_ops: list[Any], *,
                              device_id: str | None = None, sent_at: int | None = None,
                              transport: str = "http") -> dict[str, Any]:
        """`apply_ops` for the event loop: waits for the commit without holding a thread."""
        self._check_batch_size(raw_ops)
        work = self._ops_work(actor, session_id, raw_ops, device_id, sent_at)
        return self._counted(raw_ops, sent_at, transport, await self._write_async(actor, work, len(raw_ops)))

    def _counted(self, raw_ops: list[Any], sent_at: int | None, transport: str, outcome: dict[str, Any]) -> dict[str, Any]:
        """Count a committed batch's answers and its ops made offline."""
        op_types = [raw.get("type") if isinstance(raw, dict) else None for raw in raw_ops]
        observe_op_results(self.metrics, op_types, outcome["results"], transport)
        observe_offline_replays(self.metrics, raw_ops, sent_at, self.clock(), transport)
        return outcome

    def _check_batch_size(self, raw_ops: list[Any]) -> None:
        if len(raw_ops) > self.max_ops_per_batch:
            raise TooManyOpsError(
                f"a batch holds at most {self.max_ops_per_batch} ops; send the rest in another batch",
                limit=self.max_ops_per_batch,
            )

    def _ops_work(self, actor: Actor, session_id: str, raw_ops: list[Any], device_id: str | None,
                  sent_at: int | None, source: str | None = None) -> Callable[[UnitOfWork], dict[str, Any]]:
        if source is None and device_id is not None and device_id.startswith(f"{RESCUE_SOURCE}:"):
            # The prefix is how the log tells ops applied from an offline answer file apart.
            raise InvalidRequestError(f"device_id may not begin with {RESCUE_SOURCE + ':'!r}; that marks ops "
                                      "applied from offline answer files")
        batch = [self._parse(raw, batch_index) for batch_index, raw in enumerate(raw_ops)]
        logged_device = device_id if source is None else f"{source}:{device_id or ''}"[:64]

        def apply(writer: UnitOfWork) -> dict[str, Any]:
            sessions, now = writer.sessions, writer.now
            try:
                session = sessions.load(actor, session_id, self.rules, for_update=True, owner_only=True)
            except NotFoundError:
                if not sessions.user_exists(actor.user_id):
                    raise InvalidTokenError("this token's account no longer exists") from None
                raise
            offset = session.clock_offset(device_id, sent_at, now)
            receipts = sessions.receipts(session_id, actor.user_id, [sent.op_id for sent in batch if sent.op_id])
            outcome = session.apply_batch(batch, receipts, now, clock_offset_ms=offset, device_id=logged_device)
            writer.save(session, changed_sections=outcome.changed_section_ids, fingerprints=outcome.new_receipts)
            return {"results": [r.as_dict() for r in outcome.results], "version": session.version,
                    "last_seq": session.last_seq}

        return apply

    def _parse(self, raw: Any, batch_index: int) -> SentOp:
        if not isinstance(raw, dict):
            return SentOp(None, error=InvalidOpError("each op is a JSON object"))
        try:
            op_id = canonical_op_id(raw.get("op_id"))
        except InvalidOpError as error:
            error.data["op_id"] = raw.get("op_id")
            return SentOp(None, error=error)
        try:
            return SentOp.parsed(parse_op(raw, max_note_length=self.max_note_length, batch_index=batch_index))
        except DomainError as error:
            error.data["type"] = raw.get("type")
            return SentOp(op_id, unparsed_fingerprint(raw), error=error)

    def history(self, actor: Actor, session_id: str, after_seq: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        with self._store.reading(actor, self.clock()) as uow:
            uow.sessions.row(actor, session_id)
            entries = uow.sessions.history(session_id, None if actor.is_staff else actor.user_id, after_seq, limit)
        # A student's view of their log has staff notes redacted (domain/staff_ops.py).
        return [e.as_dict() if actor.is_staff else student_entry(e.as_dict()) for e in entries]

    def owner_and_test(self, actor: Actor, session_id: str) -> tuple[str, str]:
        with self._store.reading(actor, self.clock()) as uow:
            row = uow.sessions.row(actor, session_id)
        return row["user_id"], row["test_id"]

    def results(self, actor: Actor, session_id: str) -> dict[str, Any]:
        return self._read(actor, session_id, lambda uow, session, _: results_view(
            session, uow.sessions.sub_skill_names(),
            for_staff=actor.is_staff and actor.user_id != session.user_id))

    def student_score(self, session_id: str) -> dict[str, Any] | None:
        """A session's score as its student sees it, for what leaves examsync with it (an LMS's gradebook): marks
        staff have not released count as awaiting marking."""
        with self._store.reading(SYSTEM, self.clock()) as uow:
            return uow.sessions.load(SYSTEM, session_id, self.rules).student_score()

    def overview(self, actor: Actor, test_id: str, session_id: str | None = None) -> list[dict[str, Any]]:
        """Staff: progress and clocks of the active sessions of a test (or of one of them)."""
        _require_staff(actor)
        now = self.clock()
        with self._store.reading(actor, now) as uow:
            self._test(uow, test_id)
            views = []
            for sid in uow.sessions.ids_of_test(actor, test_id, session_id):
                session = uow.sessions.load(actor, sid, self.rules)
                session.expire_due(now)
                views.append({**progress_view(session, now, for_staff=True), "user_id": session.user_id,
                              "last_seq": session.last_seq})
        return views

    def performance(self, actor: Actor, user_id: str | None = None) -> list[dict[str, Any]]:
        """Sub-skill performance, weakest first, with the drills that train each."""
        target = user_id or actor.user_id
        if target != actor.user_id and not actor.is_staff:
            raise NotFoundError("no such user")
        with self._store.reading(actor, self.clock()) as uow:
            if not uow.sessions.sees_student(actor, target):
                raise NotFoundError("no such user")
            rows = uow.sessions.performance(target)
            names = uow.sessions.sub_skill_names()
            drills = uow.sessions.drills_by_sub_skill()
        items = [
            {
                "sub_skill": r["sub_skill_slug"],
                "name": names.get(r["sub_skill_slug"], {}).get("name", r["sub_skill_slug"]),
                "skill_area": names.get(r["sub_skill_slug"], {}).get("skill_area"),
                "attempts": r["attempts"],
                "correct": r["correct"],
                "accuracy": round(r["correct"] / r["attempts"], 4) if r["attempts"] else 0.0,
                "sessions": r["sessions"],
                "drill_test_ids": drills.get(r["sub_skill_slug"], []),
                "updated_at": r["updated_at"],
            }
            for r in rows
        ]
        return sorted(items, key=lambda i: (i["accuracy"], -i["attempts"], i["sub_skill"]))

    # ----- staff ---------------------------------------------------------

    def set_session_time(self, actor: Actor, session_id: str, change: TimeChange) -> dict[str, Any]:
        """A time accommodation for one session (fields left out keep their value); applies at once."""
        _require_staff(actor)
        def adjust(writer: UnitOfWork) -> dict[str, Any]:
            now = writer.now
            session = writer.sessions.load(actor, session_id, self.rules, for_update=True)
            session.adjust_time(change, now, by=actor.user_id)
            writer.save(session)
            return resume_view(session, now)

        return self._write(actor, adjust)

    def set_user_time(self, actor: Actor, user_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Accommodation for all of a student's sessions, applied at once to the active ones."""
        _require_staff(actor)
        if changes.get("untimed"):
            raise InvalidRequestError("untimed applies to one session, not to all of a student's sessions")
        changes.pop("untimed", None)
        def adjust(writer: UnitOfWork) -> dict[str, Any]:
            sessions, now = writer.sessions, writer.now
            current = sessions.user_allowance(user_id)
            if not sessions.sees_student(actor, user_id):
                raise NotFoundError("no such user")
            allowance = replace(current, **changes)
            # Loaded before the change, so that what ran out under the old allowance is recorded as such.
            # A teacher's change reaches the sessions they see at once (the others take it when next loaded,
            # with the student's own allowance, without a note in their log: PostgreSQL hides them anyway).
            active = [sessions.load(actor, sid, self.rules, for_update=True)
                      for sid in sessions.active_ids_of_user(actor, user_id)]
            sessions.set_user_allowance(user_id, allowance)
            updated = 0
            for session in active:
                try:
                    session.note_user_allowance_changed(allowance, now, by=actor.user_id)
                    updated += 1
                except SessionCompletedError:
                    pass  # its time ran out before this change: saved as completed, and closed to it
                writer.save(session)
            return {"user_id": user_id, "time_multiplier": allowance.multiplier,
                    "extra_seconds": allowance.extra_ms // 1000, "sessions_updated": updated}

        return self._write(actor, adjust)

    def export_attempts(self, actor: Actor, *, session_id: str | None = None, test_id: str | None = None) -> list[dict[str, Any]]:
        """Answer attempts of a session or a test; correctness only for submitted sections."""
        _require_staff(actor)
        with self._store.reading(actor, self.clock()) as uow:
            if session_id is not None:
                rows = [uow.sessions.row(actor, session_id)]
            else:
                self._test(uow, test_id or "")
                rows = uow.sessions.rows_of_test(actor, test_id or "")
            out = []
            for row in rows:
                test = self._test(uow, row["test_id"])
                submitted = uow.sessions.submitted_section_ids(row["id"])
                for entry in uow.sessions.history(row["id"], None):
                    if entry.kind != "answer":
                        continue
                    question = test.question(entry.question_id or "")
                    answer = entry.payload.get("answer")
                    out.append({
                        "session_id": row["id"],
                        "user_id": row["user_id"],
                        "test_id": row["test_id"],
                        "seq": entry.seq,
                        "op_id": entry.op_id,
                        "section_id": entry.section_id,
                        "question_id": entry.question_id,
                        "answer": answer,
                        "status": entry.status,
                        "code": entry.code,
                        "client_time": entry.client_time,
                        "server_time": entry.server_time,
                        "device_id": entry.device_id,
                        "is_correct": (
                            is_correct(question, answer)
                            if question is not None and entry.section_id in submitted and entry.status != REJECTED
                            and not is_marked_by_staff(question)  # an essay's mark is a staff grade, not an attempt's
                            else None
                        ),
                    })
        return out

    def rescued_session(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Whose a decrypted rescue file is: the session, its test and its owner, shown to staff before applying."""
        with self._store.reading(SYSTEM, self.clock()) as uow:
            row = uow.sessions.rescued(payload["session_id"])
        if row is None:
            raise NotFoundError(f"no session {payload['session_id']!r}")
        if payload.get("user_id") not in (None, row["user_id"]):
            raise ForbiddenError("the file names another student than the session's owner")
        return dict(row)

    def apply_rescued(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Apply the ops of a rescue file whose origin was verified, as their student, through the live op path.

        Its log entries name the device as `rescue:<device>`, so history and export show where they came from.
        """
        owner = Actor(self.rescued_session(payload)["user_id"], "student")
        return self.apply_ops(owner, payload["session_id"], payload["ops"], device_id=payload.get("device_id"),
                              transport="rescue", source=RESCUE_SOURCE)

    # ----- the server's own work -----------------------------------------

    def sweep_expired(self) -> int:
        """Submit every section whose time has run out, start the sections whose break is over and end the
        sessions idle past their limit or past their close time; returns how many sessions changed.

        Only sessions recorded as due are looked at: each save records when its sections run out and when
        its own rules next change it if nothing more happens, and anything that could bring that time
        forward is saved too.
        """
        now = self.clock()
        with self._store.reading(SYSTEM, now) as uow:
            candidates = uow.sessions.sessions_due(now, self.rules.offline_grace_ms)
        return sum(self._write(SYSTEM, partial(self._expire_or_reschedule, session_id)) for session_id in candidates)

    def _expire_or_reschedule(self, session_id: str, writer: UnitOfWork) -> bool:
        session = writer.sessions.load(SYSTEM, session_id, self.rules, for_update=True)
        expired = bool(session.expire_due(writer.now))
        writer.save(session)  # also records when its sections are due next
        return expired

    # ----- helpers -------------------------------------------------------

    def _test(self, uow: UnitOfWork, test_id: str) -> Test:
        test = uow.sessions.test(test_id)
        if test is None:
            raise NotFoundError(f"no test with id {test_id!r}")
        return test

    def _sql(self, connection: Connection) -> SqlSessionRepository:
        return SqlSessionRepository(connection, self.content)

    def _row(self, connection: Connection, actor: Actor, session_id: str, *, for_update: bool = False,
             owner_only: bool = False) -> Any:
        return self._sql(connection).row(actor, session_id, for_update=for_update, owner_only=owner_only)

    def _load(self, connection: Connection, actor: Actor, session_id: str, *, for_update: bool = False,
              owner_only: bool = False) -> TestSession:
        return self._sql(connection).load(actor, session_id, self.rules, for_update=for_update,
                                          owner_only=owner_only)


def _require_staff(actor: Actor) -> None:
    if not actor.is_staff:
        raise ForbiddenError("only teachers and admins can do this")
