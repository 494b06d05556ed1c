"""PostgreSQL enforces per-student isolation a second time, below the app."""

from __future__ import annotations

import psycopg
import pytest

from tests.conftest import Api, section_questions, teach

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


# ----- a teacher's transaction sees only their classes --------------------------------------------------------

STAFF_TABLES = ("classes", "class_students", "assignments", "assignment_overrides")


def visible_as(url: str, user_id: str, actor_role: str) -> dict[str, set[str]]:
    """Every row the app role sees acting for this user in this role: session tables by user_id, the class tables
    by their own key (class id, student id, assignment id, overridden student)."""
    with psycopg.connect(url) as connection, connection.transaction():
        connection.execute("SET LOCAL ROLE examsync_app")
        connection.execute("SELECT set_config('examsync.user_id', %s, true),"
                           " set_config('examsync.actor_role', %s, true)", (user_id, actor_role))
        seen = {table: {row[0] for row in connection.execute(f"SELECT user_id FROM {table}")}
                for table in SESSION_TABLES}
        seen["sessions"] = {row[0] for row in connection.execute("SELECT id FROM user_test_sessions")}
        for table, column in (("classes", "id"), ("class_students", "user_id"), ("assignments", "id"),
                              ("assignment_overrides", "user_id")):
            seen[table] = {row[0] for row in connection.execute(f"SELECT {column} FROM {table}")}
        return seen


def a_class_with_work(teacher: Api, student: Api, slug: str = "mini-diagnostic") -> dict[str, str]:
    """The teacher's class, the student in it with a completed attempt of its assignment and an override."""
    made = teach(teacher, student, teacher.test_id(slug))
    assignment = made["assignment"]["id"]
    state = student.post("/sessions", {"test_id": made["assignment"]["test_id"], "assignment_id": assignment}).json()
    question = section_questions(state, 0)[0]
    student.send(state["id"], student.op("answer", question_id=question["id"], answer="a"), student.op("complete"))
    student_id = student.user_id
    assert teacher.put(f"/assignments/{assignment}/students/{student_id}", {"max_attempts": 3}).status_code == 200
    return {"class": made["class"]["id"], "assignment": assignment, "session": state["id"], "student": student_id}


def test_a_teachers_transaction_sees_exactly_their_classes_students_rows(api: Api, client, database_url: str) -> None:
    teachers = []
    for name in ("one", "two"):
        email = f"rls-teacher-{name}@example.org"
        client.app.state.accounts.add_user(email, "teacher password", role="teacher")
        teachers.append(api.login(email, "teacher password"))
    mine = a_class_with_work(teachers[0], api.signup())
    theirs = a_class_with_work(teachers[1], api.signup())
    loner = api.signup()
    loner_state = loner.start()
    loner.send(loner_state["id"], loner.op("complete"))

    seen = visible_as(database_url, teachers[0].user_id, "teacher")
    assert seen == {
        **{table: {mine["student"]} for table in SESSION_TABLES},
        "sessions": {mine["session"]},
        "classes": {mine["class"]},
        "class_students": {mine["student"]},
        "assignments": {mine["assignment"]},
        "assignment_overrides": {mine["student"]},
    }
    # The other teacher: theirs only; a teacher with no class: nothing at all.
    assert visible_as(database_url, teachers[1].user_id, "teacher")["sessions"] == {theirs["session"]}
    client.app.state.accounts.add_user("rls-teacher-none@example.org", "teacher password", role="teacher")
    nobody = api.login("rls-teacher-none@example.org", "teacher password")
    assert visible_as(database_url, nobody.user_id, "teacher") == {
        **{table: set() for table in SESSION_TABLES}, "sessions": set(),
        **{table: set() for table in STAFF_TABLES}}
    # An admin sees everyone's.
    everything = visible_as(database_url, nobody.user_id, "admin")
    assert everything["sessions"] >= {mine["session"], theirs["session"], loner_state["id"]}
    assert everything["classes"] == {mine["class"], theirs["class"]}


def test_a_students_transaction_sees_their_class_and_assignment_but_not_the_roster(api: Api, client,
                                                                                    database_url: str) -> None:
    client.app.state.accounts.add_user("rls-teacher-s@example.org", "teacher password", role="teacher")
    teacher = api.login("rls-teacher-s@example.org", "teacher password")
    student, classmate = api.signup(), api.signup()
    made = a_class_with_work(teacher, student)
    code = teacher.get(f"/classes/{made['class']}").json()["join_code"]
    classmate.post("/classes/join", {"join_code": code})
    seen = visible_as(database_url, made["student"], "student")
    assert (seen["classes"], seen["assignments"]) == ({made["class"]}, {made["assignment"]})
    assert seen["class_students"] == {made["student"]}  # not the classmate
    assert seen["assignment_overrides"] == {made["student"]}
    assert seen["sessions"] == {made["session"]}
