"""PostgreSQL enforces per-student isolation a second time, below the app."""

from __future__ import annotations

import psycopg
import pytest

from tests.conftest import Api, section_questions

pytestmark = pytest.mark.postgres

SESSION_TABLES = ("user_test_sessions", "test_section_states", "question_attempt_history", "user_sub_skill_performance")


@pytest.fixture
def backend() -> str:
    return "postgresql"


def two_students_with_history(api: Api) -> tuple[str, str]:
    ids = []
    for _ in range(2):
        student = api.signup()
        state = student.start()
        q1 = section_questions(state, 0)[0]
        student.send(state["id"], student.op("answer", question_id=q1["id"], answer="a"), student.op("complete"))
        ids.append(student.get("/me").json()["user_id"])
    return ids[0], ids[1]


def visible_rows(url: str, user_id: str | None) -> dict[str, set[str]]:
    with psycopg.connect(url) as connection, connection.transaction():
        connection.execute("SET LOCAL ROLE examsync_app")
        if user_id is not None:
            connection.execute("SELECT set_config('examsync.user_id', %s, true)", (user_id,))
        return {
            table: {row[0] for row in connection.execute(f"SELECT user_id FROM {table}")}
            for table in SESSION_TABLES
        }


def test_the_app_role_cannot_bypass_row_level_security(database_url: str) -> None:
    with psycopg.connect(database_url) as connection:
        bypass, superuser = connection.execute(
            "SELECT rolbypassrls, rolsuper FROM pg_roles WHERE rolname = 'examsync_app'"
        ).fetchone()
        forced = connection.execute(
            "SELECT bool_and(relrowsecurity AND relforcerowsecurity) FROM pg_class WHERE relname = ANY(%s)",
            (list(SESSION_TABLES),),
        ).fetchone()[0]
    assert (bypass, superuser, forced) == (False, False, True)


def test_with_no_user_set_the_app_role_sees_no_session_rows(api: Api, database_url: str) -> None:
    two_students_with_history(api)
    assert visible_rows(database_url, None) == {table: set() for table in SESSION_TABLES}


def test_with_user_a_set_the_app_role_sees_none_of_bs_rows(api: Api, database_url: str) -> None:
    a, b = two_students_with_history(api)
    seen = visible_rows(database_url, a)
    assert seen == {table: {a} for table in SESSION_TABLES}
    assert visible_rows(database_url, b) == {table: {b} for table in SESSION_TABLES}


def test_the_app_role_cannot_write_rows_for_another_user(api: Api, database_url: str) -> None:
    a, b = two_students_with_history(api)
    with psycopg.connect(database_url) as connection:
        with pytest.raises(psycopg.errors.InsufficientPrivilege), connection.transaction():
            connection.execute("SET LOCAL ROLE examsync_app")
            connection.execute("SELECT set_config('examsync.user_id', %s, true)", (a,))
            connection.execute(
                "INSERT INTO user_sub_skill_performance VALUES (%s, 'addition', 1, 1, 1, 1, 1, 0)", (b,)
            )


def test_the_acting_user_does_not_outlive_its_transaction(api: Api, database_url: str) -> None:
    a, _ = two_students_with_history(api)
    with psycopg.connect(database_url) as connection:
        with connection.transaction():
            connection.execute("SET LOCAL ROLE examsync_app")
            connection.execute("SELECT set_config('examsync.user_id', %s, true)", (a,))
            assert connection.execute("SELECT count(*) FROM user_test_sessions").fetchone()[0] == 1
        with connection.transaction():
            connection.execute("SET LOCAL ROLE examsync_app")
            assert connection.execute("SELECT count(*) FROM user_test_sessions").fetchone()[0] == 0
