"""The session log is tamper-evident: an edited, deleted or reordered row is named by verify-history."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from examsync.cli import app
from examsync.settings import Settings
from examsync.store.database import Database
from tests.conftest import Api, section_questions

runner = CliRunner()


@pytest.fixture
def logged_session(student: Api) -> dict:
    state = student.start()
    q1, q2 = section_questions(state)
    student.send(state["id"], *(student.op("answer", question_id=q1["id"], answer=c) for c in "abc"),
                 student.op("flag", question_id=q2["id"]), student.op("note", question_id=q2["id"], text="ok"))
    return state


def verify(settings: Settings, *args: str) -> tuple[int, str]:
    env = {"EXAMSYNC_DATABASE_URL": settings.database_url, "EXAMSYNC_DATA_DIR": settings.data_dir}
    result = runner.invoke(app, ["verify-history", *args], env=env)
    return result.exit_code, result.output


def tamper(settings: Settings, *statements: str) -> None:
    database = Database(settings.database_url)
    with database.engine.begin() as connection:  # as the owner, below the app: what an attacker with SQL could do
        for statement in statements:
            connection.execute(text(statement))
    database.dispose()


def test_an_untouched_history_verifies(logged_session: dict, settings: Settings) -> None:
    assert verify(settings, "--session", logged_session["id"]) == (0, "checked 1 session(s): 0 with a broken history\n")
    assert verify(settings)[0] == 0
    assert verify(settings, "--test", "mini-diagnostic")[0] == 0


@pytest.mark.parametrize("statements,problem", [
    (["UPDATE question_attempt_history SET payload = '{\"type\": \"answer\", \"answer\": \"d\"}' WHERE seq = 2"],
     "row seq 2 was edited"),
    (["UPDATE question_attempt_history SET status = 'rejected' WHERE seq = 4"], "row seq 4 was edited"),
    (["DELETE FROM question_attempt_history WHERE seq = 3"], "row seq 3 is missing"),
    (["DELETE FROM question_attempt_history WHERE seq = 5"], "rows after seq 4 were deleted"),
    (["UPDATE question_attempt_history SET seq = 100 WHERE seq = 1",
      "UPDATE question_attempt_history SET seq = 1 WHERE seq = 2",
      "UPDATE question_attempt_history SET seq = 2 WHERE seq = 100"], "row seq 1 was edited"),
])
def test_tampering_is_caught_and_the_first_bad_row_named(
    logged_session: dict, settings: Settings, statements: list[str], problem: str
) -> None:
    scoped = [s.replace(" WHERE ", f" WHERE session_id = '{logged_session['id']}' AND ") for s in statements]
    tamper(settings, *scoped)
    code, output = verify(settings, "--session", logged_session["id"])
    assert code == 1
    assert f"session {logged_session['id']}: {problem}" in output
