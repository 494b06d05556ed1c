"""The reports end to end, in process, on SQLite and PostgreSQL: students sit the mini diagnostic through the API as
attempts of one assignment, and a teacher reads the results (JSON and CSV), the item analysis, the export and the
gradebook.

The mini diagnostic has four one-point questions: q1 (single choice, b), q2 (multiple choice, a and b) in section
one; q3 (numeric, 12), q4 (short answer, "numerator") in section two. Sub-skills: addition (q1, q3), fractions
(q2, q4). The class:

    student  q1  q2      q3    q4           score  percent  notes
    Ann      b   [a, b]  12    numerator    4      100
    Ben      b   [a]     12    six          2      50
    Cat      a   [a, b]  13    numerator    2      50
    Dan      c   [a, b]  1     -            1      25       leaves q4 blank (saw it)
    Eve      b   -       -     -            1      25       first attempt
    Eve      b   [a, b]  12    two          3      75       second attempt: the graded one (highest)
    Fay      b   (still in section one)                     active
    Gus      (never started)                                not_started

Each student spends 30 s on q1 (navigate, 30 s, answer) except Ann, 90 s; the other questions 10 s.
"""

from __future__ import annotations

import csv
import io
import math
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, update

from examsync.store.database import Database
from examsync.store.tables import assignments, class_students, classes, user_test_sessions
from tests.conftest import Api, FakeClock, section_questions
from tests.test_api_examples import API_DOC, examples, mismatches, read_example

BLANK = ""  # the student saw the question and left it blank

ANSWERS = {  # name: attempts, each (q1, q2, q3, q4) or None for a question not reached
    "Ann": [("b", ["a", "b"], "12", "numerator")],
    "Ben": [("b", ["a"], "12", "six")],
    "Cat": [("a", ["a", "b"], "13", "numerator")],
    "Dan": [("c", ["a", "b"], "1", BLANK)],
    "Eve": [("b", None, None, None), ("b", ["a", "b"], "12", "two")],
}


def sign_up(api: Api, name: str) -> Api:
    email = f"{name.lower()}-{uuid.uuid4().hex[:6]}@example.org"
    response = api.client.post("/api/v1/auth/signup", json={"email": email, "password": "correct horse battery",
                                                            "display_name": name})
    assert response.status_code == 201, response.text
    return api.login(email, "correct horse battery")


def user_id(api: Api) -> str:
    return api.get("/me").json()["user_id"]


def make_class(database_url: str, owner_id: str, student_ids: list[str], test_ids: list[str],
               clock: FakeClock) -> tuple[str, list[str]]:
    """A class of the owner with these students and one assignment per test (until the classes API is on main)."""
    class_id, assignment_ids = str(uuid.uuid4()), [str(uuid.uuid4()) for _ in test_ids]
    database = Database(database_url)
    with database.owner_transaction() as connection:
        connection.execute(insert(classes).values(id=class_id, name="Year 9 maths", owner_id=owner_id,
                                                  join_code=uuid.uuid4().hex[:8], created_at=clock()))
        for student_id in student_ids:
            connection.execute(insert(class_students).values(class_id=class_id, user_id=student_id,
                                                             joined_at=clock()))
        for position, (assignment_id, test_id) in enumerate(zip(assignment_ids, test_ids)):
            connection.execute(insert(assignments).values(
                id=assignment_id, class_id=class_id, test_id=test_id, opens_at=clock() - 1000 + position,
                closes_at=None, max_attempts=None, created_by=owner_id, created_at=clock()))
    database.dispose()
    return class_id, assignment_ids


def attach(database_url: str, session_id: str, assignment_id: str) -> None:
    """Make a session an attempt of the assignment (until POST /sessions takes an assignment_id)."""
    database = Database(database_url)
    with database.owner_transaction() as connection:
        connection.execute(update(user_test_sessions).where(user_test_sessions.c.id == session_id)
                           .values(assignment_id=assignment_id))
    database.dispose()


def sit(student: Api, clock: FakeClock, answers: tuple[Any, ...], q1_seconds: int, *, finish: bool = True) -> str:
    """One attempt of the mini diagnostic, as the web app makes it: a navigate to each question it shows, the answer
    after the time spent on it. A question whose answer is None is not reached."""
    state = student.start()
    (q1, q2), (q3, q4) = section_questions(state, 0), section_questions(state, 1)
    ops = []
    for question, answer, seconds in ((q1, answers[0], q1_seconds), (q2, answers[1], 10), (q3, answers[2], 10),
                                      (q4, answers[3], 10)):
        if answer is None:
            break
        if question is q3:
            ops.append(student.op("submit_section", section_id=state["sections"][0]["section_id"]))
        ops.append(student.op("navigate", question_id=question["id"]))
        clock.advance(seconds)
        if answer != BLANK:
            ops.append(student.op("answer", question_id=question["id"], answer=answer))
    if finish:
        ops.append(student.op("complete"))
    results = student.send(state["id"], *ops)["results"]
    assert all(r["status"] == "applied" for r in results), results
    clock.advance(1)
    return state["id"]


