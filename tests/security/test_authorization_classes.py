"""The authorization matrix of classes and assignments, and of the scoping rule on the staff paths that existed
before them: every endpoint called by anonymous, a student of the class, a student outside it, a teacher of another
class, the class's teacher and an admin. Nothing of the class (its join code, its students) reaches a caller who
may not see it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Api, section_questions, teach
from tests.security.conftest import staff_member, user_id_of

CALLERS = ("anonymous", "student", "outsider", "other teacher", "teacher", "admin")
STUDENTS = ("student", "outsider")


def statuses(anonymous: int = 401, student: int = 403, outsider: int = 403, other_teacher: int = 404,
             teacher: int = 200, admin: int = 200) -> dict[str, int]:
    return dict(zip(CALLERS, (anonymous, student, outsider, other_teacher, teacher, admin)))


# (method, path template) -> who gets what. A teacher of another class gets 404, as for a class that does not exist;
# a student gets 403 on staff endpoints, 404 on what is not theirs to see.
CLASS_RULES: dict[tuple[str, str], dict[str, int]] = {
    ("POST", "/api/v1/classes"): statuses(other_teacher=201, teacher=201, admin=201),
    ("GET", "/api/v1/classes"): statuses(student=200, outsider=200, other_teacher=200),
    ("GET", "/api/v1/classes/{class_id}"): statuses(student=200, outsider=404),
    ("PATCH", "/api/v1/classes/{class_id}"): statuses(),
    ("POST", "/api/v1/classes/{class_id}/join-code"): statuses(),
    ("GET", "/api/v1/classes/{class_id}/students"): statuses(),
    ("DELETE", "/api/v1/classes/{class_id}/students/{user_id}"): statuses(teacher=204, admin=204),
    ("POST", "/api/v1/classes/join"): statuses(student=200, outsider=200, other_teacher=403, teacher=403,
                                               admin=403),
    ("POST", "/api/v1/classes/{class_id}/assignments"): statuses(teacher=201, admin=201),
    ("GET", "/api/v1/assignments"): statuses(student=200, outsider=200, other_teacher=200),
    ("GET", "/api/v1/assignments/{assignment_id}"): statuses(student=200, outsider=404),
    ("PATCH", "/api/v1/assignments/{assignment_id}"): statuses(),
    ("DELETE", "/api/v1/assignments/{assignment_id}"): statuses(),
    ("PUT", "/api/v1/assignments/{assignment_id}/students/{user_id}"): statuses(),
    ("DELETE", "/api/v1/assignments/{assignment_id}/students/{user_id}"): statuses(teacher=204, admin=204),
    ("PATCH", "/api/v1/tests/{test_id}"): statuses(other_teacher=403, teacher=403),
}

# Staff paths that existed before classes, now scoped: the teacher reaches only their students.
SCOPED_RULES: dict[tuple[str, str], dict[str, int]] = {
    ("GET", "/api/v1/sessions/{session_id}"): statuses(student=200, outsider=404),
    ("GET", "/api/v1/sessions/{session_id}/history"): statuses(student=200, outsider=404),
    ("GET", "/api/v1/sessions/{session_id}/results"): statuses(student=200, outsider=404),
    ("GET", "/api/v1/users/{user_id}/performance"): statuses(student=200, outsider=404),
    ("PUT", "/api/v1/users/{user_id}/time"): statuses(),
    ("PUT", "/api/v1/sessions/{session_id}/time"): statuses(),
    ("GET", "/api/v1/export?session_id={session_id}"): statuses(),
}


@dataclass
class World:
    client: TestClient
    apis: dict[str, Api]
    teacher: Api
    student: Api
    class_id: str
    join_code: str
    assignment_id: str
    test_id: str
    session_id: str
    student_id: str
    other_class_code: str
    secrets: list[str] = field(default_factory=list)

    def headers(self, caller: str) -> dict[str, str]:
        return {} if caller == "anonymous" else self.apis[caller].headers


@pytest.fixture
def world(api: Api, client: TestClient) -> World:
    teacher, other = staff_member(api, client, "teacher"), staff_member(api, client, "teacher")
    admin = staff_member(api, client, "admin")
    student, outsider = api.signup(), api.signup()
    test_id = teacher.test_id("mini-diagnostic")
    made = teach(teacher, student, test_id)
    session = student.post("/sessions", {"test_id": test_id, "assignment_id": made["assignment"]["id"]})
    assert session.status_code == 201, session.text
    other_class = other.post("/classes", {"name": "Elsewhere"}).json()
    apis = {"student": student, "outsider": outsider, "other teacher": other, "teacher": teacher, "admin": admin}
    return World(client, apis, teacher, student, made["class"]["id"], made["class"]["join_code"],
                 made["assignment"]["id"], test_id, session.json()["id"], user_id_of(student),
                 other_class["join_code"])


def prepare(world: World, method: str, path: str) -> dict[str, Any]:
    """A well-formed request for the operation, aimed at the class's resources; destructive ones get a target of
    their own, made afresh by the class's teacher for each call."""
    teacher = world.teacher
    assignment_id, user_id = world.assignment_id, world.student_id
    body: Any = None
    if (method, path) == ("DELETE", "/api/v1/assignments/{assignment_id}"):
        assignment_id = teacher.post(f"/classes/{world.class_id}/assignments",
                                     {"test_id": world.test_id, "opens_at": teacher.clock()}).json()["id"]
    elif (method, path) == ("DELETE", "/api/v1/classes/{class_id}/students/{user_id}"):
        extra = world.apis["outsider"].signup()
        code = teacher.get(f"/classes/{world.class_id}").json()["join_code"]
        assert extra.post("/classes/join", {"join_code": code}).status_code == 200
        user_id = user_id_of(extra)
    elif (method, path) == ("DELETE", "/api/v1/assignments/{assignment_id}/students/{user_id}"):
        assert teacher.put(f"/assignments/{assignment_id}/students/{user_id}", {"max_attempts": 5}).status_code == 200
    if path == "/api/v1/classes" and method == "POST":
        body = {"name": "New class"}
    elif path.startswith("/api/v1/classes/{class_id}") and method == "PATCH":
        body = {"name": "Renamed"}
    elif path == "/api/v1/classes/join":
        body = {"join_code": world.other_class_code}
    elif path.endswith("/assignments") and method == "POST":
        body = {"test_id": world.test_id, "opens_at": teacher.clock()}
    elif path.startswith("/api/v1/assignments/{assignment_id}") and method in ("PATCH", "PUT"):
        body = {"max_attempts": 3}
    elif path.startswith("/api/v1/tests/"):
        body = {"self_study": True}
    elif path.endswith("/time"):
        body = {"extra_seconds": 60}
    url = (path.replace("{class_id}", world.class_id).replace("{assignment_id}", assignment_id)
           .replace("{user_id}", user_id).replace("{test_id}", world.test_id)
           .replace("{session_id}", world.session_id))
    return {"method": method, "url": url, "json": body}


