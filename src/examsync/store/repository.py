"""The storage seam of the session use cases: what they need of storage, and the unit of work they run in.

`SessionRepository` is everything `services/sessions.py` asks of storage, named by what it means rather than how
it is stored: load a session aggregate (scoped to the actor by the rule of `store/classes.py`), create and save it
with its log and receipts, read its history, find what is due for the sweep. `SessionStore` opens units of work:
a read, or a write job whose transaction it owns (the SQL store shares one commit among many jobs). The
`UnitOfWork` collects the `SessionChange` of every session it saves; the service announces them once the
transaction has committed, never before.

Two implementations keep the same promises, and one contract suite (`tests/store/`) holds both to them: SQL
(`store/sql_sessions.py`, on SQLite and PostgreSQL) and memory (`store/memory.py`), on which the service runs
without a database in its unit tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from contextlib import AbstractContextManager
from typing import Any, Protocol, TypeVar

from examsync.domain.assignments import AssignmentSettings
from examsync.domain.content import Test
from examsync.domain.events import SessionChange
from examsync.domain.session import LogEntry, Rules, TestSession
from examsync.domain.timing import TimeAllowance
from examsync.domain.views import live_state
from examsync.store.database import Actor

T = TypeVar("T")


class SessionRepository(Protocol):
    """Sessions, their logs and receipts, and what loading and scoring one needs of content and accounts.

    Reading a session someone may not see (another student's, a student a teacher does not teach, a disabled
    account's own) raises NotFoundError, exactly as one that does not exist.
    """

    # ----- one session ---------------------------------------------------
    def row(self, actor: Actor, session_id: str, *, for_update: bool = False,
            owner_only: bool = False) -> Mapping[str, Any]:
        """The session's stored fields (id, user_id, test_id, status, content_version, last_hash, ...)."""
    def load(self, actor: Actor, session_id: str, rules: Rules, *, for_update: bool = False,
             owner_only: bool = False) -> TestSession:
        """The aggregate; `for_update` holds it against other writers until the unit of work ends."""
    def create(self, session: TestSession) -> None: ...
    def save(self, session: TestSession, *, changed_sections: Iterable[str],
             fingerprints: dict[str, str] | None = None) -> list[LogEntry]:
        """Write the session, the sections named, and its new log entries (returned; `fingerprints` are the
        receipts of their op ids)."""
    def receipts(self, session_id: str, user_id: str, op_ids: list[str]) -> dict[str, tuple[str, int]]:
        """Of these op ids, those already in the session's log: op id -> (fingerprint, seq)."""
    def history(self, session_id: str, user_id: str | None, after_seq: int = 0,
                limit: int | None = None) -> list[LogEntry]: ...
    def submitted_section_ids(self, session_id: str) -> set[str]: ...

    # ----- finding sessions ----------------------------------------------
    def active_session_id(self, user_id: str, test_id: str) -> str | None: ...
    def ids_of_user(self, user_id: str) -> list[str]:
        """A student's sessions, the most recently active first."""
    def active_ids_of_user(self, actor: Actor, user_id: str) -> list[str]:
        """A student's active sessions that the actor sees."""
    def ids_of_test(self, actor: Actor, test_id: str, session_id: str | None = None) -> list[str]:
        """A test's active sessions (or the one named, active or not), of the students the actor sees, by start."""
    def rows_of_test(self, actor: Actor, test_id: str) -> list[Mapping[str, Any]]:
        """A test's sessions of the students the actor sees, by start."""
    def sessions_due(self, now_ms: int, grace_ms: int = 0) -> list[str]:
        """Sessions with a section out of time `grace_ms` before `now_ms`, or a rule of their own due by then."""
    def rescued(self, session_id: str) -> Mapping[str, Any] | None:
        """Any session with its owner's email and display name and its test's title (unscoped: the server's)."""

    # ----- content -------------------------------------------------------
    def test(self, test_id: str, content_version: int | None = None) -> Test | None: ...
    def self_study(self, test_id: str) -> bool: ...
    def sub_skill_names(self) -> dict[str, dict[str, str]]: ...
    def drills_by_sub_skill(self) -> dict[str, list[str]]: ...

    # ----- the student's account -----------------------------------------
    def user_exists(self, user_id: str) -> bool:
        """Whether the account exists; a disabled one raises AccountDisabledError."""
    def sees_student(self, actor: Actor, user_id: str) -> bool:
        """The account exists and the actor may read or change its account-wide data."""
    def user_allowance(self, user_id: str) -> TimeAllowance: ...
    def set_user_allowance(self, user_id: str, allowance: TimeAllowance) -> None: ...
    def performance(self, user_id: str) -> list[Mapping[str, Any]]: ...
    def record_performance(self, user_id: str, by_sub_skill: dict[str, dict[str, Any]], now_ms: int) -> None:
        """Add a completed session's score to the student's running totals per sub-skill."""

    # ----- assignments ---------------------------------------------------
    def assignment_for_student(self, user_id: str, assignment_id: str) -> tuple[str, AssignmentSettings] | None:
        """The assignment's test id and its settings as they apply to the student (their override applied), if it
        is of a class the student is enrolled in; None otherwise."""
    def attempts_used(self, assignment_id: str, user_id: str) -> int:
        """How many attempts of the assignment the student has started, finished or not."""


class UnitOfWork:
    """One transaction's view of storage, at the server's now, and the changes to announce once it commits."""

    def __init__(self, sessions: SessionRepository, now: int) -> None:
        self.sessions, self.now = sessions, now
        self.events: list[SessionChange] = []

    def save(self, session: TestSession, *, changed_sections: Iterable[str] | None = None,
             fingerprints: dict[str, str] | None = None) -> None:
        if session.completed_since_load:
            score = session.student_score()  # what the student sees: marks staff have not released do not count yet
            assert score is not None
            self.sessions.record_performance(session.user_id, score["by_sub_skill"], self.now)
            session.completed_since_load = False
        entries = self.sessions.save(session, changed_sections=session.sections if changed_sections is None
                                     else changed_sections, fingerprints=fingerprints)
        self._changed(session, entries)

    def create(self, session: TestSession) -> None:
        self.sessions.create(session)
        self._changed(session, [])

    def _changed(self, session: TestSession, entries: list[LogEntry]) -> None:
        self.events.append(SessionChange(session.id, session.user_id, session.test.id, entries,
                                         live_state(session, self.now)))


class SessionStore(Protocol):
    """Opens units of work: reads, and write jobs whose future resolves once their transaction has committed."""

    def reading(self, actor: Actor, now: int) -> AbstractContextManager[UnitOfWork]: ...
    def submit(self, actor: Actor, work: Callable[[UnitOfWork], T], clock: Callable[[], int], *,
               ops: int = 0) -> Future[tuple[T, list[SessionChange]]]:
        """Run `work` in a write transaction, at `clock()` read when it runs; its result and the unit of work's
        events, once committed (`ops`: how many client ops it carries, for the statistics)."""
    def close(self) -> None: ...
