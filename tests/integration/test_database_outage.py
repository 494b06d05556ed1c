"""While the database cannot be reached, requests are answered 503 `not_ready` (retry the same request), logged in
one line each, and served again as soon as it is back."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from examsync.settings import Settings
from examsync.store.database import Database
from examsync.web.app import create_app
from tests.conftest import Api, FakeClock


@pytest.fixture
def backend() -> str:
    return "postgresql"  # a PostgreSQL database can refuse connections while the server keeps running


def allow_connections(database_url: str, allowed: bool) -> None:
    """As a restart does: refuse new connections and end the open ones (or let them in again)."""
    name = database_url.rsplit("/", 1)[-1]
    admin = Database(database_url.rsplit("/", 1)[0] + "/postgres")
    try:
        with admin.owner_transaction() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS {str(allowed).lower()}'))
            if not allowed:
                connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                        "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})
    finally:
        admin.dispose()


def test_requests_while_the_database_is_down_get_503_not_ready_in_one_log_line_each(
        settings: Settings, clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    with TestClient(create_app(settings, clock=clock, run_sweep=False), raise_server_exceptions=False) as client:
        student = Api(client, clock).signup()
        allow_connections(settings.resolved_database_url, False)
        try:
            with caplog.at_level(logging.WARNING, logger="examsync"):
                refused = client.get("/api/v1/tests", headers=student.headers)
        finally:
            allow_connections(settings.resolved_database_url, True)
        served = client.get("/api/v1/tests", headers=student.headers)
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "not_ready"
    web = [r for r in caplog.records if r.name == "examsync.web"]
    assert web and all(r.levelno == logging.WARNING and r.exc_info is None for r in web)
    assert served.status_code == 200
