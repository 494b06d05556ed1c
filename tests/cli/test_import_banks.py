"""`examsync import` with question banks: detection, each option, and re-import in place."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from examsync.cli import app
from examsync.settings import Settings
from examsync.store.database import Database
from examsync.store.tables import questions, test_sections, tests
from tests.content_formats.conftest import BANKS, zip_folder

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"EXAMSYNC_DATA_DIR": str(tmp_path / "data"), "EXAMSYNC_DATABASE_URL": ""}


def rows(env: dict[str, str]) -> dict[str, object]:
    database = Database(Settings(data_dir=env["EXAMSYNC_DATA_DIR"]).resolved_database_url)
    with database.owner_transaction() as connection:
        found = {
            "tests": connection.execute(select(tests.c.slug, tests.c.title, tests.c.mode, tests.c.content_version)
                                        .order_by(tests.c.slug)).all(),
            "questions": connection.execute(select(questions.c.key, questions.c.kind).order_by(questions.c.key)).all(),
            "limits": connection.execute(select(test_sections.c.time_limit_seconds)).scalars().all(),
        }
    database.dispose()
    return found


def run(env: dict[str, str], *args: str) -> str:
    result = runner.invoke(app, ["import", *args], env=env)
    assert result.exit_code == 0, result.output
    return result.output


def test_detects_every_format_and_reimport_creates_nothing(env: dict[str, str], tmp_path: Path) -> None:
    files = [str(BANKS / "every-kind.gift"), str(BANKS / "moodle-bank.xml"), str(BANKS / "qti21-item.xml"),
             str(BANKS / "qti30-item.xml"), str(zip_folder(BANKS / "qti3-test-package", tmp_path / "science.zip")),
             str(zip_folder(BANKS / "canvas-qti12", tmp_path / "canvas.zip"))]
    first = run(env, *files)
    assert "6 tests created" in first
    assert "skipped " in first and "'match'" in first and "every-kind.gift:37" in first and "'essay'" not in first
    before = rows(env)
    assert {kind for _, kind in before["questions"]} == {"single_choice", "multiple_choice", "short_answer", "numeric",
                                                            "extended_text"}
    again = run(env, *files)
    assert "0 tests created, 0 updated, 6 unchanged" in again
    assert rows(env) == before


def test_a_changed_bank_is_a_new_content_version(env: dict[str, str], tmp_path: Path) -> None:
    bank = tmp_path / "unit.gift"
    bank.write_text("::q1:: 2 + 2? {=4 ~5}\n")
    run(env, str(bank))
    bank.write_text("::q1:: 2 + 2 = ? {=4 ~5}\n")
    assert "1 updated" in run(env, str(bank))
    assert rows(env)["tests"] == [("unit", "Unit", "practice", 2)]


def test_format_option_reads_a_gift_file_with_another_extension(env: dict[str, str], tmp_path: Path) -> None:
    bank = tmp_path / "questions.txt"
    bank.write_text("::q1:: 2 + 2? {#4}\n")
    refused = runner.invoke(app, ["import", str(bank)], env=env)
    assert refused.exit_code != 0  # read as YAML without --format
    run(env, "--format", "gift", str(bank))
    assert rows(env)["questions"] == [("q1", "numeric")]


def test_title_option(env: dict[str, str]) -> None:
    run(env, "--title", "Chapter 3 bank", str(BANKS / "qti21-item.xml"))
    assert rows(env)["tests"][0][1] == "Chapter 3 bank"


def test_section_minutes_option(env: dict[str, str]) -> None:
    run(env, "--section-minutes", "12", str(BANKS / "moodle-bank.xml"))
    assert rows(env)["limits"] == [720]


def test_mode_option(env: dict[str, str]) -> None:
    run(env, "--mode", "diagnostic", str(BANKS / "moodle-bank.xml"))
    assert rows(env)["tests"][0][2] == "diagnostic"
    bad = runner.invoke(app, ["import", "--mode", "exam", str(BANKS / "moodle-bank.xml")], env=env)
    assert bad.exit_code != 0 and "--mode must be one of" in bad.output


def test_strict_refuses_the_whole_import(env: dict[str, str]) -> None:
    result = runner.invoke(app, ["import", "--strict", str(BANKS / "qti21-item.xml"), str(BANKS / "moodle-bank.xml")], env=env)
    assert result.exit_code != 0
    assert "'explain'" not in result.output  # an essay is imported (marked by staff)
    assert "moodle-bank.xml:49: 'pairs': a matching question" in result.output
    assert rows(env)["tests"] == []  # nothing of the good file either


def test_dry_run_writes_nothing(env: dict[str, str]) -> None:
    out = run(env, "--dry-run", str(BANKS / "moodle-bank.xml"))
    assert "would be created: moodle-bank (Moodle bank), 6 questions" in out
    assert "skipped " in out and "1 items skipped" in out and "nothing written" in out
    assert rows(env)["tests"] == []
    run(env, str(BANKS / "moodle-bank.xml"))
    assert "would be unchanged: moodle-bank" in run(env, "--dry-run", str(BANKS / "moodle-bank.xml"))
