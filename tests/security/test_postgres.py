"""PostgreSQL below the app: fixed search_path for every function, and no write reaches another user's rows."""

from __future__ import annotations

import psycopg
import pytest

from tests.conftest import Api
from tests.integration.test_row_level_security import two_students_with_history

pytestmark = pytest.mark.postgres

SESSION_TABLES = ("user_test_sessions", "test_section_states", "question_attempt_history", "user_sub_skill_performance")


@pytest.fixture
def backend() -> str:
    return "postgresql"


def test_every_function_of_the_app_runs_with_a_fixed_search_path(database_url: str) -> None:
    """A function (trigger, policy helper) without its own search_path resolves names through the caller's:
    a role that can create objects could then shadow a table or an operator. There may be none today; this
    stays as a guard for the first one."""
    with psycopg.connect(database_url) as connection:
        functions = connection.execute(
            """
            SELECT p.proname, p.proconfig
            FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
              AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
            """
        ).fetchall()
    unfixed = [name for name, config in functions
               if not any(setting.startswith("search_path=") for setting in (config or []))]
    assert unfixed == [], f"functions without a fixed search_path: {unfixed}"


def as_app_role(url: str, user_id: str, sql: str, *params: object) -> int:
    """Run one statement as the app's role acting for `user_id`; the number of rows it touched."""
    with psycopg.connect(url) as connection, connection.transaction():
        connection.execute("SET LOCAL ROLE examsync_app")
        connection.execute("SELECT set_config('examsync.user_id', %s, true), "
                           "set_config('examsync.actor_role', 'student', true)", (user_id,))
        return connection.execute(sql, params).rowcount


def snapshot(url: str) -> dict[str, list[tuple]]:
    with psycopg.connect(url) as connection:
        return {table: sorted(connection.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
                for table in SESSION_TABLES}


def test_the_app_role_cannot_update_or_delete_another_users_rows(api: Api, database_url: str) -> None:
    a, b = two_students_with_history(api)
    before = snapshot(database_url)
    for table in SESSION_TABLES:
        assert as_app_role(database_url, a, f"UPDATE {table} SET user_id = user_id WHERE user_id = %s", b) == 0
        assert as_app_role(database_url, a, f"DELETE FROM {table} WHERE user_id = %s", b) == 0
        assert as_app_role(database_url, a, f"UPDATE {table} SET user_id = user_id") > 0  # A's own rows only
    assert snapshot(database_url) == before


def test_the_app_role_cannot_move_its_own_rows_to_another_user(api: Api, database_url: str) -> None:
    a, b = two_students_with_history(api)
    for table in ("user_test_sessions", "question_attempt_history", "user_sub_skill_performance"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            as_app_role(database_url, a, f"UPDATE {table} SET user_id = %s WHERE user_id = %s", b, a)


def test_without_an_acting_user_nothing_changes_and_security_cannot_be_switched_off(api: Api, database_url: str) -> None:
    a, b = two_students_with_history(api)
    # Without the acting user set, the role sees and changes nothing at all.
    with psycopg.connect(database_url) as connection, connection.transaction():
        connection.execute("SET LOCAL ROLE examsync_app")
        for table in SESSION_TABLES:
            assert connection.execute(f"UPDATE {table} SET user_id = user_id").rowcount == 0
            assert connection.execute(f"DELETE FROM {table}").rowcount == 0
    # And the role cannot turn row-level security off, or leave its role.
    for statement in ("ALTER TABLE user_test_sessions DISABLE ROW LEVEL SECURITY",
                      "ALTER TABLE user_test_sessions NO FORCE ROW LEVEL SECURITY",
                      "DROP POLICY own_rows ON user_test_sessions"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            as_app_role(database_url, a, statement)
    assert all(any(b in row for row in rows) for rows in snapshot(database_url).values())