def documented_shapes() -> dict[str, Any]:
    """The answer shapes docs/api.md shows under "Reports", by subsection."""
    text = API_DOC.read_text()
    reports = text[text.index("\n## Reports\n"):text.index("\n## Live updates\n")]
    shapes = [read_example(e.text) for e in examples(reports) if e.kind == "file"]
    return dict(zip(["results", "items", "export", "gradebook"], shapes, strict=True))


@dataclass
class Class:
    teacher: Api
    students: dict[str, Api]
    ids: dict[str, str]
    class_id: str
    assignment_id: str
    practice_assignment_id: str
    sessions: dict[str, list[str]]


@pytest.fixture
def klass(api: Api, teacher: Api, clock: FakeClock, database_url: str) -> Class:
    students = {name: sign_up(api, name) for name in ("Ann", "Ben", "Cat", "Dan", "Eve", "Fay", "Gus")}
    ids = {name: user_id(s) for name, s in students.items()}
    class_id, (assignment_id, practice_id) = make_class(
        database_url, user_id(teacher), list(ids.values()),
        [teacher.test_id("mini-diagnostic"), teacher.test_id("mini-practice")], clock)
    sessions: dict[str, list[str]] = {}
    for name, attempts in ANSWERS.items():
        for answers in attempts:
            session_id = sit(students[name], clock, answers, 90 if name == "Ann" else 30)
            attach(database_url, session_id, assignment_id)
            sessions.setdefault(name, []).append(session_id)
    fay = sit(students["Fay"], clock, ("b", None, None, None), 30, finish=False)
    attach(database_url, fay, assignment_id)
    sessions["Fay"] = [fay]
    return Class(teacher, students, ids, class_id, assignment_id, practice_id, sessions)


def test_results_grade_each_enrolled_student_by_their_best_completed_attempt(klass: Class) -> None:
    response = klass.teacher.get(f"/assignments/{klass.assignment_id}/results")
    assert response.status_code == 200, response.text
    body = response.json()
    rows = {row["display_name"]: row for row in body["students"]}
    assert list(rows) == ["Ann", "Ben", "Cat", "Dan", "Eve", "Fay", "Gus"]
    assert {name: (r["status"], r["score"], r["max_score"], r["percent"]) for name, r in rows.items()} == {
        "Ann": ("completed", 4.0, 4.0, 100.0), "Ben": ("completed", 2.0, 4.0, 50.0),
        "Cat": ("completed", 2.0, 4.0, 50.0), "Dan": ("completed", 1.0, 4.0, 25.0),
        "Eve": ("completed", 3.0, 4.0, 75.0), "Fay": ("active", None, None, None),
        "Gus": ("not_started", None, None, None),
    }
    assert rows["Eve"]["session_id"] == klass.sessions["Eve"][1] and rows["Eve"]["attempts"] == 2
    assert rows["Gus"]["session_id"] is None and rows["Gus"]["attempts"] == 0 and rows["Gus"]["by_sub_skill"] == {}
    assert isinstance(rows["Ann"]["submitted_at"], int) and rows["Fay"]["submitted_at"] is None
    # Ben: q1 right, q3 right (addition 2 of 2); q2, q4 wrong (fractions 0 of 2).
    assert rows["Ben"]["by_sub_skill"] == {
        "addition": {"name": "Addition", "correct": 2, "total": 2, "score": 2.0, "max_score": 2.0, "percent": 100.0},
        "fractions": {"name": "Fractions", "correct": 0, "total": 2, "score": 0.0, "max_score": 2.0, "percent": 0.0},
    }
    # percents 100, 50, 50, 25, 75: mean 60, median 50; squared deviations 1600 + 100 + 100 + 1225 + 225 = 3250,
    # sample variance 3250 / 4 = 812.5, stdev 28.5044
    assert body["summary"] == {"count": 5, "mean": 60.0, "median": 50.0, "stdev": pytest.approx(28.5044, abs=1e-4),
                               "min": 25.0, "max": 100.0}


