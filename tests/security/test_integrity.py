"""Exam integrity: each way a student might cheat the clock or the answers, tried and refused.

Time comes from the FakeClock (tests/conftest.py): the server's now is moved by hand, never slept for.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from examsync.settings import Settings
from examsync.web.app import create_app
from tests.conftest import Api, FakeClock, teach
from tests.security.conftest import SECRET_MARKERS, questions_of, token_of

REVEALING_KEYS = ("correct_answer", "explanation", "is_correct", '"correct"')


def hidden(text: str, *, markers: tuple[str, ...] = SECRET_MARKERS, keys: bool = True) -> list[str]:
    """Which secrets (correct answers, explanations, and the keys that would hold them) a response text shows."""
    return [m for m in (*markers, *(REVEALING_KEYS if keys else ())) if m in text]


def remaining(student: Api, session_id: str, section: int = 0) -> int:
    return student.resume(session_id)["sections"][section]["time_remaining_ms"]


def statuses(outcome: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(r["status"], r.get("code")) for r in outcome["results"]]


@pytest.fixture
def graced(settings: Settings, clock: FakeClock) -> Iterator[Api]:
    """A student of an app with a 30-second offline grace."""
    with TestClient(create_app(settings.with_(offline_grace_seconds=30), clock=clock, run_sweep=False)) as client:
        yield Api(client, clock).signup()


def live_messages(student: Api, session_id: str, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Everything the session's socket sends while the requests are made on it, each answered."""
    seen: list[dict[str, Any]] = []
    url = f"/api/v1/sessions/{session_id}/live?token={token_of(student)}"
    with student.client.websocket_connect(url) as socket:
        while (message := socket.receive_json())["type"] != "ready":
            seen.append(message)
        for request in requests:
            socket.send_json(request)
            while (message := socket.receive_json()).get("id") != request["id"] or message["type"] == "event":
                seen.append(message)
            seen.append(message)
    return seen


# ----- time --------------------------------------------------------------------------------------


def test_forged_client_times_and_device_clocks_add_no_time(student: Api) -> None:
    state = student.start("sec-exam")
    s1 = questions_of("sec-exam")[0]
    student.clock.advance(100)
    assert remaining(student, state["id"]) == 500_000
    now = student.clock()
    forged = [
        {"op_id": str(uuid.uuid4()), "type": "answer", "client_time": t, "question_id": s1["id"], "answer": "a"}
        for t in (0, now - 10**9, now + 10**10, 2**53 - 1)
    ]
    for op, sent_at in zip(forged, (0, now + 10**10, 1, None)):
        outcome = student.send(state["id"], op, device_id="liar", **({"sent_at": sent_at} if sent_at is not None else {}))
        assert outcome["results"][0]["status"] in ("applied", "superseded")
    student.send(state["id"], student.op("heartbeat"), student.op("heartbeat"), sent_at=1)
    assert remaining(student, state["id"]) == 500_000  # exactly what the server's clock says
    student.clock.advance(500)
    late = {"op_id": str(uuid.uuid4()), "type": "answer", "client_time": now, "question_id": s1["id"], "answer": "b"}
    assert statuses(student.send(state["id"], late, sent_at=now)) == [("rejected", "time_expired")]
    assert statuses(student.send(state["id"], student.op("answer", question_id=s1["id"], answer="c"), sent_at=1)) == [
        ("rejected", "time_expired")]


def test_a_burst_of_heartbeats_adds_no_time(student: Api) -> None:
    state = student.start("sec-active")
    q = questions_of("sec-active")[0]
    student.send(state["id"], student.op("navigate", question_id=q["id"]))
    student.clock.advance(10)
    for _ in range(5):
        student.send(state["id"], *[student.op("heartbeat") for _ in range(40)])
        student.send(state["id"], {**student.op("heartbeat"), "client_time": 0})
    assert remaining(student, state["id"]) == 110_000
    beats = [{"type": "heartbeat", "id": f"h{i}", "client_time": 0} for i in range(20)]
    live_messages(student, state["id"], beats)
    assert remaining(student, state["id"]) == 110_000
    # Heartbeats keep an active_time clock running; they never wind it back.
    student.clock.advance(10)
    student.send(state["id"], student.op("heartbeat"))
    assert remaining(student, state["id"]) == 100_000


