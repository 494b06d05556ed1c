"""Per question, latest intent wins: the final state does not depend on delivery.

Whatever the duplication and order in which a set of ops arrives (a duplicate
is skipped the way the service does, by its receipt), the session ends in the
same per-question state as when each op is applied once in (client_time,
op_id) order, and that state is the latest op's value for each register.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from examsync.domain.ops import Op
from examsync.domain.session import receipt_status

from .builders import DAY, DIAG_S1, Q_MULTI, Q_SINGLE, T0, diagnostic_test, make_session

QUESTIONS = {Q_SINGLE: ("a", "b", "c"), Q_MULTI: ("a", "b", "c", "d")}
KINDS = ("answer", "flag", "unflag", "note", "eliminate", "uneliminate", "navigate")
NOW = T0 + DAY  # the server's now: later than every client time


@st.composite
def ops(draw: Any) -> Op:
    kind = draw(st.sampled_from(KINDS))
    question_id = draw(st.sampled_from(sorted(QUESTIONS)))
    choice_ids = QUESTIONS[question_id]
    fields: dict[str, Any] = {}
    if kind == "answer":
        if question_id == Q_SINGLE:
            fields["answer"] = draw(st.none() | st.sampled_from(choice_ids))
        else:
            fields["answer"] = draw(st.none() | st.lists(st.sampled_from(choice_ids), max_size=5))
    elif kind == "note":
        fields["text"] = draw(st.sampled_from(["", "check", "unsure", "come back"]))
    elif kind in ("eliminate", "uneliminate"):
        fields["choice_id"] = draw(st.sampled_from(choice_ids))
    return Op(
        op_id=str(draw(st.uuids(version=4))),
        type=kind,
        # A narrow range of times, so that equal client times are common.
        client_time=T0 + draw(st.integers(min_value=0, max_value=20)),
        question_id=question_id,
        **fields,
    )


@st.composite
def deliveries(draw: Any) -> tuple[list[Op], list[int]]:
    """Distinct ops, and an arrival order in which each arrives at least once."""
    distinct = draw(st.lists(ops(), min_size=1, max_size=25, unique_by=lambda o: o.op_id))
    extra = draw(st.lists(st.integers(min_value=0, max_value=len(distinct) - 1), max_size=2 * len(distinct)))
    arrivals = draw(st.permutations(list(range(len(distinct))) + extra))
    return distinct, arrivals


def fresh_session():
    # Untimed first section, so that no time limit interferes.
    return make_session(diagnostic_test(s1_limit_s=None))


def deliver(session, arriving: list[Op]) -> None:
    """Apply ops as the service does: an op_id with a receipt is answered from it and skipped."""
    receipts: dict[str, str] = {}
    for op in arriving:
        if receipt_status(op.fingerprint, receipts.get(op.op_id)) is not None:
            continue
        result = session.apply(op, NOW)
        assert result.status in ("applied", "superseded"), result
        receipts[op.op_id] = op.fingerprint


def final_state(session) -> dict[str, Any]:
    section = session.sections[DIAG_S1]
    questions = {}
    for question_id in QUESTIONS:
        state = section.questions.get(question_id)
        if state is None:
            questions[question_id] = None
            continue
        questions[question_id] = {
            "answer": state.answer.dump(),
            "flagged": state.flagged.dump(),
            "note": state.note.dump(),
            "eliminated": {c: reg.dump() for c, reg in state.eliminated.items()},
            "visited": state.visited,
        }
    return {
        "questions": questions,
        "answers": section.answers(),
        "flagged": sorted(section.flagged()),
        "current_question": session.current_question.dump(),
        "current_question_id": session.current_question_id,
    }


def latest(candidates: list[Op]) -> Op | None:
    return max(candidates, key=lambda o: (o.client_time, o.op_id), default=None)


def expected_values(distinct: list[Op]) -> dict[str, Any]:
    """The state computed straight from the ops: per register, the latest op's value."""
    answers, flagged, notes, eliminated = {}, [], {}, {}
    for question_id in QUESTIONS:
        on_q = [o for o in distinct if o.question_id == question_id]
        last_answer = latest([o for o in on_q if o.type == "answer"])
        # An empty selection clears the answer, like null.
        if last_answer is not None and last_answer.answer not in (None, []):
            value = last_answer.answer
            answers[question_id] = sorted(set(value)) if isinstance(value, list) else value
        last_flag = latest([o for o in on_q if o.type in ("flag", "unflag")])
        if last_flag is not None and last_flag.type == "flag":
            flagged.append(question_id)
        last_note = latest([o for o in on_q if o.type == "note"])
        if last_note is not None and last_note.text:
            notes[question_id] = last_note.text
        struck = sorted(
            c for c in QUESTIONS[question_id]
            if (last := latest([o for o in on_q if o.type in ("eliminate", "uneliminate") and o.choice_id == c]))
            and last.type == "eliminate"
        )
        if struck:
            eliminated[question_id] = struck
    last_navigate = latest([o for o in distinct if o.type == "navigate"])
    return {
        "answers": answers,
        "flagged": sorted(flagged),
        "notes": notes,
        "eliminated": eliminated,
        "visited": sorted({o.question_id for o in distinct if o.type == "navigate"}),
        "current_question_id": last_navigate.question_id if last_navigate else None,
    }


