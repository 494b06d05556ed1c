"""Classes and enrolment over the API, on SQLite and PostgreSQL: create, list, rename, roster, join by code,
rotate the code, remove a student, and the limit on wrong codes."""

from __future__ import annotations

from tests.conftest import Api
from examsync.services.classes import JOIN_CODE_ALPHABET, JOIN_CODE_LENGTH
from examsync.web.classes_routes import JOIN_FAILURES


def new_class(teacher: Api, name: str = "Year 10 maths") -> dict:
    response = teacher.post("/classes", {"name": name})
    assert response.status_code == 201, response.text
    return response.json()


def test_a_teacher_creates_a_class_with_an_unambiguous_join_code(teacher: Api) -> None:
    created = new_class(teacher)
    assert created["name"] == "Year 10 maths" and created["student_count"] == 0
    code = created["join_code"]
    assert len(code) == JOIN_CODE_LENGTH and set(code) <= set(JOIN_CODE_ALPHABET)
    assert not set(code) & set("0O1I")
    assert [c["id"] for c in teacher.get("/classes").json()] == [created["id"]]
    assert new_class(teacher, "Other")["join_code"] != code


def test_a_student_joins_by_code_in_any_case_and_joining_twice_is_harmless(teacher: Api, api: Api) -> None:
    created = new_class(teacher)
    ada = api.signup()
    joined = ada.post("/classes/join", {"join_code": created["join_code"].lower()})
    assert joined.status_code == 200
    assert joined.json() == {"id": created["id"], "name": "Year 10 maths"}
    again = ada.post("/classes/join", {"join_code": created["join_code"]})
    assert again.status_code == 200 and again.json() == joined.json()

    roster = teacher.get(f"/classes/{created['id']}/students").json()
    assert [(s["user_id"], s["time_multiplier"], s["extra_seconds"]) for s in roster] == [(ada.user_id, 1.0, 0)]
    assert set(roster[0]) == {"user_id", "email", "display_name", "time_multiplier", "extra_seconds"}
    assert teacher.get("/classes").json()[0]["student_count"] == 1

    mine = ada.get("/classes").json()
    assert mine == [{"id": created["id"], "name": "Year 10 maths", "student_count": 1}]  # no join code


def test_a_wrong_or_rotated_code_is_not_found(teacher: Api, api: Api) -> None:
    created = new_class(teacher)
    ada, bob = api.signup(), api.signup()
    assert ada.post("/classes/join", {"join_code": created["join_code"]}).status_code == 200
    rotated = teacher.post(f"/classes/{created['id']}/join-code")
    assert rotated.status_code == 200
    assert rotated.json()["join_code"] != created["join_code"]
    old = bob.post("/classes/join", {"join_code": created["join_code"]})
    assert old.status_code == 404 and old.json()["error"]["code"] == "not_found"
    assert bob.post("/classes/join", {"join_code": rotated.json()["join_code"]}).status_code == 200
    # Who had joined stays.
    assert {s["user_id"] for s in teacher.get(f"/classes/{created['id']}/students").json()} == {
        ada.user_id, bob.user_id}


def test_wrong_codes_are_limited_per_user(teacher: Api, api: Api) -> None:
    created = new_class(teacher)
    guesser, other = api.signup(), api.signup()
    for _ in range(JOIN_FAILURES):
        assert guesser.post("/classes/join", {"join_code": "ZZZZZZZZ"}).status_code == 404
    refused = guesser.post("/classes/join", {"join_code": created["join_code"]})
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "too_many_join_attempts"
    assert int(refused.headers["Retry-After"]) >= 1
    # Another user is not held back by the guesser; the guesser can join once the window has passed.
    assert other.post("/classes/join", {"join_code": created["join_code"]}).status_code == 200
    api.clock.advance(10 * 60)
    assert guesser.post("/classes/join", {"join_code": created["join_code"]}).status_code == 200


def test_rename_and_remove_a_student(teacher: Api, api: Api) -> None:
    created = new_class(teacher)
    ada = api.signup()
    ada.post("/classes/join", {"join_code": created["join_code"]})
    renamed = teacher.patch(f"/classes/{created['id']}", {"name": "Year 11 maths"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Year 11 maths"
    assert ada.get("/classes").json()[0]["name"] == "Year 11 maths"

    assert teacher.delete(f"/classes/{created['id']}/students/{ada.user_id}").status_code == 204
    assert teacher.get(f"/classes/{created['id']}/students").json() == []
    assert ada.get("/classes").json() == []
    again = teacher.delete(f"/classes/{created['id']}/students/{ada.user_id}")
    assert again.status_code == 404


def test_class_requests_are_validated(teacher: Api) -> None:
    for body in ({}, {"name": ""}, {"name": 5}, {"name": "x", "extra": 1}, {"name": "x" * 201}):
        response = teacher.post("/classes", body)
        assert response.status_code == 422, body
        assert response.json()["error"]["code"] == "invalid_request"
    blank = teacher.post("/classes", {"name": "   "})
    assert blank.status_code == 422 and "name" in blank.json()["error"]["message"]


def test_an_admin_sees_every_class_and_a_teacher_only_their_own(teacher: Api, admin: Api, api: Api,
                                                                 client) -> None:
    client.app.state.accounts.add_user("other-teacher@example.org", "teacher password", role="teacher")
    other = api.login("other-teacher@example.org", "teacher password")
    mine, theirs = new_class(teacher, "A"), new_class(other, "B")
    assert [c["id"] for c in teacher.get("/classes").json()] == [mine["id"]]
    assert [c["id"] for c in other.get("/classes").json()] == [theirs["id"]]
    assert {c["id"] for c in admin.get("/classes").json()} == {mine["id"], theirs["id"]}
    assert teacher.get(f"/classes/{theirs['id']}/students").status_code == 404
    assert admin.get(f"/classes/{theirs['id']}/students").status_code == 200
