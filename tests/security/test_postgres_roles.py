"""PostgreSQL roles as docs/deployment.md#roles sets them up: one role owns the tables and migrates, the app logs in
as a role that is only a member of the app role, so `RESET ROLE` leads nowhere row-level security does not hold.

Roles are cluster-wide and other runs share the cluster: every test makes its own, named after its database, and
drops them afterwards.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

import examsync.cli as cli
from examsync.settings import Settings
from examsync.store.database import Actor, Database
from examsync.store.roles import create_login_role, roles_beyond_row_level_security
from examsync.web.app import create_app
from tests.conftest import MINI_CONTENT, Api, FakeClock, PostgresDatabases, _admin_url
from tests.integration.test_row_level_security import SESSION_TABLES, two_students_with_history
from tests.security.test_deployment import served  # noqa: F401 (a fixture)

pytestmark = pytest.mark.postgres

runner = CliRunner()


@dataclass(frozen=True)
class Deployment:
    database: str
    owner: str
    app_role: str
    login_role: str
    password: str

    def url(self, role: str) -> str:
        return make_url(self.admin_url).set(username=role, password=self.password).render_as_string(hide_password=False)

    @property
    def owner_url(self) -> str:
        return self.url(self.owner)

    @property
    def login_url(self) -> str:
        return self.url(self.login_role)

    @property
    def admin_url(self) -> str:
        return _admin_url(self.database)

    def env(self, tmp_path: Path, **more: str) -> dict[str, str]:
        return {"EXAMSYNC_DATABASE_URL": self.login_url, "EXAMSYNC_MIGRATION_DATABASE_URL": self.owner_url,
                "EXAMSYNC_PG_APP_ROLE": self.app_role, "EXAMSYNC_DATA_DIR": str(tmp_path / "data"),
                "EXAMSYNC_SECRET_KEY": "test-secret-key-0123456789abcdef", **more}


@pytest.fixture
def deployment(postgres: PostgresDatabases) -> Iterator[Deployment]:
    """What a DBA sets up before the first `examsync migrate`: the owner may not create roles."""
    name = f"examsync_t_{uuid.uuid4().hex[:12]}"
    roles = Deployment(name, owner=f"{name}_owner", app_role=f"{name}_app", login_role=f"{name}_login",
                       password=secrets.token_hex(16))
    with psycopg.connect(_admin_url(), autocommit=True) as admin:
        try:
            admin.execute(sql.SQL("CREATE ROLE {} LOGIN NOCREATEROLE PASSWORD {}").format(
                sql.Identifier(roles.owner), sql.Literal(roles.password)))
            admin.execute(sql.SQL("CREATE ROLE {} NOLOGIN NOBYPASSRLS").format(sql.Identifier(roles.app_role)))
            create_login_role(admin, roles.login_role, roles.app_role, password=roles.password)
            admin.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(roles.owner)))
            yield roles
        finally:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            for role in (roles.login_role, roles.app_role, roles.owner):
                admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@pytest.fixture
def migrated(deployment: Deployment, tmp_path: Path) -> Deployment:
    result = runner.invoke(cli.app, ["migrate"], env=deployment.env(tmp_path))
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli.app, ["import", str(MINI_CONTENT)], env=deployment.env(tmp_path))
    assert result.exit_code == 0, result.output
    return deployment


@pytest.fixture
def app_api(migrated: Deployment, tmp_path: Path) -> Iterator[Api]:
    settings, clock = Settings.from_env(migrated.env(tmp_path)), FakeClock()
    with TestClient(create_app(settings, clock=clock, run_sweep=False)) as client:
        yield Api(client, clock)


def table_owners(url: str) -> set[str]:
    with psycopg.connect(url) as connection:
        return {row[0] for row in connection.execute(
            "SELECT tableowner FROM pg_tables WHERE tablename = ANY(%s)", (list(SESSION_TABLES),))}


def test_migrate_runs_as_an_owner_that_cannot_create_roles_when_the_app_role_exists(migrated: Deployment) -> None:
    assert table_owners(migrated.admin_url) == {migrated.owner}


def test_only_the_owner_connection_can_step_around_row_level_security(migrated: Deployment) -> None:
    for url, escapes in ((migrated.login_url, []), (migrated.owner_url, [migrated.owner])):
        database = Database(url, app_role=migrated.app_role)
        try:
            assert roles_beyond_row_level_security(database) == escapes
        finally:
            database.dispose()


def attempt(url: str, *statements: tuple[str, tuple[Any, ...]]) -> list[Any]:
    """Run statements in one transaction on a fresh connection; the last one's rows (or the error it raised)."""
    with psycopg.connect(url) as connection:
        try:
            with connection.transaction():
                for statement, params in statements:
                    cursor = connection.execute(statement, params)
                return cursor.fetchall() if cursor.description else []
        except psycopg.Error as error:
            return [type(error)]


