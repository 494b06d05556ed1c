"""A timed session its student walked away from is ended by the sweep, on SQLite and PostgreSQL."""

from __future__ import annotations

from examsync.store import sessions as store
from examsync.store.database import SYSTEM
from tests.conftest import Api, section_questions


def sweep(student: Api) -> int:
    return student.client.app.state.service.sweep_expired()  # type: ignore[attr-defined]


def kinds(student: Api, session_id: str) -> list[str]:
    return [entry["kind"] for entry in student.get(f"/sessions/{session_id}/history").json()]


def test_the_sweep_runs_an_abandoned_session_to_its_end_and_scores_it(student: Api) -> None:
    state = student.start()  # wall clock: 600 s, then 300 s; the default break of 600 s between them
    q1 = section_questions(state)[0]
    student.send(state["id"], student.op("answer", question_id=q1["id"], answer="b"))

    student.clock.advance(600)
    assert sweep(student) == 1  # section one runs out
    student.clock.advance(599)
    assert sweep(student) == 0
    student.clock.advance(1)
    assert sweep(student) == 1  # the break is over: section two starts by itself
    student.clock.advance(300)
    assert sweep(student) == 1  # section two runs out: the session is complete

    assert kinds(student, state["id"])[-3:] == ["section_expired", "section_started", "section_expired"]
    [row] = student.get("/sessions").json()
    assert (row["status"], row["resumable"], row["score"], row["max_score"]) == ("completed", False, 1, 4)
    results = student.get(f"/sessions/{state['id']}/results").json()
    assert [s["submit_reason"] for s in results["sections"]] == ["expired", "expired"]
    performance = {p["sub_skill"]: (p["attempts"], p["correct"], p["sessions"])
                   for p in student.get("/me/performance").json()}
    assert performance == {"addition": (2, 1, 1), "fractions": (2, 0, 1)}


def test_the_sweep_ends_a_session_idle_past_its_limit_with_the_rule_in_the_log(student: Api) -> None:
    service = student.client.app.state.service  # type: ignore[attr-defined]
    state = student.start("mini-practice")  # active time: its clock stops while the student is away
    p1 = section_questions(state)[0]
    student.send(state["id"], student.op("answer", question_id=p1["id"], answer="a"))

    student.clock.advance(86_399)
    assert sweep(student) == 0
    student.clock.advance(1)
    with service.db.transaction(SYSTEM, write=False) as connection:
        assert store.sessions_due(connection, service.clock()) == [state["id"]]
    assert sweep(student) == 1

    ended = student.get(f"/sessions/{state['id']}/history").json()[-1]
    assert (ended["kind"], ended["payload"]["rule"], ended["payload"]["idle_limit_ms"]) == (
        "session_ended", "idle_limit", 86_400_000)
    results = student.get(f"/sessions/{state['id']}/results").json()
    assert (results["status"], results["score"], results["sections"][0]["submit_reason"]) == ("completed", 1, "ended")
    assert [(p["sub_skill"], p["attempts"], p["correct"]) for p in student.get("/me/performance").json()] == [
        ("addition", 1, 1)]
    assert student.resume(state["id"])["sections"][0]["submit_reason"] == "ended"
    late = student.send(state["id"], student.op("answer", question_id=p1["id"], answer="b"))["results"][0]
    assert late["code"] == "session_completed"


def test_practice_without_a_timer_stays_open(student: Api) -> None:
    state = student.start("mini-practice", untimed=True)
    student.clock.advance(30 * 86_400)
    assert sweep(student) == 0
    assert student.resume(state["id"])["status"] == "active"
