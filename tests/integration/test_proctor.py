"""The proctor roster and its live socket, in process, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from examsync.live.brokers import PostgresBroker
from examsync.settings import Settings
from examsync.web.app import create_app
from tests.conftest import Api, FakeClock, section_questions
from tests.proctoring import attempt_of, enrol, teach


def named(api: Api, display_name: str) -> Api:
    email = f"{display_name.lower().replace(' ', '.')}-{uuid.uuid4().hex[:6]}@example.org"
    response = api.client.post("/api/v1/auth/signup", json={"email": email, "password": "correct horse battery",
                                                            "display_name": display_name})
    assert response.status_code == 201, response.text
    return api.login(email, "correct horse battery")


def user_id(api: Api) -> str:
    return api.get("/me").json()["user_id"]


def token(api: Api) -> str:
    return api.headers["Authorization"].split(" ", 1)[1]


def proctor_socket(api: Api, assignment_id: str, after_seq: int | None = None) -> Any:
    query = f"token={token(api)}" + (f"&after_seq={after_seq}" if after_seq is not None else "")
    return api.client.websocket_connect(f"/api/v1/assignments/{assignment_id}/live?{query}")


def device_socket(api: Api, session_id: str) -> Any:
    return api.client.websocket_connect(f"/api/v1/sessions/{session_id}/live?token={token(api)}")


def next_row_of(socket: WebSocketTestSession, student_id: str, **wanted: Any) -> dict[str, Any]:
    """The next roster_row of the student that shows what is wanted (rows in between must be in seq order)."""
    last_seq = 0
    while True:
        message = socket.receive_json()
        if message["type"] != "roster_row":
            continue
        assert message["seq"] > last_seq
        last_seq = message["seq"]
        row = message["row"]
        if row["user_id"] == student_id and all(row[key] == value for key, value in wanted.items()):
            return message


def read_until(socket: WebSocketTestSession, kind: str) -> list[dict[str, Any]]:
    messages = []
    while True:
        messages.append(socket.receive_json())
        if messages[-1]["type"] == kind:
            return messages


class Exam:
    """A teacher's class of three named students with the mini diagnostic assigned: Ada has not started, Bo is
    answering, Cy has finished."""

    def __init__(self, api: Api, teacher: Api) -> None:
        self.api, self.teacher = api, teacher
        self.ada, self.bo, self.cy = named(api, "Ada Lovelace"), named(api, "Bo Diddley"), named(api, "Cy Twombly")
        self.ids = {name: user_id(getattr(self, name)) for name in ("ada", "bo", "cy")}
        self.test_id = api.signup().test_id("mini-diagnostic")
        self.assignment_id = teach(api.client, user_id(teacher), list(self.ids.values()), self.test_id)
        self.bo_state = self.bo.start()
        attempt_of(api.client, self.bo_state["id"], self.assignment_id)
        self.cy_state = self.cy.start()
        attempt_of(api.client, self.cy_state["id"], self.assignment_id)
        self.cy.send(self.cy_state["id"], self.cy.op("complete"))

    def bo_answers(self, index: int = 0) -> None:
        question = section_questions(self.bo_state, 0)[index]
        answer: Any = ["a"] if question["kind"] == "multiple_choice" else "a"
        self.bo.send(self.bo_state["id"], self.bo.op("answer", question_id=question["id"], answer=answer))

    def roster(self) -> dict[str, dict[str, Any]]:
        response = self.teacher.get(f"/assignments/{self.assignment_id}/roster")
        assert response.status_code == 200, response.text
        return {row["user_id"]: row for row in response.json()}


@pytest.fixture
def exam(api: Api, teacher: Api) -> Exam:
    return Exam(api, teacher)


def test_the_roster_names_every_student_with_their_attempt(exam: Exam) -> None:
    exam.bo_answers(0)
    exam.bo.send(exam.bo_state["id"], exam.bo.op("flag", question_id=section_questions(exam.bo_state, 0)[1]["id"]))
    response = exam.teacher.get(f"/assignments/{exam.assignment_id}/roster")
    assert response.status_code == 200, response.text
    assert [row["display_name"] for row in response.json()] == ["Ada Lovelace", "Bo Diddley", "Cy Twombly"]
    rows = exam.roster()
    ada, bo, cy = (rows[exam.ids[name]] for name in ("ada", "bo", "cy"))
    assert ada["status"] == "not_started" and ada["session_id"] is None and ada["answered"] == 0
    assert ada["total"] == bo["total"] > 0 and ada["email"].startswith("ada.lovelace-")
    assert bo["status"] == "active" and bo["session_id"] == exam.bo_state["id"]
    assert (bo["answered"], bo["flagged"]) == (1, 1)
    assert bo["section"] == exam.bo_state["sections"][0]["title"]
    assert bo["time_remaining_ms"] > 0 and bo["last_op_at"] == exam.api.clock()
    assert (bo["connected"], bo["devices"], bo["offline_queue"], bo["late_or_rejected_ops"]) == (False, 0, None, 0)
    assert cy["status"] == "completed" and cy["section"] is None and cy["time_remaining_ms"] is None


def test_rejected_ops_and_ops_applied_late_are_counted(exam: Exam, monkeypatch: pytest.MonkeyPatch) -> None:
    service = exam.api.client.app.state.service  # type: ignore[attr-defined]
    monkeypatch.setattr(service, "rules", replace(service.rules, offline_grace_ms=60_000))
    question = section_questions(exam.bo_state, 0)[0]
    exam.bo.send(exam.bo_state["id"], {"op_id": str(uuid.uuid4()), "type": "answer", "client_time": 1,
                                       "question_id": "no-such-question", "answer": "a"})
    assert exam.roster()[exam.ids["bo"]]["late_or_rejected_ops"] == 1
    limit_ms = exam.bo_state["sections"][0]["time_limit_ms"]
    made_in_time = exam.api.clock() + limit_ms - 1_000
    exam.api.clock.advance(limit_ms / 1000 + 5)  # past the deadline, within the offline grace period
    result = exam.bo.send(exam.bo_state["id"], {"op_id": str(uuid.uuid4()), "type": "answer",
                                                "client_time": made_in_time, "question_id": question["id"],
                                                "answer": "a"}, sent_at=exam.api.clock())
    assert result["results"][0]["status"] == "applied"
    assert exam.roster()[exam.ids["bo"]]["late_or_rejected_ops"] == 2


def test_a_proctor_sees_an_answer_a_device_and_its_queue_as_they_happen(exam: Exam) -> None:
    bo = exam.ids["bo"]
    with proctor_socket(exam.teacher, exam.assignment_id) as proctor:
        snapshot = proctor.receive_json()
        assert snapshot["type"] == "roster" and len(snapshot["rows"]) == 3
        assert proctor.receive_json() == {"type": "ready", "seq": snapshot["seq"], "server_time": exam.api.clock()}

        exam.bo_answers(0)
        answered = next_row_of(proctor, bo, answered=1)
        assert answered["seq"] > snapshot["seq"] and answered["row"]["last_op_at"] == exam.api.clock()

        with device_socket(exam.bo, exam.bo_state["id"]) as device:
            read_until(device, "ready")
            online = next_row_of(proctor, bo, connected=True)["row"]
            assert online["devices"] == 1
            device.send_json({"type": "queue", "count": 3})
            assert next_row_of(proctor, bo, offline_queue=3)["row"]["connected"] is True
            device.send_json({"type": "queue", "count": -1})
            assert device.receive_json()["error"]["code"] == "invalid_request"
        gone = next_row_of(proctor, bo, connected=False)["row"]
        assert (gone["devices"], gone["offline_queue"], gone["last_seen_at"]) == (0, 3, exam.api.clock())

        proctor.send_json({"type": "ping", "id": 7})
        assert read_until(proctor, "pong")[-1] == {"type": "pong", "id": 7}
    assert exam.roster()[bo]["offline_queue"] == 3


def test_a_pause_by_staff_shows_on_the_roster_live(exam: Exam) -> None:
    bo = exam.ids["bo"]
    with proctor_socket(exam.teacher, exam.assignment_id) as proctor:
        read_until(proctor, "ready")
        response = exam.teacher.post(f"/sessions/{exam.bo_state['id']}/staff-ops",
                                     {"ops": [{"op_id": str(uuid.uuid4()), "type": "pause"}]})
        assert response.status_code == 200, response.text
        paused = next_row_of(proctor, bo, status="paused")["row"]
        exam.api.clock.advance(120)  # the clock stands still while paused
        assert exam.roster()[bo]["time_remaining_ms"] == paused["time_remaining_ms"]
        response = exam.teacher.post(f"/sessions/{exam.bo_state['id']}/staff-ops",
                                     {"ops": [{"op_id": str(uuid.uuid4()), "type": "resume"}]})
        assert response.status_code == 200, response.text
        next_row_of(proctor, bo, status="active")


def test_a_proctor_reconnecting_after_a_seq_gets_only_the_rows_changed_since(exam: Exam) -> None:
    with proctor_socket(exam.teacher, exam.assignment_id) as proctor:
        seq = proctor.receive_json()["seq"]
        read_until(proctor, "ready")
        exam.bo_answers(0)
        seq = next_row_of(proctor, exam.ids["bo"], answered=1)["seq"]
    exam.bo_answers(1)  # missed while disconnected
    exam.cy.send(exam.cy_state["id"], exam.cy.op("heartbeat"))  # refused (completed), so it changes Cy's row
    with proctor_socket(exam.teacher, exam.assignment_id, after_seq=seq) as proctor:
        messages = read_until(proctor, "ready")
    rows = [m for m in messages if m["type"] == "roster_row"]
    assert [m["type"] for m in messages[:-1]] == ["roster_row"] * len(rows)
    assert {m["row"]["user_id"] for m in rows} <= {exam.ids["bo"], exam.ids["cy"]}
    assert [m["seq"] for m in rows] == sorted(m["seq"] for m in rows) and rows[0]["seq"] > seq
    assert next(m for m in rows if m["row"]["user_id"] == exam.ids["bo"])["row"]["answered"] == 2
    assert messages[-1]["seq"] >= rows[-1]["seq"]

    with proctor_socket(exam.teacher, exam.assignment_id, after_seq=12345) as proctor:  # not this feed's seq
        assert len(proctor.receive_json()["rows"]) == 3


def test_a_student_who_joins_the_class_while_the_proctor_watches_gets_a_row(exam: Exam) -> None:
    dee = named(exam.api, "Dee Dee")
    with proctor_socket(exam.teacher, exam.assignment_id) as proctor:
        read_until(proctor, "ready")
        enrol(exam.api.client, exam.assignment_id, user_id(dee))
        exam.api.clock.advance(6)  # the feed reads the class again at most every 5 s
        state = dee.start()
        attempt_of(exam.api.client, state["id"], exam.assignment_id)
        dee.send(state["id"], dee.op("answer", question_id=section_questions(state, 0)[0]["id"], answer="a"))
        row = next_row_of(proctor, user_id(dee), answered=1)["row"]
    assert row["display_name"] == "Dee Dee"


def test_an_admin_watches_any_assignment(exam: Exam, api: Api) -> None:
    email = f"admin-{uuid.uuid4().hex[:8]}@example.org"
    api.client.app.state.accounts.add_user(email, "admin password", role="admin")  # type: ignore[attr-defined]
    admin = api.login(email, "admin password")
    assert len(admin.get(f"/assignments/{exam.assignment_id}/roster").json()) == 3
    with proctor_socket(admin, exam.assignment_id) as proctor:
        assert len(proctor.receive_json()["rows"]) == 3
        exam.bo_answers(0)
        next_row_of(proctor, exam.ids["bo"], answered=1)


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgresql"])  # two instances share a PostgreSQL database and its broker
def test_a_device_on_one_instance_shows_on_a_proctor_of_the_other(settings: Settings, backend: str,
                                                                    clock: FakeClock) -> None:
    one = TestClient(create_app(settings, clock=clock, run_sweep=False, broker=PostgresBroker(settings.database_url)))
    two = TestClient(create_app(settings, clock=clock, run_sweep=False, broker=PostgresBroker(settings.database_url)))
    with one, two:
        teacher_email = f"teacher-{uuid.uuid4().hex[:8]}@example.org"
        one.app.state.accounts.add_user(teacher_email, "teacher password", role="teacher")  # type: ignore[attr-defined]
        teacher = Api(two, clock).login(teacher_email, "teacher password")
        student = named(Api(one, clock), "Eve Online")
        student_id = user_id(student)
        assignment_id = teach(one, user_id(teacher), [student_id], student.test_id("mini-diagnostic"))
        state = student.start()
        attempt_of(one, state["id"], assignment_id)
        with proctor_socket(teacher, assignment_id) as proctor:
            read_until(proctor, "ready")
            with device_socket(student, state["id"]) as device:
                read_until(device, "ready")
                assert next_row_of(proctor, student_id, connected=True)["row"]["devices"] == 1
                device.send_json({"type": "queue", "count": 2})
                next_row_of(proctor, student_id, offline_queue=2)
                student.send(state["id"], student.op("answer", question_id=section_questions(state, 0)[0]["id"],
                                                     answer="a"))
                next_row_of(proctor, student_id, answered=1)
            next_row_of(proctor, student_id, connected=False)