def acting_for(user_id: str, app_role: str) -> tuple[str, tuple[Any, ...]]:
    """What the app runs first in every transaction."""
    return ("SELECT set_config('role', %s, true), set_config('examsync.user_id', %s, true),"
            " set_config('examsync.actor_role', 'student', true)", (app_role, user_id))


def user_ids(table: str) -> tuple[str, tuple[Any, ...]]:
    return (f"SELECT DISTINCT user_id FROM {table}", ())


def test_the_runtime_connection_cannot_reset_its_role_to_the_owner(app_api: Api, migrated: Deployment) -> None:
    a, b = two_students_with_history(app_api)
    url, roles = migrated.login_url, migrated
    reset = ("RESET ROLE", ())
    assert attempt(url, acting_for(a, roles.app_role), reset, ("SELECT current_user", ())) == [(roles.login_role,)]
    for table in SESSION_TABLES:
        # Back at the login role, row-level security still holds: the acting user's rows, or none.
        assert attempt(url, acting_for(a, roles.app_role), reset, user_ids(table)) == [(a,)]
        assert attempt(url, reset, user_ids(table)) == []
    superuser = make_url(migrated.admin_url).username
    for escape in (f'SET ROLE "{roles.owner}"', f'SET SESSION AUTHORIZATION "{roles.owner}"', f'SET ROLE "{superuser}"',
                   "ALTER TABLE user_test_sessions DISABLE ROW LEVEL SECURITY",
                   "ALTER TABLE user_test_sessions NO FORCE ROW LEVEL SECURITY",
                   "DROP POLICY own_rows ON user_test_sessions"):
        assert attempt(url, acting_for(a, roles.app_role), reset, (escape, ())) == [psycopg.errors.InsufficientPrivilege]
    # Nothing changed: B's rows are all still there, as the owner sees them.
    for table in SESSION_TABLES:
        assert (b,) in attempt(migrated.admin_url, user_ids(table))


def test_reset_role_inside_an_app_transaction_still_sees_only_the_acting_students_rows(
        app_api: Api, migrated: Deployment) -> None:
    a, _ = two_students_with_history(app_api)
    database = Database(migrated.login_url, app_role=migrated.app_role)
    try:
        with database.transaction(Actor(a, "student"), write=False) as connection:
            connection.execute(text("RESET ROLE"))
            seen = {table: set(connection.execute(text(f"SELECT user_id FROM {table}")).scalars())
                    for table in SESSION_TABLES}
    finally:
        database.dispose()
    assert seen == {table: {a} for table in SESSION_TABLES}


def test_serve_warns_when_it_connects_as_the_owner_and_not_as_the_login_role(
        migrated: Deployment, tmp_path: Path, served: list) -> None:  # noqa: F811
    as_login = runner.invoke(cli.app, ["serve"], env=migrated.env(tmp_path, EXAMSYNC_LOAD_SAMPLE_CONTENT="false"))
    assert as_login.exit_code == 0, as_login.output
    assert "RESET ROLE" not in as_login.output
    as_owner = runner.invoke(cli.app, ["serve"], env=migrated.env(
        tmp_path, EXAMSYNC_DATABASE_URL=migrated.owner_url, EXAMSYNC_LOAD_SAMPLE_CONTENT="false"))
    assert as_owner.exit_code == 0, as_owner.output
    assert "RESET ROLE" in as_owner.output and migrated.owner in as_owner.output
    assert len(served) == 2
