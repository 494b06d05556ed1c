"""Fixtures shared by the integration tests: a database per test on SQLite and
PostgreSQL, a controllable clock, and an API client speaking as a student.

PostgreSQL tests make their own database from a migrated template and drop it
afterwards. They run whenever PostgreSQL answers at EXAMSYNC_TEST_PG_URL
(default: this machine's server); under CI=true an unreachable server fails
the run instead of skipping it.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from fastapi.testclient import TestClient

from examsync.content_import import import_files, parse_document
from examsync.settings import Settings
from examsync.store import migrate
from examsync.store.database import Database
from examsync.web.app import create_app

FIXTURES = Path(__file__).parent / "fixtures"
MINI_CONTENT = FIXTURES / "mini.yaml"
PG_URL = os.environ.get("EXAMSYNC_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"


def _content_by_test_id() -> dict[str, dict[str, Any]]:
    _, tests = parse_document(MINI_CONTENT, yaml.safe_load(MINI_CONTENT.read_text()), set())
    return {test["id"]: test for test in tests}


MINI_TESTS = _content_by_test_id()


def section_questions(state: dict[str, Any], index: int = 0) -> list[dict[str, Any]]:
    """A section's questions as the content file defines them (the API shows them only once it starts)."""
    return MINI_TESTS[state["test_id"]]["sections"][index]["questions"]


