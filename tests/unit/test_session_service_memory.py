"""The session use cases on the memory store: start, answer, duplicates, flags, sections, the sweep, results.

No database and no server: `SessionService` runs on `MemorySessionStore` with a clock the test moves, so each test
takes milliseconds. The same service runs on SQL in tests/integration; tests/store holds both stores to one contract.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from examsync.domain.content import DEFAULT_BREAK_SECONDS
from examsync.domain.assignments import AssignmentSettings
from examsync.domain.errors import AssignmentClosedError, AttemptsExhaustedError, InvalidRequestError, NotFoundError
from examsync.domain.events import SessionChange
from examsync.services import SessionService
from examsync.store.database import Actor
from examsync.store.memory import MemorySessionStore
from tests.unit.builders import (
    DIAG_S1, DIAG_S1_LIMIT_S, DIAG_S2, MULTI_CORRECT, NUMERIC_CORRECT, Q_MULTI, Q_NUMERIC, Q_SINGLE, Q_TEXT,
    SECOND, SINGLE_CORRECT, T0, diagnostic_test, practice_test,
)

STUDENT = Actor("student-1", "student")
CLASSMATE = Actor("student-2", "student")
TEST_ID = "test-diagnostic"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += int(seconds * SECOND)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def changes() -> list[SessionChange]:
    return []


@pytest.fixture
def service(clock: Clock, changes: list[SessionChange]) -> SessionService:
    store = MemorySessionStore()
    for user in (STUDENT, CLASSMATE):
        store.add_user(user.user_id)
    store.add_test(diagnostic_test())
    for slug, area in (("addition", "arithmetic"), ("fractions", "arithmetic"), ("biology", "science")):
        store.add_sub_skill(slug, slug.title(), area)
    return SessionService(store=store, clock=clock, listeners=[changes.append])


def op(type: str, clock: Clock, **fields: Any) -> dict[str, Any]:
    return {"op_id": str(uuid.uuid4()), "type": type, "client_time": clock.now, **fields}


def started(service: SessionService) -> str:
    state, created = service.start(STUDENT, TEST_ID)
    assert created
    return str(state["id"])


def section(state: dict[str, Any], section_id: str) -> dict[str, Any]:
    return next(s for s in state["sections"] if s["section_id"] == section_id)


def test_starting_a_test_begins_its_first_section_and_starting_again_resumes_it(service: SessionService) -> None:
    state, created = service.start(STUDENT, TEST_ID)
    again, created_again = service.start(STUDENT, TEST_ID)

    assert created and not created_again and again["id"] == state["id"]
    assert [s["status"] for s in state["sections"]] == ["in_progress", "not_started"]
    assert service.list_mine(STUDENT)[0]["id"] == state["id"]


def test_an_answer_is_applied_saved_and_announced_after_commit(service: SessionService, clock: Clock,
                                                                changes: list[SessionChange]) -> None:
    session_id = started(service)
    clock.advance(5)

    outcome = service.apply_ops(STUDENT, session_id, [op("answer", clock, question_id=Q_SINGLE, answer="b")])

    assert [r["status"] for r in outcome["results"]] == ["applied"]
    assert section(service.resume(STUDENT, session_id), DIAG_S1)["answers"] == {Q_SINGLE: "b"}
    assert changes[-1].session_id == session_id and [e.kind for e in changes[-1].entries] == ["answer"]
    assert outcome["last_seq"] == changes[-1].entries[-1].seq


def test_an_op_sent_twice_is_a_duplicate_with_the_first_ones_seq(service: SessionService, clock: Clock) -> None:
    session_id = started(service)
    sent = op("answer", clock, question_id=Q_SINGLE, answer="a")

    first = service.apply_ops(STUDENT, session_id, [sent])["results"][0]
    clock.advance(1)
    again = service.apply_ops(STUDENT, session_id, [sent])["results"][0]

    assert (again["status"], again["seq"]) == ("duplicate", first["seq"])
    assert [e["op_id"] for e in service.history(STUDENT, session_id) if e["kind"] == "answer"] == [sent["op_id"]]


def test_an_op_id_sent_again_with_another_op_is_rejected_as_reused(service: SessionService, clock: Clock) -> None:
    session_id = started(service)
    sent = op("answer", clock, question_id=Q_SINGLE, answer="a")
    service.apply_ops(STUDENT, session_id, [sent])

    reused = service.apply_ops(STUDENT, session_id, [{**sent, "answer": "c"}])["results"][0]

    assert (reused["status"], reused["code"]) == ("rejected", "op_id_reused")
    assert section(service.resume(STUDENT, session_id), DIAG_S1)["answers"] == {Q_SINGLE: "a"}


def test_a_flag_is_kept(service: SessionService, clock: Clock) -> None:
    session_id = started(service)

    service.apply_ops(STUDENT, session_id, [op("flag", clock, question_id=Q_MULTI)])

    assert section(service.resume(STUDENT, session_id), DIAG_S1)["flagged"] == [Q_MULTI]
    assert service.list_mine(STUDENT)[0]["flagged"] == 1


def test_a_submitted_section_is_followed_by_a_break_that_the_sweep_ends(service: SessionService,
                                                                         clock: Clock) -> None:
    session_id = started(service)
    clock.advance(30)

    result = service.apply_ops(STUDENT, session_id, [op("submit_section", clock, section_id=DIAG_S1)])
    on_break = service.resume(STUDENT, session_id)
    clock.advance(DEFAULT_BREAK_SECONDS + 1)
    swept = service.sweep_expired()

    assert result["results"][0]["status"] == "applied"
    assert (section(on_break, DIAG_S1)["status"], section(on_break, DIAG_S2)["status"]) == ("submitted", "not_started")
    assert swept == 1 and section(service.resume(STUDENT, session_id), DIAG_S2)["status"] == "in_progress"


def test_the_sweep_submits_a_section_whose_time_ran_out(service: SessionService, clock: Clock,
                                                        changes: list[SessionChange]) -> None:
    session_id = started(service)
    clock.advance(DIAG_S1_LIMIT_S - 1)
    assert service.sweep_expired() == 0

    clock.advance(2)
    assert service.sweep_expired() == 1

    assert [e.kind for e in changes[-1].entries][:1] == ["section_expired"]
    state = service.resume(STUDENT, session_id)
    assert (section(state, DIAG_S1)["status"], section(state, DIAG_S1)["submit_reason"]) == ("submitted", "expired")
    assert service.sweep_expired() == 0


def test_a_completed_session_has_results_and_adds_to_performance(service: SessionService, clock: Clock) -> None:
    session_id = started(service)
    answers = [op("answer", clock, question_id=Q_SINGLE, answer=SINGLE_CORRECT),
               op("answer", clock, question_id=Q_MULTI, answer=list(MULTI_CORRECT)),
               op("submit_section", clock, section_id=DIAG_S1)]
    service.apply_ops(STUDENT, session_id, answers)
    clock.advance(10)
    service.apply_ops(STUDENT, session_id, [op("answer", clock, question_id=Q_NUMERIC, answer=str(NUMERIC_CORRECT)),
                                            op("answer", clock, question_id=Q_TEXT, answer="wrong"),
                                            op("complete", clock)])

    results = service.results(STUDENT, session_id)

    assert results["status"] == "completed"
    assert (results["score"], results["max_score"]) == (4.0, 5.0)
    assert {s["sub_skill"]: (s["attempts"], s["correct"]) for s in results["by_sub_skill"]} == {
        "addition": (2, 2), "fractions": (1, 1), "biology": (1, 0)}
    performance = {p["sub_skill"]: (p["attempts"], p["correct"], p["sessions"]) for p in service.performance(STUDENT)}
    assert performance == {"addition": (2, 2, 1), "fractions": (1, 1, 1), "biology": (1, 0, 1)}


def test_another_students_session_does_not_exist_for_them(service: SessionService, clock: Clock) -> None:
    session_id = started(service)

    with pytest.raises(NotFoundError):
        service.resume(CLASSMATE, session_id)
    with pytest.raises(NotFoundError):
        service.apply_ops(CLASSMATE, session_id, [op("flag", clock, question_id=Q_SINGLE)])
    assert service.list_mine(CLASSMATE) == []


def test_history_pages_by_seq(service: SessionService, clock: Clock) -> None:
    session_id = started(service)
    service.apply_ops(STUDENT, session_id, [op("answer", clock, question_id=Q_SINGLE, answer=c) for c in "abc"])

    everything = [e["seq"] for e in service.history(STUDENT, session_id)]
    page = [e["seq"] for e in service.history(STUDENT, session_id, after_seq=everything[0], limit=1)]

    assert page == everything[1:2]


# ----- staff, on the same store ------------------------------------------------

TEACHER = Actor("teacher-1", "teacher")
OTHER_TEACHER = Actor("teacher-2", "teacher")


@pytest.fixture
def taught(service: SessionService) -> SessionService:
    """The student is in the teacher's class, which has the diagnostic assigned; the classmate is not."""
    store = service.store
    assert isinstance(store, MemorySessionStore)
    for teacher in (TEACHER, OTHER_TEACHER):
        store.add_user(teacher.user_id, role="teacher")
    store.add_class("class-1", TEACHER.user_id, [STUDENT.user_id], [TEST_ID])
    return service


