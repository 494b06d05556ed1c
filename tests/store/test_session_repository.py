"""The session store's contract, one suite over every backend (memory, SQLite, PostgreSQL: see conftest.py).

What the session use cases rely on of storage: a session saved is the session loaded; receipts make a repeated op a
duplicate; the log keeps its order, seq and hash chain and pages by seq; the sweep finds what is due; nobody reads a
session they may not see; performance adds up; a failed write leaves nothing behind.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from examsync.domain.chain import first_break
from examsync.domain.errors import AccountDisabledError, NotFoundError
from examsync.domain.ops import parse_op
from examsync.domain.session import Rules, SentOp
from examsync.domain.session import TestSession as ExamSession
from examsync.domain.timing import TimeAllowance
from examsync.store.database import SYSTEM, Actor
from examsync.store.repository import UnitOfWork
from tests.store.conftest import T0, World

RULES = Rules()
STUDENT, CLASSMATE, TEACHER, OTHER_TEACHER, ADMIN = (f"00000000-0000-4000-a000-00000000000{n}" for n in range(1, 6))
SECOND = 1_000


def actor(user_id: str, role: str = "student") -> Actor:
    return Actor(user_id, role)


def write(world: World, who: Actor, work: Callable[[UnitOfWork], Any], now: int = T0) -> Any:
    result, _ = world.store.submit(who, work, lambda: now).result(timeout=30)
    return result


def start(world: World, user_id: str, slug: str = "mini-diagnostic", now: int = T0,
          assignment_id: str | None = None) -> str:
    session = ExamSession(id=str(uuid.uuid4()), user_id=user_id, test=world.tests[slug], rules=RULES,
                          started_at=now, last_activity_at=now, user_allowance=TimeAllowance(),
                          assignment_id=assignment_id)
    session.begin(now)
    write(world, actor(user_id), lambda uow: uow.create(session), now)
    return session.id


def raw_answer(question_id: str, answer: Any, now: int, op_id: str | None = None) -> dict[str, Any]:
    return {"op_id": op_id or str(uuid.uuid4()), "type": "answer", "question_id": question_id, "answer": answer,
            "client_time": now}


def apply(world: World, user_id: str, session_id: str, raws: list[dict[str, Any]], now: int = T0) -> list[Any]:
    """The op path: lock and load, read the receipts, let the session decide, save."""
    batch = [SentOp.parsed(parse_op(raw, max_note_length=100, batch_index=i)) for i, raw in enumerate(raws)]

    def work(uow: UnitOfWork) -> list[Any]:
        session = uow.sessions.load(actor(user_id), session_id, RULES, for_update=True, owner_only=True)
        receipts = uow.sessions.receipts(session_id, user_id, [sent.op_id for sent in batch if sent.op_id])
        outcome = session.apply_batch(batch, receipts, uow.now)
        uow.save(session, changed_sections=outcome.changed_section_ids, fingerprints=outcome.new_receipts)
        return outcome.results

    return write(world, actor(user_id), work, now)


def load(world: World, who: Actor, session_id: str, now: int = T0) -> ExamSession:
    with world.store.reading(who, now) as uow:
        return uow.sessions.load(who, session_id, RULES)


def first_question(world: World, slug: str = "mini-diagnostic") -> str:
    return world.tests[slug].sections[0].questions[0].id


@pytest.fixture
def people(world: World) -> World:
    for user_id in (STUDENT, CLASSMATE):
        world.add_user(user_id)
    world.add_user(TEACHER, "teacher")
    world.add_user(OTHER_TEACHER, "teacher")
    world.add_user(ADMIN, "admin")
    world.assignments = {"diagnostic": world.add_class(TEACHER, [STUDENT], ["mini-diagnostic"])[0],
                         "practice": world.add_class(OTHER_TEACHER, [CLASSMATE], ["mini-practice"])[0]}
    return world


def test_a_created_session_loads_as_it_was_made(people: World) -> None:
    session_id = start(people, STUDENT)

    session = load(people, actor(STUDENT), session_id)

    test = people.tests["mini-diagnostic"]
    assert (session.id, session.user_id, session.test.id, session.status) == (session_id, STUDENT, test.id, "active")
    assert [session.sections[s.id].status for s in test.sections] == ["in_progress", "not_started"]
    assert session.sections[test.sections[0].id].clock.started_at_ms == T0


def test_a_saved_answer_loads_back_with_the_version_and_last_seq(people: World) -> None:
    session_id = start(people, STUDENT)
    question = first_question(people)

    results = apply(people, STUDENT, session_id, [raw_answer(question, "b", T0 + SECOND)], T0 + SECOND)

    session = load(people, actor(STUDENT), session_id, T0 + SECOND)
    assert results[0].status == "applied"
    assert session.sections[session.test.sections[0].id].questions[question].answer.value == "b"
    assert session.last_seq == results[0].seq
    assert session.version >= 1


def test_a_receipt_makes_a_repeated_op_a_duplicate_and_a_changed_one_reused(people: World) -> None:
    session_id = start(people, STUDENT)
    question = first_question(people)
    sent = raw_answer(question, "b", T0 + SECOND)
    first = apply(people, STUDENT, session_id, [sent], T0 + SECOND)[0]

    again = apply(people, STUDENT, session_id, [sent], T0 + 2 * SECOND)[0]
    changed = apply(people, STUDENT, session_id, [{**sent, "answer": "c"}], T0 + 3 * SECOND)[0]

    assert (again.status, again.seq) == ("duplicate", first.seq)
    assert changed.status == "rejected" and changed.code == "op_id_reused"
    with people.store.reading(actor(STUDENT), T0) as uow:
        receipts = uow.sessions.receipts(session_id, STUDENT, [sent["op_id"], str(uuid.uuid4())])
    assert list(receipts) == [sent["op_id"]] and receipts[sent["op_id"]][1] == first.seq


def test_the_log_keeps_its_order_seq_and_hash_chain(people: World) -> None:
    session_id = start(people, STUDENT)
    question = first_question(people)
    for step in range(1, 4):
        apply(people, STUDENT, session_id, [raw_answer(question, "abc"[step - 1], T0 + step * SECOND)],
              T0 + step * SECOND)

    with people.store.reading(actor(STUDENT), T0) as uow:
        entries = uow.sessions.history(session_id, STUDENT)
        row = uow.sessions.row(actor(STUDENT), session_id)

    seqs = [entry.seq for entry in entries]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs) and seqs[-1] == row["last_seq"]
    assert [entry.payload.get("answer") for entry in entries if entry.kind == "answer"] == ["a", "b", "c"]
    assert first_break(session_id, STUDENT, [entry.as_dict() for entry in entries], row["last_hash"]) is None


def test_history_pages_after_a_seq_with_a_limit(people: World) -> None:
    session_id = start(people, STUDENT)
    question = first_question(people)
    apply(people, STUDENT, session_id, [raw_answer(question, c, T0 + SECOND) for c in "abcab"], T0 + SECOND)

    with people.store.reading(actor(STUDENT), T0) as uow:
        everything = [entry.seq for entry in uow.sessions.history(session_id, STUDENT)]
        page = [entry.seq for entry in uow.sessions.history(session_id, STUDENT, after_seq=everything[1], limit=2)]
        past_the_end = uow.sessions.history(session_id, STUDENT, after_seq=everything[-1])
        of_someone_else = uow.sessions.history(session_id, CLASSMATE)

    assert page == everything[2:4]
    assert past_the_end == [] and of_someone_else == []


def test_a_session_is_due_once_its_section_runs_out_and_not_before(people: World) -> None:
    session_id = start(people, STUDENT)
    limit_ms = people.tests["mini-diagnostic"].sections[0].time_limit_seconds * SECOND

    with people.store.reading(SYSTEM, T0) as uow:
        before = uow.sessions.sessions_due(T0 + limit_ms - SECOND)
        after = uow.sessions.sessions_due(T0 + limit_ms + SECOND)
        within_grace = uow.sessions.sessions_due(T0 + limit_ms + SECOND, grace_ms=5 * SECOND)

    assert session_id not in before and session_id in after and session_id not in within_grace


def test_a_submitted_session_is_no_longer_due(people: World) -> None:
    session_id = start(people, STUDENT)

    def end(uow: UnitOfWork) -> None:
        session = uow.sessions.load(SYSTEM, session_id, RULES, for_update=True)
        session.end("test", uow.now, uow.now)
        uow.save(session)

    write(people, SYSTEM, end, T0 + SECOND)

    with people.store.reading(SYSTEM, T0) as uow:
        assert session_id not in uow.sessions.sessions_due(T0 + 10**9)
        assert uow.sessions.active_session_id(STUDENT, people.tests["mini-diagnostic"].id) is None
        assert uow.sessions.submitted_section_ids(session_id) == {s.id for s in people.tests["mini-diagnostic"].sections}


def test_a_student_cannot_load_another_students_session(people: World) -> None:
    session_id = start(people, STUDENT)

    with pytest.raises(NotFoundError):
        load(people, actor(CLASSMATE), session_id)
    with pytest.raises(NotFoundError):
        load(people, actor(STUDENT), str(uuid.uuid4()))


def test_a_teacher_sees_their_students_sessions_of_the_tests_assigned_to_their_class(people: World) -> None:
    assigned = start(people, STUDENT, "mini-diagnostic")
    not_assigned = start(people, STUDENT, "mini-practice")
    diagnostic = people.tests["mini-diagnostic"].id

    assert load(people, actor(TEACHER, "teacher"), assigned).id == assigned
    assert load(people, actor(ADMIN, "admin"), not_assigned).id == not_assigned
    for who, session_id in ((actor(TEACHER, "teacher"), not_assigned), (actor(OTHER_TEACHER, "teacher"), assigned)):
        with pytest.raises(NotFoundError):
            load(people, who, session_id)
    with people.store.reading(actor(TEACHER, "teacher"), T0) as uow:
        assert uow.sessions.ids_of_test(actor(TEACHER, "teacher"), diagnostic) == [assigned]
        assert [row["id"] for row in uow.sessions.rows_of_test(actor(TEACHER, "teacher"), diagnostic)] == [assigned]
        assert uow.sessions.ids_of_test(actor(OTHER_TEACHER, "teacher"), diagnostic) == []
        assert uow.sessions.active_ids_of_user(actor(OTHER_TEACHER, "teacher"), STUDENT) == []
        assert uow.sessions.sees_student(actor(TEACHER, "teacher"), STUDENT)
        assert not uow.sessions.sees_student(actor(TEACHER, "teacher"), CLASSMATE)
        assert not uow.sessions.sees_student(actor(ADMIN, "admin"), str(uuid.uuid4()))


def test_a_disabled_account_reaches_none_of_its_own_sessions(people: World) -> None:
    disabled = people.add_user("00000000-0000-4000-a000-000000000009", disabled=True)
    session_id = start(people, disabled)

    with people.store.reading(actor(disabled), T0) as uow:
        with pytest.raises(NotFoundError):
            uow.sessions.row(actor(disabled), session_id, owner_only=True)
        with pytest.raises(AccountDisabledError):
            uow.sessions.user_exists(disabled)
        assert not uow.sessions.user_exists(str(uuid.uuid4()))


def test_a_students_sessions_list_most_recent_first(people: World) -> None:
    older = start(people, STUDENT, "mini-diagnostic", T0)
    newer = start(people, STUDENT, "mini-practice", T0 + SECOND)

    with people.store.reading(actor(STUDENT), T0) as uow:
        assert uow.sessions.ids_of_user(STUDENT) == [newer, older]
        assert uow.sessions.active_session_id(STUDENT, people.tests["mini-practice"].id) == newer
        assert uow.sessions.ids_of_user(CLASSMATE) == []


def test_performance_adds_each_completed_sessions_score(people: World) -> None:
    def record(attempts: int, correct: int, now: int) -> Callable[[UnitOfWork], None]:
        return lambda uow: uow.sessions.record_performance(
            STUDENT, {"addition": {"attempts": attempts, "correct": correct, "points": float(correct),
                                   "max_points": float(attempts)}}, now)

    write(people, actor(STUDENT), record(2, 1, T0), T0)
    write(people, actor(STUDENT), record(3, 3, T0 + SECOND), T0 + SECOND)

    with people.store.reading(actor(STUDENT), T0) as uow:
        rows = [dict(row) for row in uow.sessions.performance(STUDENT)]
    assert [(r["sub_skill_slug"], r["attempts"], r["correct"], r["points"], r["max_points"], r["sessions"],
             r["updated_at"]) for r in rows] == [("addition", 5, 4, 4.0, 5.0, 2, T0 + SECOND)]


def test_a_students_allowance_is_stored(people: World) -> None:
    write(people, SYSTEM, lambda uow: uow.sessions.set_user_allowance(
        STUDENT, TimeAllowance(multiplier=1.5, extra_ms=90 * SECOND)))

    with people.store.reading(SYSTEM, T0) as uow:
        allowance = uow.sessions.user_allowance(STUDENT)
    assert (allowance.multiplier, allowance.extra_ms) == (1.5, 90 * SECOND)


def test_a_write_that_fails_leaves_nothing_behind(people: World) -> None:
    session_id = start(people, STUDENT)
    question = first_question(people)
    logged_before = [entry.seq for entry in _history(people, session_id)]

    def answer_then_fail(uow: UnitOfWork) -> None:
        session = uow.sessions.load(actor(STUDENT), session_id, RULES, for_update=True, owner_only=True)
        sent = SentOp.parsed(parse_op(raw_answer(question, "b", uow.now), max_note_length=100))
        outcome = session.apply_batch([sent], {}, uow.now)
        uow.save(session, changed_sections=outcome.changed_section_ids, fingerprints=outcome.new_receipts)
        raise LookupError("after writing")

    with pytest.raises(LookupError):
        write(people, actor(STUDENT), answer_then_fail, T0 + SECOND)

    session = load(people, actor(STUDENT), session_id)
    assert question not in session.sections[session.test.sections[0].id].questions
    assert [entry.seq for entry in _history(people, session_id)] == logged_before


def _history(world: World, session_id: str) -> list[Any]:
    with world.store.reading(actor(STUDENT), T0) as uow:
        return uow.sessions.history(session_id, STUDENT)


def test_a_unit_of_work_hands_back_one_change_per_saved_session(people: World) -> None:
    session_id = start(people, STUDENT)
    question = first_question(people)
    sent = SentOp.parsed(parse_op(raw_answer(question, "b", T0), max_note_length=100))

    def work(uow: UnitOfWork) -> None:
        session = uow.sessions.load(actor(STUDENT), session_id, RULES, for_update=True, owner_only=True)
        outcome = session.apply_batch([sent], {}, uow.now)
        uow.save(session, changed_sections=outcome.changed_section_ids, fingerprints=outcome.new_receipts)

    _, events = people.store.submit(actor(STUDENT), work, lambda: T0 + SECOND).result(timeout=30)

    assert [(e.session_id, e.user_id) for e in events] == [(session_id, STUDENT)]
    assert [entry.op_id for entry in events[0].entries if entry.kind == "answer"] == [sent.op_id]
    assert events[0].state["status"] == "active"


def test_a_rescued_session_names_its_owner_and_test(people: World) -> None:
    session_id = start(people, STUDENT)

    with people.store.reading(SYSTEM, T0) as uow:
        found = uow.sessions.rescued(session_id)
        missing = uow.sessions.rescued(str(uuid.uuid4()))

    assert found is not None and missing is None
    assert (found["user_id"], found["status"], found["email"], found["test_title"]) == (
        STUDENT, "active", f"{STUDENT}@example.org", "Mini diagnostic")


def test_an_assignment_reaches_only_the_students_of_its_class_with_their_override(people: World) -> None:
    assignment_id = people.assignments["diagnostic"]
    people.put_override(assignment_id, STUDENT, {"max_attempts": 3})

    def read(user_id: str, wanted: str) -> Any:
        with people.store.reading(actor(user_id), T0) as uow:
            return uow.sessions.assignment_for_student(user_id, wanted)

    test_id, settings = read(STUDENT, assignment_id)
    assert (test_id, settings.opens_at, settings.max_attempts) == (people.tests["mini-diagnostic"].id, T0, 3)
    assert read(CLASSMATE, assignment_id) is None
    assert read(STUDENT, people.assignments["practice"]) is None
    assert read(STUDENT, str(uuid.uuid4())) is None


def test_attempts_used_counts_the_students_attempts_of_the_assignment_only(people: World) -> None:
    assignment_id = people.assignments["diagnostic"]
    first = start(people, STUDENT, assignment_id=assignment_id)
    write(people, actor(STUDENT), lambda uow: _complete(uow, first))
    start(people, STUDENT, assignment_id=assignment_id, now=T0 + SECOND)
    start(people, STUDENT, "mini-practice")

    with people.store.reading(actor(STUDENT), T0) as uow:
        assert uow.sessions.attempts_used(assignment_id, STUDENT) == 2
        assert uow.sessions.attempts_used(assignment_id, CLASSMATE) == 0


def _complete(uow: UnitOfWork, session_id: str) -> None:
    session = uow.sessions.load(actor(STUDENT), session_id, RULES, for_update=True)
    session.end("submitted", uow.now, uow.now)
    uow.save(session)
