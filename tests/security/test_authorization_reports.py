"""Who may read the reports: the class's owner and admins; another teacher is told the class or assignment does
not exist (404 `not_found`, exactly as for an id nobody has), a student is refused (403 `forbidden`, whether or not
they are in the class), and without a valid token nobody gets anything (401)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Api, FakeClock
from tests.integration.test_reports_api import attach, make_class, sign_up, sit, user_id
from tests.security.conftest import staff_member


@dataclass
class World:
    client: TestClient
    callers: dict[str, dict[str, str]]
    paths: list[str]
    missing: list[str]
    secrets: list[str]  # what only staff of the class may see


@pytest.fixture
def world(api: Api, client: TestClient, clock: FakeClock, database_url: str) -> World:
    owner = staff_member(api, client, "teacher")
    other = staff_member(api, client, "teacher")
    b = sign_up(api, "Beatrix")
    a = sign_up(api, "Albert")
    class_id, (assignment_id,) = make_class(database_url, user_id(owner), [user_id(b)],
                                            [owner.test_id("mini-diagnostic")], clock)
    session_id = sit(b, clock, ("b", ["a", "b"], "12", "numerator"), 30)
    attach(database_url, session_id, assignment_id)
    make_class(database_url, user_id(other), [user_id(a)], [owner.test_id("mini-diagnostic")], clock)

    def paths(class_id: str, assignment_id: str) -> list[str]:
        return [f"/api/v1/assignments/{assignment_id}/results", f"/api/v1/assignments/{assignment_id}/results?format=csv",
                f"/api/v1/assignments/{assignment_id}/items", f"/api/v1/assignments/{assignment_id}/export",
                f"/api/v1/classes/{class_id}/gradebook"]

    nobody = str(uuid.uuid4())
    return World(client, {
        "anonymous": {},
        "forged": {"Authorization": "Bearer not-a-token"},
        "student in the class": b.headers,
        "student of another class": a.headers,
        "teacher of another class": other.headers,
        "the class's teacher": owner.headers,
        "admin": staff_member(api, client, "admin").headers,
    }, paths(class_id, assignment_id), paths(nobody, nobody), [session_id, user_id(b), "Beatrix"])


EXPECTED = {"anonymous": 401, "forged": 401, "student in the class": 403, "student of another class": 403,
            "teacher of another class": 404, "the class's teacher": 200, "admin": 200}
CODES = {401: ("not_authenticated", "invalid_token"), 403: ("forbidden",), 404: ("not_found",)}


def test_every_report_answers_every_caller_as_documented(world: World) -> None:
    wrong = []
    for caller, headers in world.callers.items():
        for path in world.paths:
            response = world.client.get(path, headers=headers)
            want = EXPECTED[caller]
            if response.status_code != want:
                wrong.append(f"{caller} {path}: {response.status_code}, want {want}: {response.text[:200]}")
                continue
            if want != 200:
                assert response.json()["error"]["code"] in CODES[want], (caller, path, response.text)
                assert not [s for s in world.secrets if s in response.text], (caller, path)
            else:
                assert world.secrets[0] in response.text or path.endswith("/items"), (caller, path)
    assert wrong == [], "\n".join(wrong)


def test_another_teachers_class_looks_exactly_like_a_missing_one(world: World) -> None:
    headers = world.callers["teacher of another class"]
    for theirs, nobodys in zip(world.paths, world.missing):
        real, missing = world.client.get(theirs, headers=headers), world.client.get(nobodys, headers=headers)
        assert (real.status_code, real.json()["error"]["code"]) == (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
        assert real.json()["error"]["message"] == missing.json()["error"]["message"]


def test_a_student_is_refused_before_anything_is_looked_up(world: World) -> None:
    headers = world.callers["student in the class"]
    for path in world.missing:
        response = world.client.get(path, headers=headers)
        assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"
