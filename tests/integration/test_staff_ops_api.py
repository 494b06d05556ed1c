"""`POST /api/v1/sessions/{id}/staff-ops` and `GET /api/v1/sessions/{id}/replay`, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import update

from examsync.store.database import SYSTEM
from examsync.store.tables import question_attempt_history
from tests.conftest import Api, section_questions, teach
from tests.integration.test_live import connect, events_in, read_until, wait_for_seq


def staff_account(api: Api, role: str, name: str) -> Api:
    email = f"{role}-{uuid.uuid4().hex[:8]}@example.org"
    api.client.app.state.accounts.add_user(email, "staff password 1", role=role,  # type: ignore[attr-defined]
                                           display_name=name)
    return api.login(email, "staff password 1")


@pytest.fixture
def rivera(api: Api) -> Api:
    """A teacher, with a display name the student is shown."""
    return staff_account(api, "teacher", "Ms Rivera")


@pytest.fixture
def sitting(student: Api, rivera: Api) -> dict[str, Any]:
    """The student has begun the mini diagnostic (600 s, then 300 s), taught by Ms Rivera."""
    state = student.start()
    teach(rivera, student, state["test_id"])
    student.send(state["id"], student.op("navigate", question_id=section_questions(state)[0]["id"]))
    return state


def staff_op(type: str, **fields: Any) -> dict[str, Any]:
    return {"op_id": str(uuid.uuid4()), "type": type, **fields}


def send(staff: Api, session_id: str, *ops: dict[str, Any], status: int = 200) -> dict[str, Any]:
    response = staff.post(f"/sessions/{session_id}/staff-ops", {"ops": list(ops)})
    assert response.status_code == status, response.text
    return response.json()


def remaining(student: Api, session_id: str, index: int = 0) -> int:
    return student.resume(session_id)["sections"][index]["time_remaining_ms"]


def test_pause_stops_the_clock_refuses_new_answers_and_resume_runs_it_again(
        student: Api, rivera: Api, sitting: dict[str, Any]) -> None:
    sid, question = sitting["id"], section_questions(sitting)[0]
    student.clock.advance(60)
    outcome = send(rivera, sid, staff_op("pause"))
    assert outcome["results"][0]["status"] == "applied" and outcome["last_seq"] == outcome["results"][0]["seq"]
    state = student.resume(sid)
    assert (state["paused"], state["paused_by"]) == (True, "Ms Rivera")
    student.clock.advance(900)  # longer than the whole section
    assert remaining(student, sid) == 540_000
    refused = student.send(sid, student.op("answer", question_id=question["id"], answer="b"))["results"][0]
    assert (refused["status"], refused["code"]) == ("rejected", "session_paused")
    queued = student.op("answer", question_id=question["id"], answer="a", client_time=student.clock() - 901_000)
    assert student.send(sid, queued)["results"][0]["status"] == "applied"  # made before the pause: kept
    student.client.app.state.service.sweep_expired()  # type: ignore[attr-defined]
    assert student.resume(sid)["sections"][0]["status"] == "in_progress"

    again = send(rivera, sid, staff_op("pause"))["results"][0]
    assert (again["status"], again["code"]) == ("rejected", "already_paused")
    send(rivera, sid, staff_op("resume"))
    student.clock.advance(30)
    state = student.resume(sid)
    assert state["paused"] is False and state["sections"][0]["time_remaining_ms"] == 510_000
    assert student.send(sid, student.op("answer", question_id=question["id"], answer="b"))["results"][0][
        "status"] == "applied"
    not_paused = send(rivera, sid, staff_op("resume"))["results"][0]
    assert (not_paused["status"], not_paused["code"]) == ("rejected", "not_paused")


def test_extend_time_shows_at_once(student: Api, rivera: Api, sitting: dict[str, Any]) -> None:
    sid = sitting["id"]
    send(rivera, sid, staff_op("extend_time", extra_seconds=120))
    assert [s["time_limit_ms"] for s in student.resume(sid)["sections"]] == [720_000, 300_000]
    send(rivera, sid, staff_op("extend_time", extra_seconds=60, scope="session"))
    assert [s["time_limit_ms"] for s in student.resume(sid)["sections"]] == [750_000, 330_000]
    entry = rivera.get(f"/sessions/{sid}/history").json()[-1]
    assert entry["kind"] == "staff_extend_time" and entry["payload"]["by"] == rivera.get("/me").json()["user_id"]


def test_a_retry_is_a_duplicate_and_a_reused_op_id_is_refused(
        student: Api, rivera: Api, sitting: dict[str, Any]) -> None:
    sid = sitting["id"]
    pause = staff_op("pause")
    first = send(rivera, sid, pause)["results"][0]
    assert send(rivera, sid, pause)["results"][0] == {"op_id": pause["op_id"], "status": "duplicate",
                                                      "seq": first["seq"]}
    reused = send(rivera, sid, {**pause, "type": "note", "text": "hi"})["results"][0]
    assert (reused["status"], reused["code"]) == ("rejected", "op_id_reused")
    kinds = [e["kind"] for e in rivera.get(f"/sessions/{sid}/history").json()]
    assert kinds.count("staff_pause") == 1 and "staff_note" not in kinds


def test_force_submit_completes_with_every_answer_then_only_a_reopen_is_taken_once(
        student: Api, rivera: Api, sitting: dict[str, Any]) -> None:
    sid, first, second = sitting["id"], *[s["section_id"] for s in sitting["sections"]]
    question = section_questions(sitting)[0]
    student.send(sid, student.op("answer", question_id=question["id"], answer="b"))
    force = staff_op("force_submit")
    send(rivera, sid, force)
    results = student.get(f"/sessions/{sid}/results").json()
    assert results["status"] == "completed" and results["score"] == 1
    assert send(rivera, sid, force)["results"][0]["status"] == "duplicate"  # a retry is not refused
    refused = rivera.post(f"/sessions/{sid}/staff-ops", {"ops": [staff_op("pause")]})
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "session_completed")
    performance = student.get("/me/performance").json()
    assert sum(p["sessions"] for p in performance) == 2  # two sub-skills, one session

    reopened = send(rivera, sid, staff_op("reopen_section", section_id=first, extra_seconds=60, reason="alarm"))
    assert reopened["results"][0]["status"] == "applied"
    state = student.resume(sid)
    assert state["status"] == "active" and state["current_section_id"] == first
    assert state["sections"][0]["reopened"] is True and state["sections"][1]["status"] == "submitted"
    assert student.send(sid, student.op("answer", question_id=section_questions(sitting)[1]["id"],
                                        answer=["a", "b"]))["results"][0]["status"] == "applied"
    student.send(sid, student.op("submit_section", section_id=first))
    assert student.get(f"/sessions/{sid}/results").json()["score"] == 2
    performance = student.get("/me/performance").json()
    assert sum(p["sessions"] for p in performance) == 2 and sum(p["correct"] for p in performance) == 2
    twice = send(rivera, sid, staff_op("reopen_section", section_id=first, extra_seconds=60))["results"][0]
    assert (twice["status"], twice["code"]) == ("rejected", "already_reopened")
    assert second  # section two was never reopened: it stays as it was


def test_a_note_is_kept_from_the_student_everywhere(student: Api, rivera: Api, sitting: dict[str, Any]) -> None:
    sid = sitting["id"]
    secret = "suspected of looking at a phone"
    with connect(student, sid, after_seq=1) as socket:
        read_until(socket, "ready")
        seq = send(rivera, sid, staff_op("note", text=secret))["results"][0]["seq"]
        pushed = events_in(wait_for_seq(socket, seq))[-1]
        assert pushed["kind"] == "staff_note" and secret not in str(pushed)
    mine = student.get(f"/sessions/{sid}/history").json()
    assert [e["seq"] for e in mine] == list(range(1, seq + 1)) and secret not in str(mine)
    with connect(student, sid) as socket:
        assert secret not in str(read_until(socket, "ready"))
    assert secret in str(rivera.get(f"/sessions/{sid}/history").json())
    replayed = rivera.get(f"/sessions/{sid}/replay").json()
    assert replayed["entries"][-1]["payload"]["text"] == secret and replayed["chain"]["verified"] is True


def test_pause_is_pushed_live_to_the_students_device(student: Api, rivera: Api, sitting: dict[str, Any]) -> None:
    sid = sitting["id"]
    with connect(student, sid, after_seq=1) as socket:
        read_until(socket, "ready")
        seq = send(rivera, sid, staff_op("pause"))["results"][0]["seq"]
        event = events_in(wait_for_seq(socket, seq))[-1]
        assert event["kind"] == "staff_pause" and event["payload"]["by_name"] == "Ms Rivera"
        state = socket.receive_json()
        assert state["type"] == "state" and (state["paused"], state["paused_by"]) == (True, "Ms Rivera")


def test_the_replay_shows_every_entry_marks_superseded_answers_and_verifies_the_chain(
        student: Api, rivera: Api, sitting: dict[str, Any]) -> None:
    sid = sitting["id"]
    question = section_questions(sitting)[0]
    older = student.op("answer", question_id=question["id"], answer="a")
    newer = student.op("answer", question_id=question["id"], answer="b", client_time=older["client_time"] + 1)
    student.send(sid, older, newer)
    student.send(sid, student.op("answer", question_id="nope", answer="a"))
    send(rivera, sid, staff_op("pause"), staff_op("resume"))
    replay = rivera.get(f"/sessions/{sid}/replay").json()
    assert {k: replay[k] for k in ("session_id", "display_name", "test_title")} == {
        "session_id": sid, "display_name": "S", "test_title": "Mini diagnostic"}
    assert replay["chain"] == {"verified": True, "entries": 6, "first_bad_seq": None}
    entries = replay["entries"]
    assert [e["seq"] for e in entries] == [1, 2, 3, 4, 5, 6]
    answers = [e for e in entries if e["kind"] == "answer" and e["status"] != "rejected"]
    assert [(e["payload"]["answer"], e["superseded"]) for e in answers] == [("a", True), ("b", False)]
    assert entries[3]["code"] == "unknown_question"
    assert [e["by"] is not None for e in entries[4:]] == [True, True]
    assert replay["questions"][0] == {"id": question["id"], "section_id": sitting["sections"][0]["section_id"],
                                      "position": 1, "stem_preview": "2 + 2 = ?",
                                      "choices": [{"id": "a", "text": "3"}, {"id": "b", "text": "4"},
                                                  {"id": "c", "text": "5"}]}

    database = rivera.client.app.state.database  # type: ignore[attr-defined]
    with database.transaction(SYSTEM, write=True) as connection:
        connection.execute(update(question_attempt_history).where(
            question_attempt_history.c.session_id == sid, question_attempt_history.c.seq == 3).values(
            payload={"type": "answer", "answer": "c"}))
    assert rivera.get(f"/sessions/{sid}/replay").json()["chain"] == {
        "verified": False, "entries": 6, "first_bad_seq": 3}


def test_malformed_staff_ops_are_refused_one_by_one(student: Api, rivera: Api, sitting: dict[str, Any]) -> None:
    sid = sitting["id"]
    outcome = send(rivera, sid, staff_op("extend_time"), staff_op("reopen_section", section_id="x",
                                                                  extra_seconds=1), staff_op("note", text="fine"))
    assert [(r["status"], r.get("code")) for r in outcome["results"]] == [
        ("rejected", "invalid_op"), ("rejected", "unknown_section"), ("applied", None)]
