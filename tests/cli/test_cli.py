"""The command line, on the embedded default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from examsync.accounts import Accounts
from examsync.cli import app
from examsync.content_import import SAMPLE_CONTENT
from examsync.domain.errors import AccountDisabledError
from examsync.services import wall_clock_ms
from examsync.settings import Settings
from examsync.store.database import Database
from examsync.store.tables import questions, tests
from tests.conftest import MINI_CONTENT

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"EXAMSYNC_DATA_DIR": str(tmp_path / "data"), "EXAMSYNC_DATABASE_URL": ""}


def counts(env: dict[str, str]) -> tuple[int, int]:
    database = Database(Settings(data_dir=env["EXAMSYNC_DATA_DIR"]).resolved_database_url)
    with database.owner_transaction() as connection:
        result = (
            connection.execute(select(func.count()).select_from(tests)).scalar_one(),
            connection.execute(select(func.count()).select_from(questions)).scalar_one(),
        )
    database.dispose()
    return result


def test_importing_twice_updates_and_never_duplicates(env: dict[str, str], tmp_path: Path) -> None:
    first = runner.invoke(app, ["import", str(MINI_CONTENT)], env=env)
    assert first.exit_code == 0, first.output
    assert "2 tests created" in first.output
    again = runner.invoke(app, ["import", str(MINI_CONTENT)], env=env)
    assert "0 tests created, 0 updated, 2 unchanged" in again.output
    assert counts(env) == (2, 5)

    edited = tmp_path / "edited.yaml"
    edited.write_text(MINI_CONTENT.read_text().replace("2 + 2 = ?", "3 + 1 = ?"))
    third = runner.invoke(app, ["import", str(edited)], env=env)
    assert "1 updated" in third.output
    assert counts(env) == (2, 5)


def test_a_bad_file_names_file_test_and_field_and_imports_nothing(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(MINI_CONTENT.read_text().replace("correct: b", "correct: z"))
    result = runner.invoke(app, ["import", str(MINI_CONTENT.parent / "missing.yaml"), str(bad)], env=env)
    assert result.exit_code == 1
    result = runner.invoke(app, ["import", str(bad)], env=env)
    assert result.exit_code == 1
    assert str(bad) in result.output and "mini-diagnostic" in result.output and "'correct'" in result.output
    assert counts(env) == (0, 0)


def test_the_shipped_sample_content_imports(env: dict[str, str]) -> None:
    files = sorted(str(p) for p in SAMPLE_CONTENT.glob("*.yaml"))
    result = runner.invoke(app, ["import", *files], env=env)
    assert result.exit_code == 0, result.output
    test_count, question_count = counts(env)
    assert test_count >= 1 + 2 + 6 and question_count >= 30


def test_users_add_creates_any_role(env: dict[str, str]) -> None:
    for role in ("student", "teacher", "admin"):
        result = runner.invoke(app, ["users", "add", f"{role}@example.org", "--password", "long password", "--role", role], env=env)
        assert result.exit_code == 0 and f"created {role}" in result.output
    duplicate = runner.invoke(app, ["users", "add", "admin@example.org", "--password", "long password"], env=env)
    assert duplicate.exit_code == 1 and "already exists" in duplicate.output
    bad_role = runner.invoke(app, ["users", "add", "x@example.org", "--password", "long password", "--role", "root"], env=env)
    assert bad_role.exit_code == 1 and "role must be one of" in bad_role.output


def test_users_disable_and_enable_an_account_by_email(env: dict[str, str]) -> None:
    assert runner.invoke(app, ["users", "add", "kim@example.org", "--password", "long password"], env=env).exit_code == 0
    assert runner.invoke(app, ["users", "add", "root@example.org", "--password", "long password", "--role", "admin"],
                         env=env).exit_code == 0
    settings = Settings(data_dir=env["EXAMSYNC_DATA_DIR"])
    database = Database.from_settings(settings)
    accounts = Accounts.from_settings(database, settings, wall_clock_ms)
    try:
        disabled = runner.invoke(app, ["users", "disable", " Kim@Example.org"], env=env)
        assert disabled.exit_code == 0 and "disabled student kim@example.org" in disabled.output
        with pytest.raises(AccountDisabledError):
            accounts.login("kim@example.org", "long password")
        enabled = runner.invoke(app, ["users", "enable", "kim@example.org"], env=env)
        assert enabled.exit_code == 0 and "enabled student kim@example.org" in enabled.output
        assert accounts.login("kim@example.org", "long password")["access_token"]
    finally:
        database.dispose()
    unknown = runner.invoke(app, ["users", "disable", "nobody@example.org"], env=env)
    assert unknown.exit_code == 1 and "no account" in unknown.output
    last_admin = runner.invoke(app, ["users", "disable", "root@example.org"], env=env)
    assert last_admin.exit_code == 1 and "last enabled admin" in last_admin.output


def test_export_needs_a_session_or_a_test(env: dict[str, str]) -> None:
    runner.invoke(app, ["import", str(MINI_CONTENT)], env=env)
    assert runner.invoke(app, ["export"], env=env).exit_code == 1
    result = runner.invoke(app, ["export", "--test", "mini-diagnostic", "--format", "json"], env=env)
    assert result.exit_code == 0 and json.loads(result.output) == []
    assert "no test" in runner.invoke(app, ["export", "--test", "nope"], env=env).output