def observed_values(session) -> dict[str, Any]:
    section = session.sections[DIAG_S1]
    return {
        "answers": section.answers(),
        "flagged": sorted(section.flagged()),
        "notes": {q: s.note.value for q, s in section.questions.items() if s.note.value},
        "eliminated": {
            q: sorted(c for c, reg in s.eliminated.items() if reg.value)
            for q, s in section.questions.items() if any(reg.value for reg in s.eliminated.values())
        },
        "visited": sorted(q for q, s in section.questions.items() if s.visited),
        "current_question_id": session.current_question_id,
    }


@settings(max_examples=200, deadline=None)
@given(deliveries())
def test_any_duplication_and_order_converges_to_the_in_order_state(delivery):
    distinct, arrivals = delivery
    in_order = fresh_session()
    deliver(in_order, sorted(distinct, key=lambda o: (o.client_time, o.op_id)))
    shuffled = fresh_session()
    deliver(shuffled, [distinct[i] for i in arrivals])
    assert final_state(shuffled) == final_state(in_order)
    # Every op was logged exactly once, duplicates included or not.
    assert shuffled.last_seq == in_order.last_seq == len(distinct)
    assert sorted(e.op_id for e in shuffled.log) == sorted(o.op_id for o in distinct)


@settings(max_examples=200, deadline=None)
@given(deliveries())
def test_final_state_is_the_latest_intent_per_register(delivery):
    distinct, arrivals = delivery
    session = fresh_session()
    deliver(session, [distinct[i] for i in arrivals])
    assert observed_values(session) == expected_values(distinct)


@settings(max_examples=200, deadline=None)
@given(deliveries())
def test_exactly_the_ops_that_lost_are_told_superseded(delivery):
    distinct, arrivals = delivery
    session = fresh_session()
    deliver(session, [distinct[i] for i in arrivals])
    status = {e.op_id: e.status for e in session.log}

    def register(o: Op) -> tuple:
        if o.type == "navigate":
            return ("navigate",)
        group = {"flag": "flag", "unflag": "flag", "eliminate": "elim", "uneliminate": "elim"}.get(o.type, o.type)
        return (o.question_id, group, o.choice_id)

    # The op that is latest in time for its register was applied, whenever it arrived.
    winners: dict[tuple, Op] = {}
    for o in distinct:
        current = winners.get(register(o))
        if current is None or (o.client_time, o.op_id) > (current.client_time, current.op_id):
            winners[register(o)] = o
    for o in winners.values():
        assert status[o.op_id] == "applied"
    # An op was told superseded exactly when a later-in-time op of its register had arrived before it.
    first_arrival = []
    seen = set()
    for i in arrivals:
        if distinct[i].op_id not in seen:
            seen.add(distinct[i].op_id)
            first_arrival.append(distinct[i])
    for position, o in enumerate(first_arrival):
        beaten = any(
            register(p) == register(o) and (p.client_time, p.op_id) > (o.client_time, o.op_id)
            for p in first_arrival[:position]
        )
        assert status[o.op_id] == ("superseded" if beaten else "applied")
