"""The application's use cases: one method per thing a user or the server does.

Each runs in one transaction acting for its actor. A change is acknowledged
only when `Database.transaction` has returned, i.e. after the commit (SQLite
`synchronous=FULL`, PostgreSQL synchronous commit): acknowledged means durable.
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

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

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
from examsync.domain.session import REJECTED, LogEntry, Rules, SentOp, TestSession
from examsync.domain.staff_ops import student_entry
from examsync.domain.timing import TimeAllowance, TimeChange
from examsync.domain.views import live_state, progress_view, results_view, resume_view
from examsync.metrics import AppMetrics, observe_commit, observe_offline_replays, observe_op_results
from examsync.settings import Settings
from examsync.store import classes, sessions as store
from examsync.store.content import ContentCache, drills_by_sub_skill, list_tests, sub_skill_names
from examsync.store.database import SYSTEM, Actor, Database
from examsync.store.group_commit import GroupCommit, WriteTransaction
from examsync.store.tables import test_section_states, tests, user_sub_skill_performance, user_test_sessions, users

log = logging.getLogger("examsync.services")

RESCUE_SOURCE = "rescue"

T = TypeVar("T")


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class _Writer:
    """A write job's transaction and the changes to announce once it has committed."""

    def __init__(self, service: "SessionService", transaction: WriteTransaction, now: int) -> None:
        self.service, self.transaction, self.now = service, transaction, now
        self.connection = transaction.connection
        self.changes: list[SessionChange] = []

    def save(self, session: TestSession, *, changed_sections: Any = None, **options: Any) -> None:
        connection = self.transaction.writing()
        if session.completed_since_load:
            self.service._record_performance(connection, session, self.now)
            session.completed_since_load = False
        entries = store.save(
            connection, session,
            changed_sections=session.sections if changed_sections is None else changed_sections, **options,
        )
        self._changed(session, entries)

    def create(self, session: TestSession) -> None:
        store.create(self.transaction.writing(), session)
        self._changed(session, [])

    def _changed(self, session: TestSession, entries: list[LogEntry]) -> None:
        self.changes.append(SessionChange(session.id, session.user_id, session.test.id, entries,
                                          live_state(session, self.now)))


