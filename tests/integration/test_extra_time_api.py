"""`PUT /api/v1/sessions/{id}/time`: where extra time goes, on SQLite and PostgreSQL."""

from __future__ import annotations

from tests.conftest import Api, section_questions, teach
from tests.integration.test_live import connect, events_in, read_until, wait_for_seq


def limits(student: Api, session_id: str) -> list[int]:
    return [s["time_limit_ms"] for s in student.resume(session_id)["sections"]]


def started(student: Api) -> dict:
    state = student.start()  # mini-diagnostic: 600 s, then 300 s
    student.send(state["id"], student.op("navigate", question_id=section_questions(state)[0]["id"]))
    return state


def test_extra_seconds_go_to_the_current_section_unless_the_scope_says_otherwise(student: Api, teacher: Api) -> None:
    teach(teacher, student, student.test_id("mini-diagnostic"))  # the student is in the teacher's class
    state = started(student)

    assert teacher.put(f"/sessions/{state['id']}/time", {"extra_seconds": 600}).status_code == 200
    assert limits(student, state["id"]) == [1_200_000, 300_000]

    second = state["sections"][1]["section_id"]
    response = teacher.put(f"/sessions/{state['id']}/time",
                           {"extra_seconds": 60, "scope": "section", "section_id": second})
    assert response.status_code == 200
    assert [s["time_limit_ms"] for s in response.json()["sections"]] == [1_200_000, 360_000]

    teacher.put(f"/sessions/{state['id']}/time", {"extra_seconds": 600, "scope": "session"})
    assert limits(student, state["id"]) == [900_000, 600_000]
    logged = student.get(f"/sessions/{state['id']}/history").json()[-1]
    assert logged["kind"] == "time_adjusted"
    assert {k: logged["payload"][k] for k in ("scope", "extra_ms", "section_extra_ms")} == {
        "scope": "session", "extra_ms": 600_000,
        "section_extra_ms": {state["sections"][0]["section_id"]: 300_000, second: 300_000}}


def test_time_and_a_half_applies_to_every_section(student: Api, teacher: Api) -> None:
    teach(teacher, student, student.test_id("mini-diagnostic"))  # the student is in the teacher's class
    state = started(student)
    response = teacher.put(f"/sessions/{state['id']}/time", {"time_multiplier": 1.5})
    assert response.status_code == 200 and limits(student, state["id"]) == [900_000, 450_000]
    logged = student.get(f"/sessions/{state['id']}/history").json()[-1]["payload"]
    assert logged["multiplier"] == 1.5 and "scope" not in logged


def test_extra_time_that_cannot_be_placed_is_refused(student: Api, teacher: Api) -> None:
    teach(teacher, student, student.test_id("mini-diagnostic"))  # the student is in the teacher's class
    state = started(student)
    first = state["sections"][0]["section_id"]
    url = f"/sessions/{state['id']}/time"
    for body, status, code in [
        ({"scope": "session"}, 422, "invalid_request"),
        ({"extra_seconds": 60, "scope": "session", "section_id": first}, 422, "invalid_request"),
        ({"extra_seconds": 60, "scope": "minutes"}, 422, "invalid_request"),
        ({"extra_seconds": 60, "section_id": "not-a-section"}, 422, "unknown_section"),
        ({"extra_seconds": 60, "untimed": True}, 422, "invalid_time_option"),
    ]:
        refused = teacher.put(url, body)
        assert (refused.status_code, refused.json()["error"]["code"]) == (status, code), body
    student.send(state["id"], student.op("submit_section", section_id=first))
    refused = teacher.put(url, {"extra_seconds": 60, "section_id": first})
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "section_submitted")
    assert limits(student, state["id"]) == [600_000, 300_000]


def test_the_student_sees_the_new_time_live(student: Api, teacher: Api) -> None:
    teach(teacher, student, student.test_id("mini-diagnostic"))  # the student is in the teacher's class
    state = started(student)
    with connect(student, state["id"], after_seq=1) as socket:
        read_until(socket, "ready")
        teacher.put(f"/sessions/{state['id']}/time", {"extra_seconds": 600})
        event = events_in(wait_for_seq(socket, 2))[-1]
        assert (event["kind"], event["payload"]["scope"]) == ("time_adjusted", "section")
        pushed = socket.receive_json()
        assert pushed["type"] == "state"
        assert [s["time_limit_ms"] for s in pushed["sections"]] == [1_200_000, 300_000]