def test_results_as_csv_have_a_header_and_a_column_per_sub_skill(klass: Class, database_url: str) -> None:
    # A display name a spreadsheet would run as a formula is written as text.
    database = Database(database_url)
    with database.owner_transaction() as connection:
        from examsync.store.tables import users
        connection.execute(update(users).where(users.c.id == klass.ids["Gus"]).values(display_name="=HYPERLINK(1)"))
    database.dispose()
    response = klass.teacher.get(f"/assignments/{klass.assignment_id}/results", params={"format": "csv"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["user_id", "display_name", "email", "status", "session_id", "attempts", "score", "max_score",
                       "percent", "submitted_at", "Addition (%)", "Fractions (%)"]
    by_name = {row[1]: row for row in rows[1:]}
    assert len(rows) == 8
    assert by_name["Ben"][3:4] + by_name["Ben"][5:9] == ["completed", "1", "2.0", "4.0", "50.0"]
    assert by_name["Ben"][10:] == ["100.0", "0.0"]
    assert by_name["Eve"][4:6] == [klass.sessions["Eve"][1], "2"]
    assert by_name["Fay"][3:4] + by_name["Fay"][5:] == ["active", "1", "", "", "", "", "", ""]
    assert by_name["'=HYPERLINK(1)"][3] == "not_started"


def test_the_item_analysis_counts_the_graded_attempts(klass: Class) -> None:
    response = klass.teacher.get(f"/assignments/{klass.assignment_id}/items")
    assert response.status_code == 200, response.text
    q1, q2, q3, q4 = response.json()
    assert q1["stem_preview"] == "2 + 2 = ?" and q1["kind"] == "single_choice"
    # q1 over Ann Ben Cat Dan Eve(second attempt): b b a c b → 3 of 5 right.
    assert (q1["seen"], q1["answered"], q1["correct"], q1["facility"]) == (5, 5, 3, 0.6)
    # x = 1 1 0 0 1, totals 4 2 2 1 3, rest y = 3 1 2 1 2: Σx 3, Σy 9, Σy² 19, Σxy 6.
    # Sxy = 6 − 27/5 = 0.6, Sxx = 3 − 9/5 = 1.2, Syy = 19 − 81/5 = 2.8; r = 0.6 / √3.36 = 0.3273
    assert q1["discrimination"] == pytest.approx(0.6 / math.sqrt(3.36), abs=1e-4)
    # k = (27·5 + 50) // 100 = 1: the upper group is Ann (b, right), the lower Dan (c, wrong).
    assert q1["upper_lower"] == 1.0
    assert q1["choices"] == [
        {"choice_id": "a", "text": "3", "correct": False, "count": 1, "share": 0.2, "upper_share": 0.0,
         "lower_share": 0.0},
        {"choice_id": "b", "text": "4", "correct": True, "count": 3, "share": 0.6, "upper_share": 1.0,
         "lower_share": 0.0},
        {"choice_id": "c", "text": "5", "correct": False, "count": 1, "share": 0.2, "upper_share": 0.0,
         "lower_share": 1.0},
    ]
    # Time on q1: Ann 90 s, the others 30 s → median 30 s. The others: 10 s each.
    assert q1["median_time_ms"] == 30_000 and q2["median_time_ms"] == 10_000
    # q2 [a, b] right for Ann, Cat, Dan, Eve: 4 of 5; choice a held by all five, b by four.
    assert (q2["correct"], q2["facility"]) == (4, 0.8)
    assert [(c["choice_id"], c["count"], c["correct"]) for c in q2["choices"]] == [
        ("a", 5, True), ("b", 4, True), ("c", 0, False)]
    # q3: 12 12 13 1 12 → 3 of 5; q4: Dan saw it and left it blank: answered 4, right Ann and Cat.
    assert (q3["correct"], q3["facility"], q3["choices"]) == (3, 0.6, [])
    assert (q4["seen"], q4["answered"], q4["correct"], q4["facility"]) == (5, 4, 2, 0.4)


def test_the_export_holds_every_session_with_its_state_and_its_whole_log(klass: Class) -> None:
    response = klass.teacher.get(f"/assignments/{klass.assignment_id}/export")
    assert response.status_code == 200, response.text
    bundle = response.json()
    assert bundle["format"] == "examsync-assignment-export"
    assert bundle["assignment"]["id"] == klass.assignment_id and bundle["assignment"]["class_name"] == "Year 9 maths"
    assert bundle["test"]["title"] == "Mini diagnostic"
    assert len(bundle["students"]) == 7
    sessions = {s["id"]: s for s in bundle["sessions"]}
    assert set(sessions) == {sid for ids in klass.sessions.values() for sid in ids}
    ann = sessions[klass.sessions["Ann"][0]]
    history = klass.students["Ann"].get(f"/sessions/{ann['id']}/history").json()
    assert ann["log"] == history
    assert ann["chain"] == {"intact": True, "break": None}
    assert ann["status"] == "completed" and ann["score"]["score"] == 4.0
    assert sorted(len(s["answers"]) for s in ann["sections"]) == [2, 2]
    assert sessions[klass.sessions["Fay"][0]]["status"] == "active"


def test_the_gradebook_shows_each_student_against_each_assignment(klass: Class) -> None:
    response = klass.teacher.get(f"/classes/{klass.class_id}/gradebook")
    assert response.status_code == 200, response.text
    book = response.json()
    assert [(a["id"], a["title"]) for a in book["assignments"]] == [
        (klass.assignment_id, "Mini diagnostic"), (klass.practice_assignment_id, "Mini practice")]
    rows = {s["display_name"]: s for s in book["students"]}
    assert rows["Eve"]["cells"][klass.assignment_id] == {
        "session_id": klass.sessions["Eve"][1], "status": "completed", "percent": 75.0}
    assert rows["Fay"]["cells"][klass.assignment_id] == {
        "session_id": klass.sessions["Fay"][0], "status": "active", "percent": None}
    assert rows["Gus"]["cells"] == {
        klass.assignment_id: {"session_id": None, "status": "not_started", "percent": None},
        klass.practice_assignment_id: {"session_id": None, "status": "not_started", "percent": None}}
    assert rows["Ann"]["email"].startswith("ann-")


def test_the_answers_have_the_shapes_the_api_docs_show(klass: Class) -> None:
    shapes = documented_shapes()
    for name, path in (("results", f"/assignments/{klass.assignment_id}/results"),
                       ("items", f"/assignments/{klass.assignment_id}/items"),
                       ("export", f"/assignments/{klass.assignment_id}/export")):
        real = klass.teacher.get(path).json()
        shown = [shapes[name]] if isinstance(real, list) else shapes[name]
        assert mismatches(shown, real) == [], name


def test_a_student_who_left_the_class_is_no_longer_in_its_reports(klass: Class, database_url: str) -> None:
    from sqlalchemy import delete

    database = Database(database_url)
    with database.owner_transaction() as connection:
        connection.execute(delete(class_students).where(class_students.c.user_id == klass.ids["Ann"]))
    database.dispose()
    results = klass.teacher.get(f"/assignments/{klass.assignment_id}/results").json()
    assert "Ann" not in [r["display_name"] for r in results["students"]] and results["summary"]["count"] == 4
    exported = klass.teacher.get(f"/assignments/{klass.assignment_id}/export").json()
    assert klass.sessions["Ann"][0] not in [s["id"] for s in exported["sessions"]]


def test_reports_of_an_assignment_nobody_has_started_are_empty_but_whole(klass: Class) -> None:
    results = klass.teacher.get(f"/assignments/{klass.practice_assignment_id}/results").json()
    assert [r["status"] for r in results["students"]] == ["not_started"] * 7
    assert results["summary"] == {"count": 0, "mean": None, "median": None, "stdev": None, "min": None, "max": None}
    (item,) = klass.teacher.get(f"/assignments/{klass.practice_assignment_id}/items").json()
    assert (item["seen"], item["facility"], item["discrimination"], item["median_time_ms"]) == (0, None, None, None)


def test_a_report_makes_as_many_queries_for_a_large_class_as_for_a_small_one(
        api: Api, teacher: Api, clock: FakeClock, database_url: str, client: TestClient) -> None:
    """No round trips per student: each report reads each table once, whatever the class's size."""
    from sqlalchemy import event

    students = [sign_up(api, f"P{i:02d}") for i in range(9)]
    class_id, (assignment_id,) = make_class(database_url, user_id(teacher), [user_id(s) for s in students],
                                            [teacher.test_id("mini-diagnostic")], clock)
    paths = (f"/assignments/{assignment_id}/results", f"/assignments/{assignment_id}/results?format=csv",
             f"/assignments/{assignment_id}/items", f"/assignments/{assignment_id}/export",
             f"/classes/{class_id}/gradebook")
    engine = client.app.state.database.engine  # type: ignore[attr-defined]

    def statements_per_report() -> list[int]:
        counts = []
        for path in paths:
            seen: list[str] = []

            def count(*args: Any) -> None:
                seen.append(args[2])

            event.listen(engine, "before_cursor_execute", count)
            try:
                assert teacher.get(path).status_code == 200
            finally:
                event.remove(engine, "before_cursor_execute", count)
            counts.append(len(seen))
        return counts

    for student in students[:2]:
        attach(database_url, sit(student, clock, ("b", ["a"], "12", "x"), 5), assignment_id)
    statements_per_report()  # the test's content is read once, then cached
    small = statements_per_report()
    for student in students[2:]:
        attach(database_url, sit(student, clock, ("a", ["a", "b"], "12", BLANK), 5), assignment_id)
    assert statements_per_report() == small
    # Everyone has completed the one assignment: the gradebook's documented shape shows such a cell.
    assert mismatches(documented_shapes()["gradebook"], teacher.get(f"/classes/{class_id}/gradebook").json()) == []
