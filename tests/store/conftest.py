"""One session store per backend (memory, SQLite, PostgreSQL), with the same accounts, tests and classes in each,
for the contract suite (`test_session_repository.py`).

The SQL stores hold the mini content (tests/fixtures/mini.yaml) imported as the server imports it; the memory store
holds the same tests, as the SQL store loads them.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from examsync.content_import import import_files
from examsync.domain.assignments import AssignmentSettings
from examsync.domain.content import Test
from examsync.store import classes as class_store, migrate, users as user_store
from examsync.store.content import ContentCache
from examsync.store.database import Database
from examsync.store.memory import MemorySessionStore
from examsync.store.repository import SessionStore
from examsync.store.sql_sessions import SqlSessionStore
from examsync.store.tables import users
from tests.conftest import MINI_CONTENT, MINI_TESTS, PostgresDatabases

T0 = 1_700_000_000_000
TEST_IDS = {test["slug"]: test_id for test_id, test in MINI_TESTS.items()}


def _sqlite(path: Path) -> Database:
    database = Database(f"sqlite:///{path}")
    migrate.upgrade(database)
    import_files(database, [MINI_CONTENT])
    return database


@pytest.fixture(scope="session")
def mini_tests(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Test]:
    """The mini content's tests as the SQL store loads them, by slug."""
    database = _sqlite(tmp_path_factory.mktemp("content") / "examsync.db")
    try:
        with database.transaction(None, write=False) as connection:
            cache = ContentCache()
            return {slug: cache.get(connection, test_id) for slug, test_id in TEST_IDS.items()}  # type: ignore[misc]
    finally:
        database.dispose()


class World:
    """A store and a way to put accounts and classes in it, the same on every backend."""

    def __init__(self, store: SessionStore, tests: dict[str, Test], database: Database | None) -> None:
        self.store, self.tests, self.database = store, tests, database
        self._numbers = itertools.count(1)
        self.assignments: dict[str, str] = {}  # what a test names them by -> assignment id

    def add_user(self, user_id: str, role: str = "student", *, disabled: bool = False, time_multiplier: float = 1.0,
                 extra_seconds: int = 0) -> str:
        if self.database is None:
            assert isinstance(self.store, MemorySessionStore)
            self.store.add_user(user_id, role=role, display_name=user_id, disabled=disabled,
                                time_multiplier=time_multiplier, extra_seconds=extra_seconds)
            return user_id
        with self.database.owner_transaction() as connection:
            user_store.insert_user(connection, user_id=user_id, email=f"{user_id}@example.org", password_hash=None,
                                   display_name=user_id, role=role, created_at=T0)
            connection.execute(users.update().where(users.c.id == user_id).values(
                disabled=disabled, time_multiplier=time_multiplier, extra_seconds=extra_seconds))
        return user_id

    def add_class(self, owner_id: str, students: list[str], test_slugs: list[str]) -> list[str]:
        """A class of the teacher's with these students, and these tests assigned to it, open from T0 with no
        limits: the assignments' ids, in the order of `test_slugs`."""
        number = next(self._numbers)
        class_id = f"00000000-0000-4000-8000-{number:012d}"
        test_ids = [self.tests[slug].id for slug in test_slugs]
        assignment_ids = [f"00000000-0000-4000-9000-{number:06d}{index:06d}" for index in range(len(test_ids))]
        if self.database is None:
            assert isinstance(self.store, MemorySessionStore)
            self.store.add_class(class_id, owner_id, students, [])
            for assignment_id, test_id in zip(assignment_ids, test_ids):
                self.store.add_assignment(assignment_id, class_id, test_id, AssignmentSettings(opens_at=T0))
            return assignment_ids
        with self.database.owner_transaction() as connection:
            class_store.insert_class(connection, {"id": class_id, "name": f"class {number}", "owner_id": owner_id,
                                                  "join_code": f"CODE{number:04d}", "created_at": T0})
            for student in students:
                class_store.enrol(connection, class_id, student, T0)
            for assignment_id, test_id in zip(assignment_ids, test_ids):
                class_store.insert_assignment(connection, {
                    "id": assignment_id, "class_id": class_id, "test_id": test_id, "opens_at": T0,
                    "created_by": owner_id, "created_at": T0})
        return assignment_ids

    def put_override(self, assignment_id: str, user_id: str, changes: dict[str, Any]) -> None:
        if self.database is None:
            assert isinstance(self.store, MemorySessionStore)
            self.store.put_override(assignment_id, user_id, changes)
            return
        with self.database.owner_transaction() as connection:
            class_store.put_override(connection, assignment_id, user_id, changes)


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path: Path, mini_tests: dict[str, Test]) -> Iterator[World]:
    if request.param == "memory":
        store = MemorySessionStore()
        for slug, test in mini_tests.items():
            store.add_test(test, title=MINI_TESTS[test.id]["title"], mode=MINI_TESTS[test.id]["mode"])
        for slug, name in (("addition", "Addition"), ("fractions", "Fractions")):
            store.add_sub_skill(slug, name, "arithmetic", "Arithmetic")
        yield World(store, mini_tests, None)
        return
    url: Any = None
    if request.param == "sqlite":
        database = _sqlite(tmp_path / "examsync.db")
    else:
        postgres: PostgresDatabases = request.getfixturevalue("postgres")
        url = postgres.fresh()
        database = Database(url)
    sql = SqlSessionStore(database, ContentCache())
    try:
        yield World(sql, mini_tests, database)
    finally:
        sql.close()
        database.dispose()
        if url is not None:
            postgres.drop(url)