def run_matrix(world: World, rules: dict[tuple[str, str], dict[str, int]],
               leaks: Callable[[str], list[str]]) -> list[str]:
    mismatches = []
    for (method, path), want in rules.items():
        for caller in CALLERS:
            request = prepare(world, method, path)
            response = world.client.request(request["method"], request["url"], json=request["json"],
                                            headers=world.headers(caller))
            if response.status_code != want[caller]:
                mismatches.append(f"{caller} {method} {path}: {response.status_code} (want {want[caller]}) "
                                  f"{response.text[:200]}")
                continue
            if response.status_code >= 400:
                code = response.json()["error"]["code"]
                expected = {401: "not_authenticated", 403: "forbidden", 404: "not_found"}[response.status_code]
                if code != expected:
                    mismatches.append(f"{caller} {method} {path}: {code} (want {expected})")
            if caller not in ("teacher", "admin"):
                leaked = [secret for secret in leaks(caller) if secret in response.text]
                if leaked:
                    mismatches.append(f"{caller} {method} {path} carries {leaked}")
    return mismatches


def test_class_and_assignment_endpoints_answer_every_caller_as_documented(world: World) -> None:
    def leaks(caller: str) -> list[str]:
        # The join code is for the class's staff; the roster for them and (their own id) the student.
        hidden = [world.join_code, world.teacher.get(f"/classes/{world.class_id}").json()["join_code"]]
        return hidden if caller == "student" else [*hidden, world.student_id, world.class_id]

    assert run_matrix(world, CLASS_RULES, leaks) == []


def test_the_older_staff_paths_reach_only_the_teachers_students(world: World) -> None:
    def leaks(caller: str) -> list[str]:
        return [] if caller == "student" else [world.student_id, world.session_id]

    assert run_matrix(world, SCOPED_RULES, leaks) == []


def test_a_teachers_export_and_live_feed_hold_only_their_students(world: World, api: Api) -> None:
    loner = api.signup()  # not in any class: their session of the same test is no teacher's business
    loner_state = loner.start("mini-diagnostic")
    mine = world.student.resume(world.session_id)
    for who, state in ((world.student, mine), (loner, loner_state)):
        question = section_questions(state)[0]["id"]
        who.send(state["id"], who.op("answer", question_id=question, answer="b"))
    for caller, expected in (("teacher", {world.session_id}), ("other teacher", set()),
                             ("admin", {world.session_id, loner_state["id"]})):
        exported = world.client.get(f"/api/v1/export?test_id={world.test_id}", headers=world.headers(caller))
        assert exported.status_code == 200
        assert {row["session_id"] for row in exported.json()} == expected, caller
        with world.client.websocket_connect(f"/api/v1/tests/{world.test_id}/live",
                                            headers=world.headers(caller)) as socket:
            first = socket.receive_json()
        assert first["type"] == "sessions"
        assert {s["id"] for s in first["sessions"]} == expected, caller


def test_a_student_cannot_join_as_staff_nor_guess_with_a_missing_class(world: World) -> None:
    missing = str(uuid.uuid4())
    for caller in ("other teacher", "teacher"):
        for method, url in (("GET", f"/api/v1/classes/{missing}/students"),
                            ("PATCH", f"/api/v1/assignments/{missing}")):
            response = world.client.request(method, url, json={"max_attempts": 2} if method == "PATCH" else None,
                                            headers=world.headers(caller))
            assert response.status_code == 404
    # Another teacher's class answers exactly like one that does not exist.
    other = world.client.get(f"/api/v1/classes/{world.class_id}/students", headers=world.headers("other teacher"))
    nobody = world.client.get(f"/api/v1/classes/{missing}/students", headers=world.headers("other teacher"))
    assert (other.status_code, other.json()) == (nobody.status_code, nobody.json())


def test_a_students_session_socket_is_open_to_their_teacher_only(world: World) -> None:
    from tests.security.test_authorization import socket_outcome

    url = f"/api/v1/sessions/{world.session_id}/live"
    outcomes = {caller: socket_outcome(world.client, url, world.headers(caller), via_query=False)
                for caller in CALLERS}
    opened = {caller: "open" if isinstance(outcome, str) else outcome for caller, outcome in outcomes.items()}
    assert opened == {"anonymous": 4401, "student": "open", "outsider": 4404, "other teacher": 4404,
                      "teacher": "open", "admin": "open"}
