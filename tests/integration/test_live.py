"""The live socket, in process, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from sqlalchemy import delete, update
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from examsync.store.tables import users
from tests.conftest import Api, section_questions, teach


def connect(api: Api, session_id: str, after_seq: int = 0) -> Any:
    token = api.headers["Authorization"].split(" ", 1)[1]
    return api.client.websocket_connect(f"/api/v1/sessions/{session_id}/live?after_seq={after_seq}&token={token}")


def read_until(socket: WebSocketTestSession, kind: str) -> list[dict[str, Any]]:
    messages = []
    while True:
        message = socket.receive_json()
        messages.append(message)
        if message["type"] == kind:
            return messages


def events_in(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if m["type"] == "event"]


def wait_for_seq(socket: WebSocketTestSession, seq: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    while not any(m["type"] == "event" and m["seq"] == seq for m in messages):
        messages.append(socket.receive_json())
    return messages


def test_a_change_on_one_device_is_pushed_to_the_other(student: Api) -> None:
    state = student.start()
    q1, q2 = section_questions(state, 0)
    student.send(state["id"], student.op("answer", question_id=q1["id"], answer="a"))
    with connect(student, state["id"]) as socket:
        first = read_until(socket, "ready")
        assert [e["seq"] for e in events_in(first)] == [1]
        assert first[-1] == {"type": "ready", "last_seq": 1}

        student.send(state["id"], student.op("flag", question_id=q2["id"]))
        pushed = wait_for_seq(socket, 2)
        event = events_in(pushed)[-1]
        assert (event["kind"], event["status"], event["question_id"]) == ("flag", "applied", q2["id"])
        state_message = socket.receive_json()
        assert state_message["type"] == "state" and state_message["flagged"] == 1 and state_message["last_seq"] == 2


def test_ops_over_the_socket_are_acknowledged_exactly_once(student: Api) -> None:
    state = student.start()
    q1 = section_questions(state, 0)[0]
    op = student.op("answer", question_id=q1["id"], answer="b")
    with connect(student, state["id"]) as socket:
        read_until(socket, "ready")
        socket.send_json({"type": "ops", "id": "r1", "ops": [op], "device_id": "tablet", "sent_at": student.clock()})
        ack = read_until(socket, "ack")[-1]
        assert ack["id"] == "r1" and ack["results"][0]["status"] == "applied" and ack["last_seq"] == 1
        socket.send_json({"type": "ops", "id": "r2", "ops": [op]})
        again = read_until(socket, "ack")[-1]
        assert again["results"][0]["status"] == "duplicate"
        socket.send_json({"type": "heartbeat", "client_time": student.clock()})
        beat = read_until(socket, "heartbeat")[-1]
        assert beat["results"][0]["status"] == "applied" and beat["last_seq"] == 1
        socket.send_json({"type": "ops", "ops": "nope"})
        assert read_until(socket, "error")[-1]["error"]["code"] == "invalid_request"
    history = student.get(f"/sessions/{state['id']}/history").json()
    assert [h["op_id"] for h in history] == [op["op_id"]]


def test_batches_sent_without_waiting_are_applied_and_answered_in_the_order_sent(student: Api) -> None:
    state = student.start()
    q1 = section_questions(state, 0)[0]
    ops = [student.op("answer", question_id=q1["id"], answer=choice, client_time=student.clock() - 100 + i)
           for i, choice in enumerate("abcdabcdab")]
    with connect(student, state["id"]) as socket:
        read_until(socket, "ready")
        for i, op in enumerate(ops):
            socket.send_json({"type": "ops", "id": f"r{i}", "ops": [op]})
        socket.send_json({"type": "ops", "id": "bad", "ops": [{"op_id": "x"}] * 10_000})  # over the batch limit
        replies = [message for message in read_until(socket, "error") if message["type"] in ("ack", "error")]
    assert [r["id"] for r in replies] == [f"r{i}" for i in range(10)] + ["bad"]
    assert [r["last_seq"] for r in replies[:-1]] == list(range(1, 11))
    assert student.resume(state["id"])["sections"][0]["answers"] == {q1["id"]: "b"}


def test_reconnecting_after_a_seq_while_changes_keep_coming_misses_nothing_and_repeats_nothing(student: Api) -> None:
    state = student.start()
    q1, q2 = section_questions(state, 0)
    for i in range(10):
        student.send(state["id"], student.op("flag" if i % 2 else "unflag", question_id=q2["id"]))
    total = 60
    writer_done = threading.Event()

    def keep_changing() -> None:
        for i in range(10, total):
            student.send(state["id"], student.op("answer", question_id=q1["id"], answer="ab"[i % 2]))
        writer_done.set()

    writer = threading.Thread(target=keep_changing)
    writer.start()
    with connect(student, state["id"], after_seq=4) as socket:
        messages = wait_for_seq(socket, total)
    writer.join()
    seqs = [m["seq"] for m in messages if m["type"] == "event"]
    assert seqs == list(range(5, total + 1))


def test_another_students_session_and_bad_tokens_are_refused(student: Api, api: Api) -> None:
    state = student.start()
    other = api.signup()
    with pytest.raises(WebSocketDisconnect) as refused:
        with connect(other, state["id"]) as socket:
            socket.receive_json()
    assert refused.value.code == 4404
    with pytest.raises(WebSocketDisconnect) as unauthorized:
        with api.client.websocket_connect(f"/api/v1/sessions/{state['id']}/live?token=forged") as socket:
            socket.receive_json()
    assert unauthorized.value.code == 4401


def test_staff_watch_every_session_of_a_test_live(student: Api, teacher: Api) -> None:
    teach(teacher, student, student.test_id("mini-diagnostic"))  # the student is in the teacher's class
    state = student.start()
    q1 = section_questions(state, 0)[0]
    token = teacher.headers["Authorization"].split(" ", 1)[1]
    with teacher.client.websocket_connect(f"/api/v1/tests/{state['test_id']}/live?token={token}") as feed:
        snapshot = feed.receive_json()
        assert snapshot["type"] == "sessions" and [s["id"] for s in snapshot["sessions"]] == [state["id"]]
        assert snapshot["sessions"][0]["connected_devices"] == 0
        with connect(student, state["id"]) as device:
            read_until(device, "ready")
            presence = feed.receive_json()
            assert presence["type"] == "session" and presence["connected_devices"] == 1
            student.send(state["id"], student.op("answer", question_id=q1["id"], answer="a"))
            update = feed.receive_json()
            assert update["answered"] == 1 and update["time_remaining_ms"] is not None
    student_token = student.headers["Authorization"].split(" ", 1)[1]
    with pytest.raises(WebSocketDisconnect) as refused:
        with student.client.websocket_connect(f"/api/v1/tests/{state['test_id']}/live?token={student_token}") as s:
            s.receive_json()
    assert refused.value.code == 4403


def test_a_section_expiring_is_pushed(student: Api) -> None:
    state = student.start()
    q1 = section_questions(state, 0)[0]
    student.send(state["id"], student.op("navigate", question_id=q1["id"]))
    with connect(student, state["id"], after_seq=1) as socket:
        read_until(socket, "ready")
        student.clock.advance(601)
        student.client.app.state.service.sweep_expired()  # type: ignore[attr-defined]
        event = events_in(wait_for_seq(socket, 2))[-1]
        assert event["kind"] == "section_expired"
        state_message = socket.receive_json()
        assert state_message["sections"][0]["status"] == "submitted"


def test_unknown_messages_get_an_error_not_a_disconnect(student: Api) -> None:
    state = student.start()
    with connect(student, state["id"]) as socket:
        read_until(socket, "ready")
        socket.send_text("not json")
        assert socket.receive_json()["error"]["code"] == "invalid_request"
        socket.send_json({"type": "ping", "id": str(uuid.uuid4())})
        assert socket.receive_json()["type"] == "pong"


def test_a_binary_frame_gets_the_documented_error_and_the_connection_stays_open(student: Api, teacher: Api) -> None:
    teach(teacher, student, student.test_id("mini-diagnostic"))  # the student is in the teacher's class
    state = student.start()
    with connect(student, state["id"]) as socket:
        read_until(socket, "ready")
        socket.send_bytes(b'{"type": "ping", "id": "p1"}')
        refusal = socket.receive_json()
        assert refusal["type"] == "error" and refusal["error"]["code"] == "invalid_request"
        socket.send_json({"type": "ping", "id": "p2"})
        assert socket.receive_json() == {"type": "pong", "id": "p2"}
    token = teacher.headers["Authorization"].split(" ", 1)[1]
    with teacher.client.websocket_connect(f"/api/v1/tests/{state['test_id']}/live?token={token}") as feed:
        feed.receive_json()
        feed.send_bytes(b"\x00\x01")
        assert feed.receive_json()["error"]["code"] == "invalid_request"


def change_account(api: Api, user_id: str, *, role: str | None) -> None:
    """What the CLI or another instance may do to an account while its sockets are open."""
    database = api.client.app.state.database  # type: ignore[attr-defined]
    with database.owner_transaction() as connection:
        if role is None:
            connection.execute(delete(users).where(users.c.id == user_id))
        else:
            connection.execute(update(users).where(users.c.id == user_id).values(role=role))


def user_id_of(api: Api) -> str:
    return api.get("/me").json()["user_id"]


def test_a_demoted_teachers_feed_is_closed_with_4403_before_the_next_push(student: Api, teacher: Api) -> None:
    teach(teacher, student, student.test_id("mini-diagnostic"))  # the student is in the teacher's class
    state = student.start()
    q1 = section_questions(state, 0)[0]
    token = teacher.headers["Authorization"].split(" ", 1)[1]
    with teacher.client.websocket_connect(f"/api/v1/tests/{state['test_id']}/live?token={token}") as feed:
        assert feed.receive_json()["type"] == "sessions"
        change_account(teacher, user_id_of(teacher), role="student")
        student.send(state["id"], student.op("answer", question_id=q1["id"], answer="a"))
        with pytest.raises(WebSocketDisconnect) as closed:
            feed.receive_json()
    assert closed.value.code == 4403


@pytest.mark.parametrize("change", ["deleted", "demoted"])
def test_an_idle_staff_feed_is_closed_once_the_account_is_rechecked(student: Api, teacher: Api, change: str) -> None:
    teach(teacher, student, student.test_id("mini-diagnostic"))  # the student is in the teacher's class
    state = student.start()
    token = teacher.headers["Authorization"].split(" ", 1)[1]
    with teacher.client.websocket_connect(f"/api/v1/tests/{state['test_id']}/live?token={token}") as feed:
        assert feed.receive_json()["type"] == "sessions"
        change_account(teacher, user_id_of(teacher), role=None if change == "deleted" else "student")
        feed.send_json({"type": "ping", "id": "before"})
        assert feed.receive_json() == {"type": "pong", "id": "before"}  # not yet due for a check
        teacher.clock.advance(60)
        feed.send_json({"type": "ping", "id": "after"})
        with pytest.raises(WebSocketDisconnect) as closed:
            feed.receive_json()
    assert closed.value.code == (4401 if change == "deleted" else 4403)


def test_a_deleted_students_session_socket_is_closed_with_4401(student: Api) -> None:
    state = student.start()
    with connect(student, state["id"]) as socket:
        read_until(socket, "ready")
        change_account(student, user_id_of(student), role=None)
        student.clock.advance(60)
        socket.send_json({"type": "ping", "id": "p"})
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()
    assert closed.value.code == 4401


def test_a_failed_account_check_keeps_the_socket_open(student: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    state = student.start()

    def unreachable(_user_id: str) -> str:
        raise ConnectionError("the database is unreachable")

    monkeypatch.setattr(student.client.app.state.accounts, "role_of", unreachable)  # type: ignore[attr-defined]
    with connect(student, state["id"]) as socket:
        read_until(socket, "ready")
        student.clock.advance(60)
        socket.send_json({"type": "ping", "id": "p"})
        assert socket.receive_json() == {"type": "pong", "id": "p"}


def test_over_the_socket_a_batch_keeps_its_order_and_a_submit_is_the_last_activity(student: Api) -> None:
    state = student.start()
    q1 = section_questions(state, 0)[0]
    # Made in one millisecond; the op_ids alone would pick the unflag.
    unflag = {**student.op("unflag", question_id=q1["id"]), "op_id": "ffffffff-ffff-4fff-bfff-ffffffffffff"}
    flag = {**student.op("flag", question_id=q1["id"]), "op_id": "00000000-0000-4000-8000-000000000000"}
    with connect(student, state["id"]) as socket:
        read_until(socket, "ready")
        socket.send_json({"type": "ops", "id": "r1", "ops": [unflag, flag], "device_id": "tablet", "sent_at": student.clock()})
        assert [r["status"] for r in read_until(socket, "ack")[-1]["results"]] == ["applied", "applied"]
        student.clock.advance(30)
        submit = student.op("submit_section", section_id=state["sections"][0]["section_id"])
        socket.send_json({"type": "ops", "id": "r2", "ops": [submit], "device_id": "tablet", "sent_at": student.clock()})
        assert read_until(socket, "ack")[-1]["results"][0]["status"] == "applied"
    assert student.resume(state["id"])["sections"][0]["flagged"] == [q1["id"]]
    [row] = student.get("/sessions").json()
    assert row["last_activity_at"] == student.clock()


def test_over_the_socket_a_device_cannot_pass_its_ops_off_as_rescued(student: Api) -> None:
    state = student.start()
    q1 = section_questions(state, 0)[0]
    with connect(student, state["id"]) as socket:
        read_until(socket, "ready")
        socket.send_json({"type": "ops", "id": "r1", "ops": [student.op("answer", question_id=q1["id"], answer="a")],
                          "device_id": "rescue:tablet"})
        refusal = read_until(socket, "error")[-1]
        assert refusal["id"] == "r1" and refusal["error"]["code"] == "invalid_request"
    assert student.get(f"/sessions/{state['id']}/history").json() == []


@pytest.mark.parametrize("batch", [
    {"ops": "not a list"},
    {"ops": [{"op_id": "x", "type": "flag", "question_id": "q" * 37}]},
    {"ops": [], "device_id": "d" * 65},
    {"ops": [], "sent_at": -1},
    {"ops": [], "device_id": "rescue:tablet"},
], ids=["ops-not-a-list", "question-id-too-long", "device-id-too-long", "negative-sent-at", "rescue-device"])
def test_a_batch_is_refused_alike_over_http_and_the_socket(student: Api, batch: dict[str, Any]) -> None:
    state = student.start()
    over_http = student.post(f"/sessions/{state['id']}/ops", json=batch)
    with connect(student, state["id"]) as socket:
        read_until(socket, "ready")
        socket.send_json({"type": "ops", "id": "r1", **batch})
        frame = socket.receive_json()
        while frame["type"] not in ("error", "ack"):  # an ack fails the test instead of hanging it
            frame = socket.receive_json()
    body = over_http.json()["error"]
    assert (frame["id"], frame["status"]) == ("r1", over_http.status_code)
    assert (frame["error"]["code"], frame["error"]["message"]) == (body["code"], body["message"])


def test_every_error_frame_carries_the_status_the_same_error_has_over_http(student: Api) -> None:
    state = student.start()
    with connect(student, state["id"]) as socket:
        read_until(socket, "ready")
        socket.send_text("not json")
        assert socket.receive_json() == {"type": "error", "id": None, "status": 422, "error": {
            "code": "invalid_request", "message": "not JSON"}}
        socket.send_json({"type": "ops", "id": "r1", "ops": [student.op("flag") for _ in range(1000)]})
        refusal = read_until(socket, "error")[-1]
        assert (refusal["id"], refusal["status"], refusal["error"]["code"]) == ("r1", 413, "too_many_ops")