class FakeClock:
    """The server's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = time.time_ns() // 1_000_000
        self._lock = threading.Lock()

    def __call__(self) -> int:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += int(seconds * 1000)


def _admin_url(database: str = "postgres") -> str:
    base = PG_URL.rsplit("/", 1)[0]
    return f"{base}/{database}"


def _pg_available() -> bool:
    try:
        with psycopg.connect(PG_URL, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


class PostgresDatabases:
    """Makes throwaway databases from one template that is migrated and holds the test content."""

    def __init__(self) -> None:
        self.template = f"examsync_tpl_{uuid.uuid4().hex[:10]}"
        self.created: list[str] = []
        self._admin(f'CREATE DATABASE "{self.template}"')
        database = Database(self.url(self.template))
        migrate.upgrade(database)
        import_files(database, [MINI_CONTENT])
        database.dispose()

    def _admin(self, sql: str) -> None:
        with psycopg.connect(_admin_url(), autocommit=True) as connection:
            connection.execute(sql)

    def url(self, name: str) -> str:
        return _admin_url(name)

    def fresh(self) -> str:
        name = f"examsync_t_{uuid.uuid4().hex[:12]}"
        self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self.created.append(name)
        return self.url(name)

    def drop(self, name_or_url: str) -> None:
        name = name_or_url.rsplit("/", 1)[-1]
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        for name in [*self.created, self.template]:
            self.drop(name)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresDatabases]:
    if not _pg_available():
        if IN_CI:
            pytest.fail(f"PostgreSQL is not reachable at {PG_URL}; under CI=true the PostgreSQL tests must run")
        pytest.skip(f"PostgreSQL not reachable at {PG_URL} (set EXAMSYNC_TEST_PG_URL)")
    databases = PostgresDatabases()
    yield databases
    databases.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'data' / 'examsync.db'}"
        database = Database(url)
        migrate.upgrade(database)
        import_files(database, [MINI_CONTENT])
        database.dispose()
        yield url
        return
    postgres: PostgresDatabases = request.getfixturevalue("postgres")
    url = postgres.fresh()
    yield url
    postgres.drop(url)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(data_dir=str(tmp_path / "data"), database_url=database_url, secret_key="test-secret-key-0123456789abcdef")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


class Api:
    """A test client that speaks the API the way a student's device does."""

    def __init__(self, client: TestClient, clock: FakeClock) -> None:
        self.client = client
        self.clock = clock
        self.headers: dict[str, str] = {}

    def signup(self, email: str | None = None, password: str = "correct horse battery") -> "Api":
        email = email or f"student-{uuid.uuid4().hex[:8]}@example.org"
        response = self.client.post("/api/v1/auth/signup", json={"email": email, "password": password, "display_name": "S"})
        assert response.status_code == 201, response.text
        return self.login(email, password)

    def login(self, email: str, password: str) -> "Api":
        response = self.client.post("/api/v1/auth/token", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        other = Api(self.client, self.clock)
        other.headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
        return other

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(f"/api/v1{path}", headers=self.headers, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.client.post(f"/api/v1{path}", json=json, headers=self.headers, **kw)

    def put(self, path: str, json: Any = None) -> Any:
        return self.client.put(f"/api/v1{path}", json=json, headers=self.headers)

    def patch(self, path: str, json: Any = None) -> Any:
        return self.client.patch(f"/api/v1{path}", json=json, headers=self.headers)

    def delete(self, path: str) -> Any:
        return self.client.delete(f"/api/v1{path}", headers=self.headers)

    @property
    def user_id(self) -> str:
        response = self.get("/me")
        assert response.status_code == 200, response.text
        return response.json()["user_id"]

    def test_id(self, slug: str) -> str:
        return next(t["id"] for t in self.get("/tests").json() if t["slug"] == slug)

    def start(self, slug: str = "mini-diagnostic", **options: Any) -> dict[str, Any]:
        response = self.post("/sessions", {"test_id": self.test_id(slug), **options})
        assert response.status_code in (200, 201), response.text
        return response.json()

    def op(self, type: str, **fields: Any) -> dict[str, Any]:
        return {"op_id": str(uuid.uuid4()), "type": type, "client_time": self.clock(), **fields}

    def send(self, session_id: str, *ops: dict[str, Any], **batch: Any) -> dict[str, Any]:
        response = self.post(f"/sessions/{session_id}/ops", {"ops": list(ops), **batch})
        assert response.status_code == 200, response.text
        return response.json()

    def resume(self, session_id: str) -> dict[str, Any]:
        response = self.get(f"/sessions/{session_id}")
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def client(settings: Settings, clock: FakeClock) -> Iterator[TestClient]:
    with TestClient(create_app(settings, clock=clock, run_sweep=False)) as test_client:
        yield test_client


@pytest.fixture
def api(client: TestClient, clock: FakeClock) -> Api:
    return Api(client, clock)


@pytest.fixture
def student(api: Api) -> Api:
    return api.signup()


@pytest.fixture
def teacher(api: Api, client: TestClient) -> Api:
    email = f"teacher-{uuid.uuid4().hex[:8]}@example.org"
    client.app.state.accounts.add_user(email, "teacher password", role="teacher")  # type: ignore[attr-defined]
    return api.login(email, "teacher password")


@pytest.fixture
def admin(api: Api, client: TestClient) -> Api:
    email = f"admin-{uuid.uuid4().hex[:8]}@example.org"
    client.app.state.accounts.add_user(email, "admin password", role="admin")  # type: ignore[attr-defined]
    return api.login(email, "admin password")


def teach(teacher: Api, student: Api, test_id: str, **assignment: Any) -> dict[str, Any]:
    """Put the student in a class of the teacher's, the realistic way (the teacher creates the class, the student
    joins with its code), and assign the test to it, open from now on: {"class": ..., "assignment": ...}."""
    created = teacher.post("/classes", {"name": f"Class {uuid.uuid4().hex[:6]}"})
    assert created.status_code == 201, created.text
    joined = student.post("/classes/join", {"join_code": created.json()["join_code"]})
    assert joined.status_code == 200, joined.text
    assigned = teacher.post(f"/classes/{created.json()['id']}/assignments",
                            {"test_id": test_id, "opens_at": teacher.clock(), **assignment})
    assert assigned.status_code == 201, assigned.text
    return {"class": created.json(), "assignment": assigned.json()}