def test_a_teacher_watches_only_their_students_sessions(taught: SessionService) -> None:
    mine = started(taught)
    theirs = taught.start(CLASSMATE, TEST_ID)[0]["id"]

    assert [view["id"] for view in taught.overview(TEACHER, TEST_ID)] == [mine]
    assert taught.overview(OTHER_TEACHER, TEST_ID) == []
    with pytest.raises(NotFoundError):
        taught.resume(TEACHER, theirs)


def test_a_teachers_extra_time_reaches_their_students_running_session(taught: SessionService, clock: Clock) -> None:
    session_id = started(taught)
    before = section(taught.resume(STUDENT, session_id), DIAG_S1)["time_remaining_ms"]

    changed = taught.set_user_time(TEACHER, STUDENT.user_id, {"extra_ms": 60 * SECOND})

    assert changed["sessions_updated"] == 1
    assert section(taught.resume(STUDENT, session_id), DIAG_S1)["time_remaining_ms"] > before
    with pytest.raises(NotFoundError):
        taught.set_user_time(OTHER_TEACHER, STUDENT.user_id, {"extra_ms": 60 * SECOND})


def test_exported_attempts_are_marked_once_their_section_is_submitted(taught: SessionService, clock: Clock) -> None:
    session_id = started(taught)
    taught.apply_ops(STUDENT, session_id, [op("answer", clock, question_id=Q_SINGLE, answer=SINGLE_CORRECT)])
    while_open = taught.export_attempts(TEACHER, test_id=TEST_ID)

    taught.apply_ops(STUDENT, session_id, [op("submit_section", clock, section_id=DIAG_S1)])

    assert [(a["question_id"], a["is_correct"]) for a in while_open] == [(Q_SINGLE, None)]
    assert [(a["question_id"], a["is_correct"]) for a in taught.export_attempts(TEACHER, session_id=session_id)] == [
        (Q_SINGLE, True)]