@dataclass
class SessionService:
    db: Database
    rules: Rules = field(default_factory=Rules)
    max_ops_per_batch: int = 500
    max_note_length: int = 2_000
    clock: Callable[[], int] = wall_clock_ms
    content: ContentCache = field(default_factory=ContentCache)
    listeners: list[ChangeListener] = field(default_factory=list)
    metrics: AppMetrics = field(default_factory=AppMetrics)
    writers: int = 1

    def __post_init__(self) -> None:
        self.commits = GroupCommit(
            self.db, writers=1 if self.db.is_sqlite else self.writers, on_commit=lambda batch: observe_commit(self.metrics, batch.jobs, batch.ops, batch.seconds))

    def close(self) -> None:
        self.commits.close()

    def _write(self, actor: Actor, work: Callable[[_Writer], T], ops: int = 0) -> T:
        """Run `work` in a (shared) write transaction; its changes are announced once it has committed."""
        result, changes = self.commits.run(actor, self._job(work), ops=ops)
        self._announce_all(changes)
        return result

    async def _write_async(self, actor: Actor, work: Callable[[_Writer], T], ops: int = 0) -> T:
        result, changes = await asyncio.wrap_future(self.commits.submit(actor, self._job(work), ops=ops))
        self._announce_all(changes)
        return result

    def _job(self, work: Callable[[_Writer], T]) -> Callable[[WriteTransaction], tuple[T, list[SessionChange]]]:
        # The server's now is read when the job runs, so it never goes back within the writer.
        def job(transaction: WriteTransaction) -> tuple[T, list[SessionChange]]:
            writer = _Writer(self, transaction, self.clock())
            return work(writer), writer.changes
        return job

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

        def start(writer: _Writer) -> tuple[dict[str, Any], bool]:
            connection, now = writer.connection, writer.now
            test = self._test(connection, test_id)
            terms = (None if assignment_id is None
                     else assignments.terms_for_attempt(connection, actor, assignment_id, test.id))
            existing = store.active_session_id(connection, actor.user_id, test.id)
            if existing is not None:
                session = self._load(connection, actor, existing, for_update=True)
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
                terms.check_can_start(now, assignments.attempts_used(connection, assignment_id, actor.user_id))
            elif not actor.is_staff and not store.self_study(connection, test.id):
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
                user_allowance=store.user_allowance(connection, actor.user_id),
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

    def _read(self, actor: Actor, session_id: str, view: Callable[[Connection, TestSession, int], Any]) -> Any:
        """A view of the session as of now; a section whose time ran out is submitted first."""
        now = self.clock()
        with self.db.transaction(actor, write=False) as connection:
            session = self._load(connection, actor, session_id)
            if not session.expire_due(now):
                return view(connection, session, now)

        def expire(writer: _Writer) -> Any:
            session = self._load(writer.connection, actor, session_id, for_update=True)
            if session.expire_due(writer.now):
                writer.save(session)
            return view(writer.connection, session, writer.now)

        return self._write(actor, expire)

    def list_mine(self, actor: Actor) -> list[dict[str, Any]]:
        now = self.clock()
        with self.db.transaction(actor, write=False) as connection:
            ids = connection.execute(
                select(user_test_sessions.c.id)
                .where(user_test_sessions.c.user_id == actor.user_id)
                .order_by(user_test_sessions.c.last_activity_at.desc())
            ).scalars().all()
            views = []
            for session_id in ids:
                session = self._load(connection, actor, session_id)
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
                  sent_at: int | None, source: str | None = None) -> Callable[[_Writer], dict[str, Any]]:
        if source is None and device_id is not None and device_id.startswith(f"{RESCUE_SOURCE}:"):
            # The prefix is how the log tells ops applied from an offline answer file apart.
            raise InvalidRequestError(f"device_id may not begin with {RESCUE_SOURCE + ':'!r}; that marks ops "
                                      "applied from offline answer files")
        batch = [self._parse(raw, batch_index) for batch_index, raw in enumerate(raw_ops)]
        logged_device = device_id if source is None else f"{source}:{device_id or ''}"[:64]

        def apply(writer: _Writer) -> dict[str, Any]:
            connection, now = writer.connection, writer.now
            try:
                session = self._load(connection, actor, session_id, for_update=True, owner_only=True)
            except NotFoundError:
                if not store.user_exists(connection, actor.user_id):
                    raise InvalidTokenError("this token's account no longer exists") from None
                raise
            offset = session.clock_offset(device_id, sent_at, now)
            receipts = store.receipts(connection, session_id, actor.user_id, [sent.op_id for sent in batch if sent.op_id])
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
        with self.db.transaction(actor, write=False) as connection:
            self._row(connection, actor, session_id)
            entries = store.history(connection, session_id, None if actor.is_staff else actor.user_id, after_seq, limit)
        # A student's view of their log has staff notes redacted (domain/staff_ops.py).
        return [e.as_dict() if actor.is_staff else student_entry(e.as_dict()) for e in entries]

    def owner_and_test(self, actor: Actor, session_id: str) -> tuple[str, str]:
        with self.db.transaction(actor, write=False) as connection:
            row = self._row(connection, actor, session_id)
        return row["user_id"], row["test_id"]

    def results(self, actor: Actor, session_id: str) -> dict[str, Any]:
        return self._read(actor, session_id, lambda connection, session, _: results_view(
            session, sub_skill_names(connection), for_staff=actor.is_staff and actor.user_id != session.user_id))

    def overview(self, actor: Actor, test_id: str, session_id: str | None = None) -> list[dict[str, Any]]:
        """Staff: progress and clocks of the active sessions of a test (or of one of them)."""
        _require_staff(actor)
        now = self.clock()
        with self.db.transaction(actor, write=False) as connection:
            self._test(connection, test_id)
            query = select(user_test_sessions.c.id).where(user_test_sessions.c.test_id == test_id)
            query = query.where(user_test_sessions.c.id == session_id) if session_id else query.where(
                user_test_sessions.c.status == "active")
            query = _scoped_to_students(connection, actor, query, test_id)
            views = []
            for sid in connection.execute(query.order_by(user_test_sessions.c.started_at)).scalars():
                session = self._load(connection, actor, sid)
                session.expire_due(now)
                views.append({**progress_view(session, now, for_staff=True), "user_id": session.user_id,
                              "last_seq": session.last_seq})
        return views

    def performance(self, actor: Actor, user_id: str | None = None) -> list[dict[str, Any]]:
        """Sub-skill performance, weakest first, with the drills that train each."""
        target = user_id or actor.user_id
        if target != actor.user_id and not actor.is_staff:
            raise NotFoundError("no such user")
        with self.db.transaction(actor, write=False) as connection:
            if connection.execute(select(users.c.id).where(users.c.id == target)).first() is None or (
                    target != actor.user_id and not classes.sees_student(connection, actor, target)):
                raise NotFoundError("no such user")
            rows = connection.execute(
                select(user_sub_skill_performance).where(user_sub_skill_performance.c.user_id == target)
            ).mappings().all()
            names = sub_skill_names(connection)
            drills = drills_by_sub_skill(connection)
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
        def adjust(writer: _Writer) -> dict[str, Any]:
            now = writer.now
            session = self._load(writer.connection, actor, session_id, for_update=True)
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
        def adjust(writer: _Writer) -> dict[str, Any]:
            connection, now = writer.connection, writer.now
            current = store.user_allowance(connection, user_id)
            if connection.execute(select(users.c.id).where(users.c.id == user_id)).first() is None or (
                    not classes.sees_student(connection, actor, user_id)):
                raise NotFoundError("no such user")
            allowance = replace(current, **changes)
            # Loaded before the change, so that what ran out under the old allowance is recorded as such.
            # A teacher's change reaches the sessions they see at once (the others take it when next loaded,
            # with the student's own allowance, without a note in their log: PostgreSQL hides them anyway).
            active = [
                self._load(connection, actor, row["id"], for_update=True)
                for row in connection.execute(
                    select(user_test_sessions.c.id, user_test_sessions.c.user_id, user_test_sessions.c.test_id)
                    .where(user_test_sessions.c.user_id == user_id, user_test_sessions.c.status == "active")
                ).mappings().all()
                if classes.sees_session(connection, actor, row)
            ]
            writer.transaction.writing().execute(
                users.update().where(users.c.id == user_id).values(
                    time_multiplier=allowance.multiplier, extra_seconds=allowance.extra_ms // 1000
                )
            )
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
        with self.db.transaction(actor, write=False) as connection:
            if session_id is not None:
                rows = [self._row(connection, actor, session_id)]
            else:
                self._test(connection, test_id or "")
                rows = connection.execute(_scoped_to_students(
                    connection, actor, select(user_test_sessions).where(user_test_sessions.c.test_id == test_id),
                    test_id or "").order_by(user_test_sessions.c.started_at)
                ).mappings().all()
            out = []
            for row in rows:
                test = self._test(connection, row["test_id"])
                submitted = {
                    sid for sid, in connection.execute(
                        select(test_section_states.c.section_id).where(
                            test_section_states.c.session_id == row["id"], test_section_states.c.status == "submitted"
                        )
                    )
                }
                for entry in store.history(connection, row["id"], None):
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
        with self.db.transaction(SYSTEM, write=False) as connection:
            row = connection.execute(
                select(user_test_sessions.c.id, user_test_sessions.c.user_id, user_test_sessions.c.status,
                       users.c.email, users.c.display_name, tests.c.title.label("test_title"))
                .join(users, users.c.id == user_test_sessions.c.user_id)
                .join(tests, tests.c.id == user_test_sessions.c.test_id)
                .where(user_test_sessions.c.id == payload["session_id"])
            ).mappings().first()
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
        with self.db.transaction(SYSTEM, write=False) as connection:
            candidates = store.sessions_due(connection, now, self.rules.offline_grace_ms)
        return sum(self._write(SYSTEM, partial(self._expire_or_reschedule, session_id)) for session_id in candidates)

    def _expire_or_reschedule(self, session_id: str, writer: _Writer) -> bool:
        session = self._load(writer.connection, SYSTEM, session_id, for_update=True)
        expired = bool(session.expire_due(writer.now))
        writer.save(session)  # also records when its sections are due next
        return expired

    # ----- helpers -------------------------------------------------------

    def _test(self, connection: Connection, test_id: str) -> Test:
        test = self.content.get(connection, test_id)
        if test is None:
            raise NotFoundError(f"no test with id {test_id!r}")
        return test

    def _row(self, connection: Connection, actor: Actor, session_id: str, *, for_update: bool = False,
             owner_only: bool = False) -> Any:
        # Another student's session, or a student a teacher does not teach, is indistinguishable from one that
        # does not exist.
        scope = None if actor.is_staff and not owner_only else actor.user_id
        row = store.session_row(connection, session_id, scope, for_update=for_update)
        if row is None or not classes.sees_session(connection, actor, row):
            raise NotFoundError("no such session")
        return row

    def _load(self, connection: Connection, actor: Actor, session_id: str, *, for_update: bool = False,
              owner_only: bool = False) -> TestSession:
        row = self._row(connection, actor, session_id, for_update=for_update, owner_only=owner_only)
        test = self.content.get(connection, row["test_id"], row["content_version"])
        if test is None:
            raise NotFoundError(f"no test with id {row['test_id']!r}")
        return store.load(connection, row, test, self.rules)

    def _record_performance(self, connection: Connection, session: TestSession, now: int) -> None:
        score = session.student_score()  # what the student sees: marks staff have not released do not count yet
        assert score is not None
        insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
        table = user_sub_skill_performance
        for slug, skill in score["by_sub_skill"].items():
            statement = insert(table).values(
                user_id=session.user_id, sub_skill_slug=slug, attempts=skill["attempts"], correct=skill["correct"],
                points=skill["points"], max_points=skill["max_points"], sessions=1, updated_at=now,
            )
            connection.execute(statement.on_conflict_do_update(
                index_elements=[table.c.user_id, table.c.sub_skill_slug],
                set_={
                    "attempts": table.c.attempts + statement.excluded.attempts,
                    "correct": table.c.correct + statement.excluded.correct,
                    "points": table.c.points + statement.excluded.points,
                    "max_points": table.c.max_points + statement.excluded.max_points,
                    "sessions": table.c.sessions + 1,
                    "updated_at": now,
                },
            ))


def _scoped_to_students(connection: Connection, actor: Actor, query: Any, test_id: str) -> Any:
    """A query of a test's sessions, narrowed for a teacher to their students in the classes it is assigned to."""
    if actor.role != "teacher":
        return query
    return query.where(user_test_sessions.c.user_id.in_(
        sorted(classes.taught_students(connection, actor.user_id, test_id))))


def _require_staff(actor: Actor) -> None:
    if not actor.is_staff:
        raise ForbiddenError("only teachers and admins can do this")
