"""Assignments over the API, on SQLite and PostgreSQL: the window, attempts, per-student overrides, what happens
at the close ('submit' or 'grace'), self-study tests, the student's and the teacher's lists, and deletion."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api, section_questions, teach

HOUR = 3600 * 1000


@pytest.fixture
def mini(teacher: Api) -> str:
    return teacher.test_id("mini-diagnostic")


def not_self_study(admin: Api, test_id: str) -> None:
    response = admin.patch(f"/tests/{test_id}", {"self_study": False})
    assert response.status_code == 200, response.text
    assert response.json()["self_study"] is False


def attempt(student: Api, test_id: str, assignment_id: str | None) -> Any:
    return student.post("/sessions", {"test_id": test_id, "assignment_id": assignment_id})


def error_code(response: Any) -> str:
    return response.json()["error"]["code"]


def answer_first(student: Api, state: dict[str, Any], **batch: Any) -> dict[str, Any]:
    question = section_questions(state)[0]
    return student.send(state["id"], student.op("answer", question_id=question["id"], answer="b"), **batch)


def test_an_assignment_is_created_with_the_pinned_fields(teacher: Api, student: Api, mini: str) -> None:
    now = teacher.clock()
    made = teach(teacher, student, mini, closes_at=now + HOUR, max_attempts=2, time_multiplier=1.5,
                 extra_seconds=60, on_close="grace", grace_seconds=120)
    assignment = made["assignment"]
    assert {k: assignment[k] for k in ("class_id", "test_id", "opens_at", "closes_at", "max_attempts",
                                       "time_multiplier", "extra_seconds", "on_close", "grace_seconds")} == {
        "class_id": made["class"]["id"], "test_id": mini, "opens_at": now, "closes_at": now + HOUR,
        "max_attempts": 2, "time_multiplier": 1.5, "extra_seconds": 60, "on_close": "grace", "grace_seconds": 120}
    assert assignment["state"] == "open" and assignment["test_title"] == "Mini diagnostic"
    assert teacher.get(f"/assignments/{assignment['id']}").json()["overrides"] == []


@pytest.mark.parametrize("body, field", [
    ({"closes_at": -1}, "closes_at"),  # replaced below by a time before opens_at
    ({"max_attempts": 0}, "max_attempts"),
    ({"time_multiplier": 0}, "time_multiplier"),
    ({"time_multiplier": -1.5}, "time_multiplier"),
    ({"on_close": "drop"}, "on_close"),
    ({"grace_seconds": -5}, "grace_seconds"),
    ({"colour": "red"}, "colour"),
])
def test_invalid_assignments_are_refused_with_a_clear_message(teacher: Api, mini: str, body: dict, field: str) -> None:
    created = teacher.post("/classes", {"name": "C"}).json()
    now = teacher.clock()
    if body.get("closes_at") == -1:
        body = {"closes_at": now - 1000}
    response = teacher.post(f"/classes/{created['id']}/assignments", {"test_id": mini, "opens_at": now, **body})
    assert response.status_code == 422, response.text
    assert error_code(response) == "invalid_request"
    assert field in response.text


def test_the_window_and_the_attempts_decide_whether_an_attempt_starts(teacher: Api, student: Api, mini: str) -> None:
    now = teacher.clock()
    made = teach(teacher, student, mini, max_attempts=2)
    assignment = made["assignment"]["id"]
    teacher.patch(f"/assignments/{assignment}", {"opens_at": now + HOUR, "closes_at": now + 2 * HOUR})

    early = attempt(student, mini, assignment)
    assert early.status_code == 409 and error_code(early) == "assignment_not_open"
    assert student.get("/assignments").json()[0]["state"] == "upcoming"

    student.clock.advance(HOUR / 1000)
    first = attempt(student, mini, assignment)
    assert first.status_code == 201
    assert first.json()["assignment_id"] == assignment and first.json()["closes_at"] == now + 2 * HOUR
    again = attempt(student, mini, assignment)  # still active: resumed
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    listed = student.get("/assignments").json()[0]
    assert (listed["state"], listed["attempts_used"], listed["session_id"]) == ("open", 1, first.json()["id"])

    student.send(first.json()["id"], student.op("complete"))
    second = attempt(student, mini, assignment)
    assert second.status_code == 201 and second.json()["id"] != first.json()["id"]
    student.send(second.json()["id"], student.op("complete"))
    used_up = attempt(student, mini, assignment)
    assert used_up.status_code == 409 and error_code(used_up) == "attempts_exhausted"
    listed = student.get("/assignments").json()[0]
    assert (listed["attempts_used"], listed["attempts_left"], listed["session_id"]) == (2, 0, None)

    student.clock.advance(HOUR / 1000)
    closed = attempt(student, mini, assignment)
    assert closed.status_code == 409 and error_code(closed) == "assignment_closed"
    assert student.get("/assignments").json()[0]["state"] == "closed"


def test_a_student_outside_the_class_cannot_start_or_see_it(teacher: Api, student: Api, api: Api,
                                                            mini: str) -> None:
    assignment = teach(teacher, student, mini)["assignment"]["id"]
    outsider = api.signup()
    response = attempt(outsider, mini, assignment)
    assert response.status_code == 404 and error_code(response) == "not_found"
    assert outsider.get(f"/assignments/{assignment}").status_code == 404
    assert outsider.get("/assignments").json() == []
    wrong_test = attempt(student, teacher.test_id("mini-practice"), assignment)
    assert wrong_test.status_code == 422


def test_a_test_that_is_not_self_study_is_taken_only_as_an_assignment(teacher: Api, admin: Api, student: Api,
                                                                      api: Api, mini: str) -> None:
    not_self_study(admin, mini)
    loner = api.signup()
    assert mini not in {t["id"] for t in loner.get("/tests").json()}
    assert "mini-practice" in {t["slug"] for t in loner.get("/tests").json()}  # still self-study
    refused = attempt(loner, mini, None)
    assert refused.status_code == 409 and error_code(refused) == "assignment_required"

    assignment = teach(teacher, student, mini)["assignment"]["id"]
    assert mini in {t["id"] for t in student.get("/tests").json()}
    assert attempt(student, mini, None).status_code == 409
    assert attempt(student, mini, assignment).status_code == 201
    # Only an admin changes the catalogue.
    assert teacher.patch(f"/tests/{mini}", {"self_study": True}).status_code == 403
    assert student.patch(f"/tests/{mini}", {"self_study": True}).status_code == 403


def test_the_assignment_and_the_override_add_time_on_top_of_the_students_own(teacher: Api, student: Api,
                                                                             mini: str) -> None:
    made = teach(teacher, student, mini, time_multiplier=1.5)
    assignment = made["assignment"]["id"]
    assert teacher.put(f"/users/{student.user_id}/time", {"time_multiplier": 2.0}).status_code == 200
    state = attempt(student, mini, assignment).json()
    assert [s["time_limit_ms"] for s in state["sections"]] == [1_800_000, 900_000]  # 600 s, 300 s × 1.5 × 2
    student.send(state["id"], student.op("complete"))

    put = teacher.put(f"/assignments/{assignment}/students/{student.user_id}", {"extra_seconds": 30})
    assert put.status_code == 200
    assert put.json()["changes"] == {"extra_seconds": 30}
    assert put.json()["effective"]["time_multiplier"] == 1.5  # kept from the assignment
    state = attempt(student, mini, assignment).json()
    assert [s["time_limit_ms"] for s in state["sections"]] == [1_830_000, 930_000]
    assert student.get("/assignments").json()[0]["overridden"] == ["extra_seconds"]


def test_an_override_extends_one_students_window_and_attempts(teacher: Api, student: Api, api: Api,
                                                              mini: str) -> None:
    now = teacher.clock()
    made = teach(teacher, student, mini, closes_at=now + HOUR, max_attempts=1)
    assignment, class_code = made["assignment"]["id"], made["class"]["join_code"]
    other = api.signup()
    other.post("/classes/join", {"join_code": class_code})
    put = teacher.put(f"/assignments/{assignment}/students/{student.user_id}",
                      {"closes_at": now + 3 * HOUR, "max_attempts": None})
    assert put.status_code == 200 and put.json()["effective"]["max_attempts"] is None

    student.clock.advance(2 * HOUR / 1000)
    assert error_code(attempt(other, mini, assignment)) == "assignment_closed"
    for _ in range(2):
        started = attempt(student, mini, assignment)
        assert started.status_code == 201 and started.json()["closes_at"] == now + 3 * HOUR
        student.send(started.json()["id"], student.op("complete"))
    mine = student.get("/assignments").json()[0]
    assert (mine["state"], mine["closes_at"], mine["max_attempts"]) == ("open", now + 3 * HOUR, None)
    assert other.get("/assignments").json()[0]["state"] == "closed"

    assert teacher.delete(f"/assignments/{assignment}/students/{student.user_id}").status_code == 204
    assert error_code(attempt(student, mini, assignment)) == "assignment_closed"
    assert teacher.delete(f"/assignments/{assignment}/students/{student.user_id}").status_code == 404


def test_override_requests_are_validated(teacher: Api, student: Api, api: Api, mini: str) -> None:
    made = teach(teacher, student, mini)
    assignment = made["assignment"]["id"]
    base = f"/assignments/{assignment}/students/{student.user_id}"
    for body in ({}, {"max_attempts": 0}, {"time_multiplier": 0}, {"closes_at": made["assignment"]["opens_at"]},
                 {"on_close": "grace"}):
        response = teacher.put(base, body)
        assert response.status_code == 422, body
        assert error_code(response) == "invalid_request"
    outsider = api.signup()
    assert teacher.put(f"/assignments/{assignment}/students/{outsider.user_id}", {"max_attempts": 3}).status_code == 404


def test_at_the_close_the_server_submits_with_every_acknowledged_answer(teacher: Api, student: Api, client,
                                                                        mini: str) -> None:
    now = teacher.clock()
    assignment = teach(teacher, student, mini, closes_at=now + 60_000)["assignment"]["id"]
    state = attempt(student, mini, assignment).json()
    assert answer_first(student, state)["results"][0]["status"] == "applied"
    student.clock.advance(61)
    assert client.app.state.service.sweep_expired() == 1
    after = student.resume(state["id"])
    assert after["status"] == "completed"
    assert after["sections"][0]["answers"] == {section_questions(state)[0]["id"]: "b"}
    ended = [e for e in student.get(f"/sessions/{state['id']}/history").json() if e["kind"] == "session_ended"]
    assert ended[0]["payload"]["rule"] == "close_time" and ended[0]["payload"]["ended_at"] == now + 60_000


def test_with_grace_work_done_before_the_close_is_taken_after_it(teacher: Api, student: Api, client,
                                                                 mini: str) -> None:
    now = teacher.clock()
    assignment = teach(teacher, student, mini, closes_at=now + 60_000, on_close="grace",
                       grace_seconds=120)["assignment"]["id"]
    state = attempt(student, mini, assignment).json()
    assert state["close_grace_ms"] == 120_000
    questions = section_questions(state)
    made_before_close = student.op("answer", question_id=questions[0]["id"], answer="b")  # made offline at now
    student.clock.advance(90)  # past the close, within the grace: the device comes back online
    assert client.app.state.service.sweep_expired() == 0
    late = student.op("answer", question_id=questions[1]["id"], answer=["a"])  # made after the close
    results = student.send(state["id"], made_before_close, late, sent_at=student.clock())["results"]
    assert [r["status"] for r in results] == ["applied", "rejected"]
    assert results[1]["code"] == "time_expired"

    assert client.app.state.service.sweep_expired() == 0
    student.clock.advance(91)  # the grace (120 s after the close at 60 s) is over
    assert client.app.state.service.sweep_expired() == 1
    after = student.resume(state["id"])
    assert after["status"] == "completed"
    assert after["sections"][0]["answers"] == {questions[0]["id"]: "b"}


def test_a_new_close_time_applies_to_attempts_already_running(teacher: Api, student: Api, client,
                                                              mini: str) -> None:
    now = teacher.clock()
    assignment = teach(teacher, student, mini, closes_at=now + 60_000)["assignment"]["id"]
    state = attempt(student, mini, assignment).json()
    moved = teacher.patch(f"/assignments/{assignment}", {"closes_at": now + HOUR})
    assert moved.status_code == 200 and moved.json()["closes_at"] == now + HOUR
    student.clock.advance(120)
    client.app.state.service.sweep_expired()
    assert student.resume(state["id"])["status"] == "active"
    assert student.resume(state["id"])["closes_at"] == now + HOUR
    bad = teacher.patch(f"/assignments/{assignment}", {"closes_at": now - HOUR})
    assert bad.status_code == 422 and "closes_at" in bad.json()["error"]["message"]


def test_the_teachers_list_counts_students_and_active_attempts(teacher: Api, student: Api, api: Api,
                                                               mini: str) -> None:
    made = teach(teacher, student, mini)
    api.signup().post("/classes/join", {"join_code": made["class"]["join_code"]})
    attempt(student, mini, made["assignment"]["id"])
    rows = teacher.get("/assignments").json()
    assert len(rows) == 1
    row = rows[0]
    assert (row["id"], row["class_name"], row["test_title"]) == (
        made["assignment"]["id"], made["class"]["name"], "Mini diagnostic")
    assert (row["student_count"], row["active_count"], row["state"]) == (2, 1, "open")


def test_deleting_an_assignment_submits_its_active_attempts_and_keeps_the_sessions(teacher: Api, student: Api,
                                                                                  mini: str) -> None:
    assignment = teach(teacher, student, mini)["assignment"]["id"]
    state = attempt(student, mini, assignment).json()
    answer_first(student, state)
    deleted = teacher.delete(f"/assignments/{assignment}")
    assert deleted.status_code == 200
    assert deleted.json() == {"id": assignment, "deleted": True, "sessions_submitted": 1, "sessions_kept": 1}
    after = student.resume(state["id"])
    assert after["status"] == "completed" and after["assignment_id"] is None
    assert after["sections"][0]["answers"] == {section_questions(state)[0]["id"]: "b"}
    assert student.get(f"/sessions/{state['id']}/results").status_code == 200
    assert student.get("/assignments").json() == []
    assert teacher.get(f"/assignments/{assignment}").status_code == 404


def test_a_self_study_session_of_the_test_gives_way_to_the_assigned_attempt(teacher: Api, student: Api,
                                                                          mini: str) -> None:
    practice = student.start("mini-diagnostic")
    answer_first(student, practice)
    assignment = teach(teacher, student, mini)["assignment"]["id"]
    started = attempt(student, mini, assignment)
    assert started.status_code == 201 and started.json()["id"] != practice["id"]
    assert started.json()["assignment_id"] == assignment
    before = student.resume(practice["id"])
    assert before["status"] == "completed"
    assert before["sections"][0]["answers"] == {section_questions(practice)[0]["id"]: "b"}
    # Without an assignment_id, the running attempt is what a device resumes.
    resumed = attempt(student, mini, None)
    assert resumed.status_code == 200 and resumed.json()["id"] == started.json()["id"]


def test_a_content_file_may_make_a_test_assigned_only_and_a_reimport_keeps_what_an_admin_set(
        database_url: str, tmp_path, admin: Api, api: Api, mini: str) -> None:
    import yaml

    from examsync.content_import import import_files
    from examsync.store.database import Database
    from tests.conftest import MINI_CONTENT

    document = yaml.safe_load(MINI_CONTENT.read_text())
    document["tests"] = [t for t in document["tests"] if t["slug"] == "mini-practice"]
    stated, silent = tmp_path / "stated.yaml", tmp_path / "silent.yaml"
    stated.write_text(yaml.safe_dump({**document, "tests": [{**document["tests"][0], "self_study": False}]}))
    silent.write_text(yaml.safe_dump(document))
    practice = admin.test_id("mini-practice")
    database = Database(database_url)
    try:
        import_files(database, [stated])
        assert {t["slug"]: t["self_study"] for t in admin.get("/tests").json()}["mini-practice"] is False
        loner = api.signup()
        assert "mini-practice" not in {t["slug"] for t in loner.get("/tests").json()}
        assert error_code(attempt(loner, practice, None)) == "assignment_required"
        assert admin.patch(f"/tests/{practice}", {"self_study": True}).status_code == 200
        import_files(database, [silent])  # says nothing: the admin's choice stays
        assert attempt(loner, practice, None).status_code == 201
    finally:
        database.dispose()
