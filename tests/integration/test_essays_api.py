"""Extended-text (essay) answers over the API, on SQLite and PostgreSQL: sent offline-queued like any answer, pending in
the results until staff grade them with the staff op `grade` and release the marks (`release_marks`, or for a whole
assignment), then the mark and comment shown, the student's sub-skill performance corrected once, and a regrade
replacing the mark."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from examsync.content_formats.importer import import_banks
from examsync.settings import Settings
from examsync.store.database import Database
from tests.conftest import Api, teach
from tests.integration.test_staff_ops_api import send, staff_account, staff_op

BANK = """$CATEGORY: writing/argument

::claim:: Which sentence states a claim? {=Cities should plant more trees. ~Trees are green.}

::essay:: Argue for or against school uniforms in about 200 words.{}
"""

ESSAY = ("Uniforms lower the cost of dressing for school and take one worry off the morning. "
         "Yet they also ask every student to look alike. ") * 3


@pytest.fixture(autouse=True)
def imported(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "writing.gift"
    path.write_text(BANK)
    database = Database(settings.database_url)
    import_banks(database, [path])
    database.dispose()


@pytest.fixture
def rivera(api: Api) -> Api:
    return staff_account(api, "teacher", "Ms Rivera")


def performance(student: Api) -> dict[str, Any]:
    return {p["sub_skill"]: p for p in student.get("/me/performance").json()}


def essay_of(results: dict[str, Any]) -> dict[str, Any]:
    return next(q for s in results["sections"] for q in s["questions"] if q["kind"] == "extended_text")


def test_an_essay_is_pending_until_graded_then_shows_the_mark_and_counts_once(student: Api, rivera: Api) -> None:
    state = student.start("writing")
    claim, essay = state["sections"][0]["questions"]
    assert essay["kind"] == "extended_text" and essay["choices"] == []
    teach(rivera, student, state["test_id"])
    # Written offline: the queued answers arrive later in one batch, with the times they were made.
    made = student.clock()
    student.clock.advance(300)
    done = student.send(state["id"], {**student.op("answer", question_id=claim["id"], answer="a"), "client_time": made},
                        {**student.op("answer", question_id=essay["id"], answer=ESSAY), "client_time": made + 1},
                        student.op("complete"))
    assert [r["status"] for r in done["results"]] == ["applied"] * 3
    assert student.resume(state["id"])["sections"][0]["answers"][essay["id"]] == ESSAY

    results = student.get(f"/sessions/{state['id']}/results").json()
    assert (results["score"], results["max_score"], results["pending_points"]) == (1, 2, 1)
    pending = essay_of(results)
    assert (pending["marking"], pending["awarded_points"], pending["your_answer"]) == ("pending", None, ESSAY)
    before = performance(student)
    assert "argument" in before and before["argument"]["attempts"] == 1  # the pending essay is not counted yet

    graded = send(rivera, state["id"], staff_op("grade", question_id=essay["id"], points=0.5,
                                                comment="A clear position; give one more reason."))
    assert graded["results"][0]["status"] == "applied"
    # Marked, not released: the student still reads "awaiting marking", the teacher reads the mark.
    results = student.get(f"/sessions/{state['id']}/results").json()
    assert (results["score"], results["pending_points"], results["marks_released"]) == (1, 1, False)
    assert (essay_of(results)["marking"], essay_of(results)["comment"]) == ("pending", None)
    assert "give one more reason" not in student.get(f"/sessions/{state['id']}/results").text
    assert performance(student)["argument"]["attempts"] == 1
    seen_by_staff = rivera.get(f"/sessions/{state['id']}/results").json()
    assert (seen_by_staff["score"], essay_of(seen_by_staff)["awarded_points"]) == (1.5, 0.5)

    released = send(rivera, state["id"], staff_op("release_marks"))
    assert released["results"][0]["status"] == "applied"
    results = student.get(f"/sessions/{state['id']}/results").json()
    assert (results["score"], results["max_score"], results["pending_points"]) == (1.5, 2, 0)
    mark = essay_of(results)
    assert (mark["marking"], mark["awarded_points"], mark["comment"]) == ("graded", 0.5, "A clear position; give one "
                                                                                          "more reason.")
    after = performance(student)["argument"]
    assert (after["attempts"], after["correct"], after["sessions"]) == (2, 1, 1)

    regrade = staff_op("grade", question_id=essay["id"], points=1, comment="On review: full marks.")
    send(rivera, state["id"], regrade)
    assert send(rivera, state["id"], regrade)["results"][0]["status"] == "duplicate"  # exactly once
    results = student.get(f"/sessions/{state['id']}/results").json()
    assert (results["score"], essay_of(results)["comment"]) == (2, "On review: full marks.")
    again = performance(student)["argument"]
    assert (again["attempts"], again["correct"], again["sessions"]) == (2, 2, 1)  # replaced, never added twice
    history = rivera.get(f"/sessions/{state['id']}/history").json()
    grades = [e for e in history if e["kind"] == "staff_grade"]
    assert [e["payload"]["points"] for e in grades] == [0.5, 1]
    # The student's log keeps each grade's place, not its points or comment (those are in the results).
    seen = [e["payload"] for e in student.get(f"/sessions/{state['id']}/history").json() if e["kind"] == "staff_grade"]
    assert seen == [{"type": "grade", "question_id": essay["id"], "redacted": True}] * 2
    releases = [e for e in history if e["kind"] == "staff_release_marks"]
    assert [(e["status"], e["payload"]["by"]) for e in releases] == [("applied", rivera.user_id)]
    again = send(rivera, state["id"], staff_op("release_marks"))["results"][0]
    assert (again["status"], again["code"]) == ("rejected", "marks_already_released")


def test_releasing_an_assignments_marks_releases_each_session_once(student: Api, rivera: Api, api: Api) -> None:
    assignment_id = teach(rivera, student, student.test_id("writing"))["assignment"]["id"]
    state = student.start("writing", assignment_id=assignment_id)
    essay = state["sections"][0]["questions"][1]
    student.send(state["id"], student.op("answer", question_id=essay["id"], answer=ESSAY), student.op("complete"))
    send(rivera, state["id"], staff_op("grade", question_id=essay["id"], points=1, comment="Well argued."))
    assert essay_of(student.get(f"/sessions/{state['id']}/results").json())["marking"] == "pending"

    assert student.post(f"/assignments/{assignment_id}/release-marks", {}).status_code == 403
    other = staff_account(api, "teacher", "Mr Okafor")
    assert other.post(f"/assignments/{assignment_id}/release-marks", {}).status_code == 404
    done = rivera.post(f"/assignments/{assignment_id}/release-marks", {})
    assert done.status_code == 200, done.text
    assert {k: done.json()[k] for k in ("sessions", "released", "already_released", "rejected")} == {
        "sessions": 1, "released": 1, "already_released": 0, "rejected": []}
    mark = essay_of(student.get(f"/sessions/{state['id']}/results").json())
    assert (mark["marking"], mark["awarded_points"], mark["comment"]) == ("graded", 1, "Well argued.")
    again = rivera.post(f"/assignments/{assignment_id}/release-marks", {}).json()
    assert (again["released"], again["already_released"]) == (0, 1)
    history = student.get(f"/sessions/{state['id']}/history").json()
    assert [e["status"] for e in history if e["kind"] == "staff_release_marks"] == ["applied"]
    assert rivera.post("/assignments/no-such-assignment/release-marks", {}).status_code == 404


def test_grades_that_cannot_apply_are_refused_with_their_codes(student: Api, rivera: Api) -> None:
    state = student.start("writing")
    claim, essay = state["sections"][0]["questions"]
    teach(rivera, student, state["test_id"])
    student.send(state["id"], student.op("answer", question_id=essay["id"], answer="Draft"))
    early = send(rivera, state["id"], staff_op("grade", question_id=essay["id"], points=1))
    assert early["results"][0]["code"] == "section_not_submitted"
    student.send(state["id"], student.op("complete"))
    refused = send(rivera, state["id"], staff_op("grade", question_id=essay["id"], points=2),
                   staff_op("grade", question_id=claim["id"], points=1))
    assert [r["code"] for r in refused["results"]] == ["points_out_of_range", "not_marked_by_staff"]
    assert student.post(f"/sessions/{state['id']}/staff-ops",
                        {"ops": [staff_op("grade", question_id=essay["id"], points=1)]}).status_code == 403
    assert student.get(f"/sessions/{state['id']}/results").json()["pending_points"] == 1


def test_an_essay_longer_than_the_limit_is_refused(student: Api) -> None:
    state = student.start("writing")
    essay = state["sections"][0]["questions"][1]
    long = student.send(state["id"], student.op("answer", question_id=essay["id"], answer="x" * 20_001))
    assert long["results"][0]["code"] == "answer_too_long"
    fits = student.send(state["id"], student.op("answer", question_id=essay["id"], answer="x" * 20_000))
    assert fits["results"][0]["status"] == "applied"


def test_item_analysis_leaves_an_essay_out_until_it_is_graded(student: Api, rivera: Api) -> None:
    assignment_id = teach(rivera, student, student.test_id("writing"))["assignment"]["id"]
    state = student.start("writing", assignment_id=assignment_id)
    claim, essay = state["sections"][0]["questions"]
    student.send(state["id"], student.op("answer", question_id=claim["id"], answer="a"),
                 student.op("answer", question_id=essay["id"], answer=ESSAY), student.op("complete"))

    def essay_row() -> dict[str, Any]:
        rows = rivera.get(f"/assignments/{assignment_id}/items").json()
        return next(r for r in rows if r["question_id"] == essay["id"])

    assert {k: essay_row()[k] for k in ("pending", "seen", "answered", "correct")} == {
        "pending": 1, "seen": 0, "answered": 0, "correct": 0}
    send(rivera, state["id"], staff_op("grade", question_id=essay["id"], points=1))
    assert {k: essay_row()[k] for k in ("pending", "seen", "answered", "correct")} == {
        "pending": 0, "seen": 1, "answered": 1, "correct": 1}
