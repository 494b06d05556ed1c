"""Who may send staff ops to a session and read its replay: the student's teacher and an admin; a student is
refused (403), a teacher of another class does not see the session (404), nobody signed in is asked to (401)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Api, teach
from tests.security.conftest import staff_member


def requests(session_id: str) -> list[tuple[str, str, Any]]:
    note = {"ops": [{"op_id": str(uuid.uuid4()), "type": "note", "text": "checked the room"}]}
    return [("POST", f"/api/v1/sessions/{session_id}/staff-ops", note),
            ("GET", f"/api/v1/sessions/{session_id}/replay", None)]


@pytest.fixture
def callers(api: Api, client: TestClient, student: Api) -> tuple[str, dict[str, dict[str, str]]]:
    state = student.start()
    their_teacher = staff_member(api, client, "teacher")
    teach(their_teacher, student, state["test_id"])
    other_teacher = staff_member(api, client, "teacher")
    teach(other_teacher, api.signup(), state["test_id"])  # teaches the same test, to another class
    return state["id"], {
        "anonymous": {},
        "the student": student.headers,
        "another student": api.signup().headers,
        "their teacher": their_teacher.headers,
        "a teacher of another class": other_teacher.headers,
        "admin": staff_member(api, client, "admin").headers,
    }


EXPECTED = {"anonymous": (401, "not_authenticated"), "the student": (403, "forbidden"),
            "another student": (403, "forbidden"), "their teacher": (200, None),
            "a teacher of another class": (404, "not_found"), "admin": (200, None)}


def test_staff_ops_and_replay_answer_each_caller_as_documented(
        client: TestClient, callers: tuple[str, dict[str, dict[str, str]]]) -> None:
    session_id, headers_of = callers
    for caller, headers in headers_of.items():
        for method, url, body in requests(session_id):
            response = client.request(method, url, json=body, headers=headers)
            status, code = EXPECTED[caller]
            assert response.status_code == status, (caller, method, url, response.text)
            if code is not None:
                assert response.json()["error"]["code"] == code
                assert session_id not in response.text
            elif method == "GET":
                assert response.json()["chain"]["verified"] is True


def test_a_teacher_of_another_class_learns_nothing_even_with_a_well_formed_op(
        client: TestClient, callers: tuple[str, dict[str, dict[str, str]]]) -> None:
    session_id, headers_of = callers
    pause = {"ops": [{"op_id": str(uuid.uuid4()), "type": "pause"}]}
    refused = client.post(f"/api/v1/sessions/{session_id}/staff-ops", json=pause,
                          headers=headers_of["a teacher of another class"])
    assert refused.status_code == 404
    state = client.get(f"/api/v1/sessions/{session_id}", headers=headers_of["the student"]).json()
    assert state["paused"] is False and state["last_seq"] == 0