def test_a_silent_client_gains_nothing_under_wall_clock(student: Api) -> None:
    state = student.start("sec-exam")
    s1, s2 = questions_of("sec-exam")
    student.send(state["id"], student.op("answer", question_id=s1["id"], answer="c"))
    # The device's clock stands still at the start (a paused VM, a frozen tab) and it sends nothing.
    frozen = student.clock()
    student.clock.advance(601)
    paused = {"op_id": str(uuid.uuid4()), "type": "answer", "client_time": frozen, "question_id": s2["id"],
              "answer": "zanzibar-correct-word"}
    assert statuses(student.send(state["id"], paused, device_id="paused", sent_at=frozen)) == [
        ("rejected", "time_expired")]
    section = student.resume(state["id"])["sections"][0]
    assert (section["status"], section["submit_reason"], section["time_remaining_ms"]) == ("submitted", "expired", 0)
    assert section["answers"] == {s1["id"]: "c"}


def test_nothing_lands_after_the_deadline_beyond_the_grace(graced: Api) -> None:
    student = graced
    state = student.start("sec-exam")
    s1, s2 = questions_of("sec-exam")
    deadline = student.clock() + 600_000
    student.clock.advance(610)  # 10 s past the deadline, inside the 30 s grace

    def answer(question: dict[str, Any], made_at: int, value: str) -> dict[str, Any]:
        return {"op_id": str(uuid.uuid4()), "type": "answer", "client_time": made_at, "question_id": question["id"],
                "answer": value}

    made_before = answer(s1, deadline - 5_000, "c")
    made_after = answer(s2, deadline + 1_000, "late")
    assert statuses(student.send(state["id"], made_before, made_after)) == [
        ("applied", None), ("rejected", "time_expired")]
    student.clock.advance(21)  # 31 s past the deadline: the grace is over
    forged_early = answer(s2, deadline - 60_000, "forged")
    assert statuses(student.send(state["id"], forged_early)) == [("rejected", "time_expired")]
    section = student.resume(state["id"])["sections"][0]
    assert section["status"] == "submitted" and section["answers"] == {s1["id"]: "c"}


def test_a_student_cannot_choose_or_grant_themselves_more_time(student: Api) -> None:
    test_id = student.test_id("sec-exam")
    for options in ({"time_multiplier": 2.0}, {"untimed": True}, {"time_multiplier": 10}):
        refused = student.post("/sessions", {"test_id": test_id, **options})
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_time_option"
    state = student.start("sec-exam")
    user_id = student.get("/me").json()["user_id"]
    assert student.put(f"/sessions/{state['id']}/time", {"extra_seconds": 3600}).status_code == 403
    assert student.put(f"/users/{user_id}/time", {"time_multiplier": 3}).status_code == 403
    assert remaining(student, state["id"]) == 600_000


# ----- submitted sections ------------------------------------------------------------------------


def test_a_submitted_section_cannot_change(student: Api, teacher: Api) -> None:
    teach(teacher, student, student.test_id("sec-exam"))  # the student is in the teacher's class
    state = student.start("sec-exam")
    s1, s2 = questions_of("sec-exam")
    first = state["sections"][0]["section_id"]
    student.send(state["id"], student.op("answer", question_id=s1["id"], answer="a"),
                 student.op("submit_section", section_id=first))
    attempts = [
        student.op("answer", question_id=s1["id"], answer="c"),
        student.op("answer", question_id=s2["id"], answer="zanzibar-correct-word"),
        student.op("flag", question_id=s1["id"]),
        student.op("note", question_id=s1["id"], text="changed"),
        student.op("eliminate", question_id=s1["id"], choice_id="b"),
        student.op("navigate", question_id=s1["id"]),
        student.op("submit_section", section_id=first),
    ]
    assert {code for _, code in statuses(student.send(state["id"], *attempts))} == {"section_submitted"}
    # Time added afterwards does not reopen it, over HTTP or the socket.
    assert teacher.put(f"/sessions/{state['id']}/time", {"extra_seconds": 3600}).status_code == 200
    again = [{"type": "ops", "id": "again", "ops": [student.op("answer", question_id=s1["id"], answer="c")]}]
    ack = live_messages(student, state["id"], again)[-1]
    assert statuses(ack) == [("rejected", "section_submitted")]
    section = student.resume(state["id"])["sections"][0]
    assert section["status"] == "submitted" and section["answers"] == {s1["id"]: "a"} and section["flagged"] == []

    student.send(state["id"], student.op("complete"))
    after = student.send(state["id"], student.op("answer", question_id=questions_of("sec-exam", 1)[0]["id"],
                                                 answer="x"))
    assert statuses(after) == [("rejected", "session_completed")]


# ----- correct answers ---------------------------------------------------------------------------


