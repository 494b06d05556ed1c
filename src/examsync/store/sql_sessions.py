"""The session repository and store on SQL (SQLite or PostgreSQL): `store/repository.py`'s seam over the queries
of `store/sessions.py`, `store/content.py` and `store/classes.py`, with write jobs run by the group commit.

A repository is bound to one transaction's connection. In a write job, the first statement that writes marks the
job as having written (`WriteTransaction.writing`), so that the group commit knows a failure after it spoils the
shared transaction while a failure before it does not. The op path runs exactly the statements it ran before the
seam existed: the session row, its sections, the receipts, then the writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from examsync.domain.assignments import AssignmentSettings
from examsync.domain.content import Test
from examsync.domain.errors import NotFoundError
from examsync.domain.events import SessionChange
from examsync.domain.session import LogEntry, Rules, TestSession
from examsync.domain.timing import TimeAllowance
from examsync.store import classes, sessions as store
from examsync.store.content import ContentCache, drills_by_sub_skill, sub_skill_names
from examsync.store.database import Actor, Database
from examsync.store.group_commit import BatchStats, GroupCommit, WriteTransaction
from examsync.store.repository import UnitOfWork
from examsync.store.tables import test_section_states, tests, user_sub_skill_performance, user_test_sessions, users

T = TypeVar("T")


class SqlSessionRepository:
    def __init__(self, connection: Connection, content: ContentCache,
                 transaction: WriteTransaction | None = None) -> None:
        self.connection, self.content, self.transaction = connection, content, transaction

    def _writing(self) -> Connection:
        if self.transaction is None:
            raise RuntimeError("a read transaction does not write")
        return self.transaction.writing()

    # ----- one session ---------------------------------------------------

    def row(self, actor: Actor, session_id: str, *, for_update: bool = False, owner_only: bool = False) -> Any:
        # Another student's session, or a student a teacher does not teach, is indistinguishable from one that
        # does not exist.
        scope = None if actor.is_staff and not owner_only else actor.user_id
        row = store.session_row(self.connection, session_id, scope, for_update=for_update)
        if row is None or not classes.sees_session(self.connection, actor, row):
            raise NotFoundError("no such session")
        return row

    def load(self, actor: Actor, session_id: str, rules: Rules, *, for_update: bool = False,
             owner_only: bool = False) -> TestSession:
        row = self.row(actor, session_id, for_update=for_update, owner_only=owner_only)
        test = self.test(row["test_id"], row["content_version"])
        if test is None:
            raise NotFoundError(f"no test with id {row['test_id']!r}")
        return store.load(self.connection, row, test, rules)

    def create(self, session: TestSession) -> None:
        store.create(self._writing(), session)

    def save(self, session: TestSession, *, changed_sections: Iterable[str],
             fingerprints: dict[str, str] | None = None) -> list[LogEntry]:
        return store.save(self._writing(), session, changed_sections=changed_sections, fingerprints=fingerprints)

    def receipts(self, session_id: str, user_id: str, op_ids: list[str]) -> dict[str, tuple[str, int]]:
        return store.receipts(self.connection, session_id, user_id, op_ids)

    def history(self, session_id: str, user_id: str | None, after_seq: int = 0,
                limit: int | None = None) -> list[LogEntry]:
        return store.history(self.connection, session_id, user_id, after_seq, limit)

    def submitted_section_ids(self, session_id: str) -> set[str]:
        return set(self.connection.execute(
            select(test_section_states.c.section_id).where(
                test_section_states.c.session_id == session_id, test_section_states.c.status == "submitted")
        ).scalars())

    # ----- finding sessions ----------------------------------------------

    def active_session_id(self, user_id: str, test_id: str) -> str | None:
        return store.active_session_id(self.connection, user_id, test_id)

    def ids_of_user(self, user_id: str) -> list[str]:
        return list(self.connection.execute(
            select(user_test_sessions.c.id)
            .where(user_test_sessions.c.user_id == user_id)
            .order_by(user_test_sessions.c.last_activity_at.desc())
        ).scalars().all())

    def active_ids_of_user(self, actor: Actor, user_id: str) -> list[str]:
        rows = self.connection.execute(
            select(user_test_sessions.c.id, user_test_sessions.c.user_id, user_test_sessions.c.test_id)
            .where(user_test_sessions.c.user_id == user_id, user_test_sessions.c.status == "active")
        ).mappings().all()
        return [row["id"] for row in rows if classes.sees_session(self.connection, actor, row)]

    def ids_of_test(self, actor: Actor, test_id: str, session_id: str | None = None) -> list[str]:
        query = select(user_test_sessions.c.id).where(user_test_sessions.c.test_id == test_id)
        query = query.where(user_test_sessions.c.id == session_id) if session_id else query.where(
            user_test_sessions.c.status == "active")
        query = self._scoped_to_students(actor, query, test_id)
        return list(self.connection.execute(query.order_by(user_test_sessions.c.started_at)).scalars())

    def rows_of_test(self, actor: Actor, test_id: str) -> list[Mapping[str, Any]]:
        query = self._scoped_to_students(
            actor, select(user_test_sessions).where(user_test_sessions.c.test_id == test_id), test_id)
        return list(self.connection.execute(query.order_by(user_test_sessions.c.started_at)).mappings().all())

    def _scoped_to_students(self, actor: Actor, query: Any, test_id: str) -> Any:
        """A query of a test's sessions, narrowed for a teacher to their students in the classes it is assigned to."""
        if actor.role != "teacher":
            return query
        return query.where(user_test_sessions.c.user_id.in_(
            sorted(classes.taught_students(self.connection, actor.user_id, test_id))))

    def sessions_due(self, now_ms: int, grace_ms: int = 0) -> list[str]:
        return store.sessions_due(self.connection, now_ms, grace_ms)

    def rescued(self, session_id: str) -> Mapping[str, Any] | None:
        return self.connection.execute(
            select(user_test_sessions.c.id, user_test_sessions.c.user_id, user_test_sessions.c.status,
                   users.c.email, users.c.display_name, tests.c.title.label("test_title"))
            .join(users, users.c.id == user_test_sessions.c.user_id)
            .join(tests, tests.c.id == user_test_sessions.c.test_id)
            .where(user_test_sessions.c.id == session_id)
        ).mappings().first()

    # ----- content -------------------------------------------------------

    def test(self, test_id: str, content_version: int | None = None) -> Test | None:
        return self.content.get(self.connection, test_id, content_version)

    def self_study(self, test_id: str) -> bool:
        return store.self_study(self.connection, test_id)

    def sub_skill_names(self) -> dict[str, dict[str, str]]:
        return sub_skill_names(self.connection)

    def drills_by_sub_skill(self) -> dict[str, list[str]]:
        return drills_by_sub_skill(self.connection)

    # ----- the student's account -----------------------------------------

    def user_exists(self, user_id: str) -> bool:
        return store.user_exists(self.connection, user_id)

    def sees_student(self, actor: Actor, user_id: str) -> bool:
        exists = self.connection.execute(select(users.c.id).where(users.c.id == user_id)).first() is not None
        return exists and classes.sees_student(self.connection, actor, user_id)

    def user_allowance(self, user_id: str) -> TimeAllowance:
        return store.user_allowance(self.connection, user_id)

    def set_user_allowance(self, user_id: str, allowance: TimeAllowance) -> None:
        self._writing().execute(users.update().where(users.c.id == user_id).values(
            time_multiplier=allowance.multiplier, extra_seconds=allowance.extra_ms // 1000))

    def performance(self, user_id: str) -> list[Mapping[str, Any]]:
        return list(self.connection.execute(
            select(user_sub_skill_performance).where(user_sub_skill_performance.c.user_id == user_id)
        ).mappings().all())

    def record_performance(self, user_id: str, by_sub_skill: dict[str, dict[str, Any]], now_ms: int) -> None:
        connection = self._writing()
        insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
        table = user_sub_skill_performance
        for slug, skill in by_sub_skill.items():
            statement = insert(table).values(
                user_id=user_id, sub_skill_slug=slug, attempts=skill["attempts"], correct=skill["correct"],
                points=skill["points"], max_points=skill["max_points"], sessions=1, updated_at=now_ms,
            )
            connection.execute(statement.on_conflict_do_update(
                index_elements=[table.c.user_id, table.c.sub_skill_slug],
                set_={
                    "attempts": table.c.attempts + statement.excluded.attempts,
                    "correct": table.c.correct + statement.excluded.correct,
                    "points": table.c.points + statement.excluded.points,
                    "max_points": table.c.max_points + statement.excluded.max_points,
                    "sessions": table.c.sessions + 1,
                    "updated_at": now_ms,
                },
            ))

    # ----- assignments ---------------------------------------------------

    def assignment_for_student(self, user_id: str, assignment_id: str) -> tuple[str, AssignmentSettings] | None:
        row = classes.assignment_of_student(self.connection, user_id, assignment_id)
        if row is None:
            return None
        settings = AssignmentSettings.from_row(row)
        return row["test_id"], settings.with_override(classes.override_of(self.connection, assignment_id, user_id))

    def attempts_used(self, assignment_id: str, user_id: str) -> int:
        return len(classes.attempts(self.connection, assignment_id, user_id))


class SqlUnitOfWork(UnitOfWork):
    """A unit of work on one transaction; the staff side's services, still written against SQL, reach its
    `connection` (and, in a write job, its `transaction`) directly."""

    sessions: SqlSessionRepository

    def __init__(self, sessions: SqlSessionRepository, now: int) -> None:
        super().__init__(sessions, now)
        self.connection = sessions.connection
        self.transaction = sessions.transaction


class SqlSessionStore:
    def __init__(self, db: Database, content: ContentCache, *, writers: int = 1,
                 on_commit: Callable[[BatchStats], None] = lambda stats: None) -> None:
        self.db, self.content = db, content
        self.commits = GroupCommit(db, writers=1 if db.is_sqlite else writers, on_commit=on_commit)

    def repository(self, connection: Connection, transaction: WriteTransaction | None = None) -> SqlSessionRepository:
        return SqlSessionRepository(connection, self.content, transaction)

    @contextmanager
    def reading(self, actor: Actor, now: int) -> Iterator[SqlUnitOfWork]:
        with self.db.transaction(actor, write=False) as connection:
            yield SqlUnitOfWork(self.repository(connection), now)

    def submit(self, actor: Actor, work: Callable[[SqlUnitOfWork], T], clock: Callable[[], int], *,
               ops: int = 0) -> Future[tuple[T, list[SessionChange]]]:
        # The server's now is read when the job runs, so it never goes back within the writer.
        def job(transaction: WriteTransaction) -> tuple[T, list[SessionChange]]:
            uow = SqlUnitOfWork(self.repository(transaction.connection, transaction), clock())
            return work(uow), uow.events
        return self.commits.submit(actor, job, ops=ops)

    def close(self) -> None:
        self.commits.close()
