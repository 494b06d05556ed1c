"""Per question, latest intent wins: the final state does not depend on delivery.

Whatever the duplication and order in which a set of ops arrives (a duplicate
is skipped the way the service does, by its receipt), the session ends in the
same per-question state as when each op is applied once in (client_time,
op_id) order, and that state is the latest op's value for each register.

Devices stamp their ops with strictly increasing times, except that ops made in
one millisecond may share a time within one batch. Whatever the interleaving of
two such devices' batches, each register ends with the last intent of a device
(its last op in the order the device made them), the latest in effective time.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
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


def register_of(o: Op) -> tuple:
    """Which last-writer-wins register an op sets."""
    if o.type == "navigate":
        return ("navigate",)
    group = {"flag": "flag", "unflag": "flag", "eliminate": "elim", "uneliminate": "elim"}.get(o.type, o.type)
    return (o.question_id, group, o.choice_id)


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

    # The op that is latest in time for its register was applied, whenever it arrived.
    winners: dict[tuple, Op] = {}
    for o in distinct:
        current = winners.get(register_of(o))
        if current is None or (o.client_time, o.op_id) > (current.client_time, current.op_id):
            winners[register_of(o)] = o
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
            register_of(p) == register_of(o) and (p.client_time, p.op_id) > (o.client_time, o.op_id)
            for p in first_arrival[:position]
        )
        assert status[o.op_id] == ("superseded" if beaten else "applied")


# ----- two devices, their batches, and ties ---------------------------------------------


@dataclass(frozen=True)
class Device:
    device_id: str
    offset_ms: int  # the correction for this device's clock, as the server observed it
    batches: tuple[tuple[Op, ...], ...]  # in the order the device made (and sent) them

    def made(self) -> list[Op]:
        return [o for batch in self.batches for o in batch]


@st.composite
def devices(draw: Any, device_id: str) -> Device:
    """A device whose ops are in the order it made them, with many equal times inside a batch."""
    time = T0 + draw(st.integers(min_value=0, max_value=3))
    batches = []
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        batch = []
        for index in range(draw(st.integers(min_value=1, max_value=5))):
            # A new batch is stamped later than the last; within one, a step of 0 is a shared millisecond.
            time += draw(st.integers(min_value=1 if index == 0 else 0, max_value=1))
            batch.append(replace(draw(ops()), client_time=time, batch_index=index))
        batches.append(tuple(batch))
    return Device(device_id, draw(st.integers(min_value=-2, max_value=2)), tuple(batches))


@st.composite
def two_devices_and_an_interleaving(draw: Any) -> tuple[tuple[Device, Device], list[tuple[int, int]]]:
    """Two devices, and an arrival order of their batches ((device, batch) pairs), some arriving twice."""
    pair = (draw(devices("device-a")), draw(devices("device-b")))
    sent = [(d, b) for d, device in enumerate(pair) for b in range(len(device.batches))]
    again = draw(st.lists(st.sampled_from(sent), max_size=3))
    return pair, draw(st.permutations(sent + again))


def deliver_batches(pair: tuple[Device, Device], arrivals: list[tuple[int, int]]) -> Any:
    session = fresh_session()
    receipts: dict[str, str] = {}
    for d, b in arrivals:
        device = pair[d]
        for o in device.batches[b]:
            if receipt_status(o.fingerprint, receipts.get(o.op_id)) is not None:
                continue
            result = session.apply(o, NOW, clock_offset_ms=device.offset_ms, device_id=device.device_id)
            assert result.status in ("applied", "superseded"), result
            receipts[o.op_id] = o.fingerprint
    return session


def held_by(session, key: tuple) -> str | None:
    """The op_id of the op whose value a register holds."""
    if key == ("navigate",):
        return session.current_question.op_id
    question_id, group, choice_id = key
    state = session.sections[DIAG_S1].questions.get(question_id)
    if state is None:
        return None
    if group == "elim":
        register = state.eliminated.get(choice_id)
        return register.op_id if register else None
    return getattr(state, {"flag": "flagged"}.get(group, group)).op_id


@settings(max_examples=300, deadline=None)
@given(two_devices_and_an_interleaving(), st.randoms(use_true_random=False))
def test_two_devices_batches_converge_to_the_latest_device_last_intent(delivery, rnd):
    pair, arrivals = delivery
    session = deliver_batches(pair, arrivals)
    other_order = list(arrivals)
    rnd.shuffle(other_order)
    assert final_state(deliver_batches(pair, other_order)) == final_state(session)

    last_intents: dict[tuple, list[tuple[int, Op]]] = {}
    for device in pair:
        last_of_device = {register_of(o): o for o in device.made()}
        for key, o in last_of_device.items():
            last_intents.setdefault(key, []).append((o.client_time + device.offset_ms, o))
    for key, candidates in last_intents.items():
        latest_time = max(t for t, _ in candidates)
        acceptable = {o.op_id for t, o in candidates if t == latest_time}
        assert held_by(session, key) in acceptable, (key, candidates)
