"""Who may read an assignment's roster and watch it live: its class's teacher and admins, nobody else.

Callers: anonymous, forged or dead tokens, an enrolled student (403 / 4403: a staff endpoint), a teacher of
another class (404 / 4404: the assignment does not exist for them), the class's teacher and an admin.
Nothing answered to a refused caller carries the students' data.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from examsync.settings import Settings
from tests.conftest import Api, section_questions
from tests.proctoring import attempt_of, teach
from tests.security.conftest import delete_user, forged_tokens, staff_member, token_of, user_id_of


@dataclass
class Proctored:
    client: TestClient
    assignment_id: str
    secrets: list[str]  # what only staff of the class may see: the student's id, email, name, session
    callers: dict[str, dict[str, str]]


@pytest.fixture
def proctored(api: Api, client: TestClient, settings: Settings, database_url: str) -> Proctored:
    email = f"pupil-{uuid.uuid4().hex[:8]}@example.org"
    response = client.post("/api/v1/auth/signup", json={"email": email, "password": "correct horse battery",
                                                        "display_name": "Pupil Zq9"})
    assert response.status_code == 201
    pupil = api.login(email, "correct horse battery")
    teacher = staff_member(api, client, "teacher")
    state = pupil.start()
    pupil.send(state["id"], pupil.op("answer", question_id=section_questions(state, 0)[0]["id"], answer="a"))
    assignment_id = teach(client, user_id_of(teacher), [user_id_of(pupil)], state["test_id"])
    attempt_of(client, state["id"], assignment_id)
    other = api.signup()
    doomed = api.signup()
    doomed_token = token_of(doomed)
    delete_user(database_url, user_id_of(doomed))
    callers = {
        "anonymous": {},
        "enrolled student": pupil.headers,
        "another student": other.headers,
        "teacher of another class": staff_member(api, client, "teacher").headers,
        "teacher": teacher.headers,
        "admin": staff_member(api, client, "admin").headers,
    }
    for name, token in forged_tokens(settings, other, user_id_of(other), user_id_of(pupil), doomed_token).items():
        callers[f"forged: {name}"] = {"Authorization": f"Bearer {token}"}
    return Proctored(client, assignment_id, [user_id_of(pupil), email, "Pupil Zq9", state["id"]], callers)


def wanted(caller: str) -> tuple[int, int | str]:
    """The roster's HTTP status and the socket's close code (or first message type) for a caller."""
    if caller in ("teacher", "admin"):
        return 200, "roster"
    if caller.endswith("student"):
        return 403, 4403
    if caller == "teacher of another class":
        return 404, 4404
    return 401, 4401


def socket_outcome(client: TestClient, url: str, headers: dict[str, str], *, via_query: bool) -> Any:
    token = headers.get("Authorization", "").removeprefix("Bearer ")
    if via_query:
        url, headers = (f"{url}?token={token}" if token else url), {}
    with client.websocket_connect(url, headers=headers) as socket:
        try:
            message = socket.receive_json()
        except WebSocketDisconnect as closed:
            return closed.code, ""
        return message["type"], str(message)


def test_the_roster_answers_every_caller_as_documented(proctored: Proctored) -> None:
    mismatches = []
    for caller, headers in proctored.callers.items():
        status, _ = wanted(caller)
        response = proctored.client.get(f"/api/v1/assignments/{proctored.assignment_id}/roster", headers=headers)
        if response.status_code != status:
            mismatches.append(f"{caller}: {response.status_code}, want {status}: {response.text[:200]}")
            continue
        if status == 200:
            assert [row["display_name"] for row in response.json()] == ["Pupil Zq9"]
        else:
            code = {401: {"not_authenticated", "invalid_token", "token_expired"}, 403: {"forbidden"},
                    404: {"not_found"}}[status]
            assert response.json()["error"]["code"] in code
            assert [s for s in proctored.secrets if s in response.text] == [], caller
    assert mismatches == [], "\n".join(mismatches)


def test_the_live_roster_answers_every_caller_as_documented(proctored: Proctored) -> None:
    url = f"/api/v1/assignments/{proctored.assignment_id}/live"
    mismatches = []
    for caller, headers in proctored.callers.items():
        _, want = wanted(caller)
        for via_query in (False, True):
            got, text = socket_outcome(proctored.client, url, headers, via_query=via_query)
            if got != want:
                mismatches.append(f"{caller} (token in {'query' if via_query else 'header'}): {got}, want {want}")
            elif want != "roster":
                assert [s for s in proctored.secrets if s in text] == []
    assert mismatches == [], "\n".join(mismatches)


def test_a_missing_assignment_is_404_for_staff(proctored: Proctored) -> None:
    admin = proctored.callers["admin"]
    missing = uuid.uuid4()
    assert proctored.client.get(f"/api/v1/assignments/{missing}/roster", headers=admin).status_code == 404
    assert socket_outcome(proctored.client, f"/api/v1/assignments/{missing}/live", admin, via_query=False)[0] == 4404