def test_correct_answers_stay_home_until_their_section_is_submitted(student: Api, teacher: Api) -> None:
    teach(teacher, student, student.test_id("sec-exam"))  # the student is in the teacher's class
    state = student.start("sec-exam")
    s1, s2 = questions_of("sec-exam")
    s3 = questions_of("sec-exam", 1)[0]
    sid = state["id"]
    student.send(sid, student.op("answer", question_id=s1["id"], answer="b"),
                 student.op("answer", question_id=s2["id"], answer="a guess"))

    def student_views() -> dict[str, str]:
        views = {path: student.get(path).text for path in (
            f"/sessions/{sid}", f"/sessions/{sid}/history", f"/sessions/{sid}/results", "/sessions", "/tests",
            "/me/performance")}
        views["start"] = student.post("/sessions", {"test_id": state["test_id"]}).text
        export = student.get(f"/export?session_id={sid}")
        assert export.status_code == 403
        views["export"] = export.text
        return views

    assert {path: hidden(text) for path, text in student_views().items()} == {path: [] for path in student_views()}
    # Staff export marks no correctness for a section still open, and never names the correct answer.
    rows = teacher.get(f"/export?session_id={sid}").json()
    assert {r["is_correct"] for r in rows} == {None} and hidden(json.dumps(rows), keys=False) == []

    # Submitted over the live socket: the socket itself never carries a correct answer or an explanation.
    submit = {"type": "ops", "id": "submit", "ops": [student.op("submit_section", section_id=state["sections"][0]["section_id"]),
                                                       student.op("navigate", question_id=s3["id"]),
                                                       student.op("answer", question_id=s3["id"], answer="wrong")]}
    messages = live_messages(student, sid, [submit])
    assert statuses(messages[-1]) == [("applied", None)] * 3
    assert hidden(json.dumps(messages)) == []

    # Now section one's review is out, and only section one's.
    results = student.get(f"/sessions/{sid}/results").json()
    one, two = results["sections"]
    assert {q["id"]: q["correct_answer"] for q in one["questions"]} == {s1["id"]: "c", s2["id"]: ["zanzibar-correct-word"]}
    assert "questions" not in two
    text = json.dumps(results)
    assert "EXPLANATION-ONE-zq7" in text and "quixotic-correct-word" not in text and "EXPLANATION-THREE-zq7" not in text
    for path in (f"/sessions/{sid}", f"/sessions/{sid}/history", "/sessions"):
        assert hidden(student.get(path).text, markers=("quixotic-correct-word", "EXPLANATION-THREE-zq7")) == []
    rows = teacher.get(f"/export?session_id={sid}").json()
    assert [(r["question_id"], r["is_correct"]) for r in rows] == [(s1["id"], False), (s2["id"], False), (s3["id"], None)]


# ----- op ids ------------------------------------------------------------------------------------


def test_an_op_id_cannot_be_reused_with_another_payload(student: Api) -> None:
    state = student.start("sec-exam")
    s1, s2 = questions_of("sec-exam")
    op = student.op("answer", question_id=s1["id"], answer="a")
    assert statuses(student.send(state["id"], op)) == [("applied", None)]
    variants = [
        {**op, "answer": "c"},
        {**op, "client_time": op["client_time"] + 1},
        {**op, "question_id": s2["id"], "answer": "zanzibar-correct-word"},
        {**op, "type": "flag"},
        {**op, "op_id": op["op_id"].upper(), "answer": "b"},  # the same op_id in another spelling
        {"op_id": op["op_id"], "type": "submit_section", "client_time": 1, "section_id": state["sections"][0]["section_id"]},
    ]
    assert statuses(student.send(state["id"], *variants)) == [("rejected", "op_id_reused")] * len(variants)
    fresh = student.op("answer", question_id=s2["id"], answer="first")
    inside_one_batch = student.send(state["id"], fresh, {**fresh, "answer": "second"}, {**op})
    assert statuses(inside_one_batch) == [("applied", None), ("rejected", "op_id_reused"), ("duplicate", None)]
    over_socket = live_messages(student, state["id"], [{"type": "ops", "id": "r", "ops": [{**op, "answer": "b"}]}])
    assert statuses(over_socket[-1]) == [("rejected", "op_id_reused")]
    answers = student.resume(state["id"])["sections"][0]["answers"]
    assert answers == {s1["id"]: "a", s2["id"]: "first"}
    history = student.get(f"/sessions/{state['id']}/history").json()
    assert [h["op_id"] for h in history].count(op["op_id"]) == 1