# ----- assignments ---------------------------------------------------------------

ASSIGNMENT = "assignment-1"


@pytest.fixture
def assigned(taught: SessionService, clock: Clock) -> SessionService:
    """The teacher's class has the diagnostic as an assignment of two attempts, closing in an hour."""
    store = taught.store
    assert isinstance(store, MemorySessionStore)
    store.add_assignment(ASSIGNMENT, "class-1", TEST_ID,
                         AssignmentSettings(opens_at=clock.now, closes_at=clock.now + 3_600 * SECOND, max_attempts=2))
    return taught


def test_an_assignments_attempts_stop_at_its_limit(assigned: SessionService, clock: Clock) -> None:
    first = assigned.start(STUDENT, TEST_ID, assignment_id=ASSIGNMENT)[0]
    assigned.apply_ops(STUDENT, first["id"], [op("complete", clock)])
    second, created = assigned.start(STUDENT, TEST_ID, assignment_id=ASSIGNMENT)
    assigned.apply_ops(STUDENT, second["id"], [op("complete", clock)])

    assert created and second["id"] != first["id"]
    with pytest.raises(AttemptsExhaustedError):
        assigned.start(STUDENT, TEST_ID, assignment_id=ASSIGNMENT)


def test_an_attempt_starts_only_while_the_assignment_is_open(assigned: SessionService, clock: Clock) -> None:
    clock.advance(3_600)

    with pytest.raises(AssignmentClosedError):
        assigned.start(STUDENT, TEST_ID, assignment_id=ASSIGNMENT)


def test_a_students_override_lifts_the_close_time(assigned: SessionService, clock: Clock) -> None:
    store = assigned.store
    assert isinstance(store, MemorySessionStore)
    store.put_override(ASSIGNMENT, STUDENT.user_id, {"closes_at": None})
    clock.advance(7_200)

    view, created = assigned.start(STUDENT, TEST_ID, assignment_id=ASSIGNMENT)

    assert created and view["status"] == "active"


def test_an_assignment_of_another_class_or_test_is_refused(assigned: SessionService) -> None:
    with pytest.raises(NotFoundError):
        assigned.start(CLASSMATE, TEST_ID, assignment_id=ASSIGNMENT)
    with pytest.raises(NotFoundError):
        assigned.start(STUDENT, TEST_ID, assignment_id="no-such-assignment")
    store = assigned.store
    assert isinstance(store, MemorySessionStore)
    store.add_test(practice_test())
    with pytest.raises(InvalidRequestError):
        assigned.start(STUDENT, practice_test().id, assignment_id=ASSIGNMENT)
