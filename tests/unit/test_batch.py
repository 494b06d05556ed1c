"""TestSession.apply_batch: exactly once per op_id, and which sections a batch changed (no I/O)."""

from __future__ import annotations

import copy

import pytest

from examsync.domain.errors import InvalidOpError
from examsync.domain.ops import unparsed_fingerprint
from examsync.domain.session import SentOp
from examsync.store.sessions import section_values

from .builders import DIAG_S1, DIAG_S2, MINUTE, Q_NUMERIC, Q_SINGLE, SECOND, T0, diagnostic_test, make_session, op


def diag():
    return make_session(diagnostic_test())


def answer(question_id, value, t, **fields):
    return SentOp.parsed(op("answer", t, question_id=question_id, answer=value, **fields))


def test_new_ops_are_applied_logged_and_get_receipts():
    session = diag()
    sent = answer(Q_SINGLE, "b", T0)
    outcome = session.apply_batch([sent], {}, T0)
    assert [r.status for r in outcome.results] == ["applied"]
    assert outcome.new_receipts == {sent.op_id: sent.fingerprint}
    assert [entry.op_id for entry in session.log] == [sent.op_id]


def test_a_retried_op_is_a_duplicate_answered_from_its_receipt_and_changes_nothing():
    session = diag()
    sent = answer(Q_SINGLE, "b", T0)
    outcome = session.apply_batch([sent], {sent.op_id: (sent.fingerprint, 7)}, T0)
    assert [r.as_dict() for r in outcome.results] == [{"op_id": sent.op_id, "status": "duplicate", "seq": 7}]
    assert outcome.new_receipts == {}
    assert outcome.changed_section_ids == []
    assert session.log == [] and session.version == 0


def test_an_op_sent_twice_in_one_batch_is_applied_once():
    session = diag()
    sent = answer(Q_SINGLE, "b", T0)
    outcome = session.apply_batch([sent, sent], {}, T0)
    first, second = outcome.results
    assert (first.status, second.status) == ("applied", "duplicate")
    assert second.seq == first.seq
    assert len(session.log) == 1


def test_an_op_id_reused_for_another_op_is_rejected_and_changes_nothing():
    session = diag()
    sent = answer(Q_SINGLE, "b", T0)
    other = answer(Q_SINGLE, "c", T0, op_id=sent.op_id)
    outcome = session.apply_batch([other], {sent.op_id: (sent.fingerprint, 3)}, T0)
    (result,) = outcome.results
    assert (result.status, result.code, result.seq) == ("rejected", "op_id_reused", None)
    assert outcome.new_receipts == {} and session.log == []
    assert outcome.changed_section_ids == []


def test_an_unparseable_op_is_rejected_logged_and_gets_a_receipt_of_what_was_sent():
    session = diag()
    raw = {"op_id": "3f2b8c1e-9d4a-4c6b-8e2f-1a2b3c4d5e6f", "type": "dance", "client_time": T0}
    sent = SentOp(raw["op_id"], unparsed_fingerprint(raw), error=InvalidOpError("unknown op type"))
    outcome = session.apply_batch([sent], {}, T0)
    assert [(r.status, r.code, r.seq) for r in outcome.results] == [("rejected", "invalid_op", 1)]
    assert outcome.new_receipts == {raw["op_id"]: unparsed_fingerprint(raw)}
    assert outcome.changed_section_ids == []
    again = session.apply_batch([sent], {raw["op_id"]: (sent.fingerprint, 1)}, T0)
    assert [r.status for r in again.results] == ["duplicate"]


def test_an_op_without_a_usable_op_id_is_rejected_with_what_was_sent_and_not_logged():
    session = diag()
    error = InvalidOpError("op_id must be a UUID string")
    error.data["op_id"] = "not-a-uuid"
    outcome = session.apply_batch([SentOp(None, error=error)], {}, T0)
    assert [(r.op_id, r.status, r.seq) for r in outcome.results] == [("not-a-uuid", "rejected", None)]
    assert outcome.new_receipts == {} and session.log == []


def test_changed_sections_are_the_ones_the_batch_touched():
    session = diag()
    outcome = session.apply_batch([answer(Q_SINGLE, "b", T0)], {}, T0)
    assert outcome.changed_section_ids == [DIAG_S1]


def test_a_section_that_expires_before_the_batch_is_a_changed_section():
    session = diag()
    session.apply_batch([answer(Q_SINGLE, "b", T0)], {}, T0)
    session.touched_sections.clear()  # as if saved and loaded again
    late = T0 + 11 * MINUTE
    outcome = session.apply_batch([answer(Q_NUMERIC, "1", late)], {}, late)
    assert session.log[-2].kind == "section_expired"
    assert outcome.changed_section_ids == [DIAG_S1, DIAG_S2]


BATCHES = {
    "answer": lambda: [answer(Q_SINGLE, "b", T0 + SECOND)],
    "superseded answer": lambda: [answer(Q_SINGLE, "b", T0 + 2 * SECOND), answer(Q_SINGLE, "c", T0 + SECOND)],
    "heartbeat": lambda: [SentOp.parsed(op("heartbeat", T0 + MINUTE))],
    "flag and note": lambda: [SentOp.parsed(op("flag", T0 + SECOND, question_id=Q_SINGLE)),
                              SentOp.parsed(op("note", T0 + SECOND, question_id=Q_SINGLE, text="later"))],
    "submit": lambda: [SentOp.parsed(op("submit_section", T0 + MINUTE, section_id=DIAG_S1))],
    "complete": lambda: [SentOp.parsed(op("complete", T0 + MINUTE))],
    "rejected": lambda: [answer(Q_NUMERIC, "1", T0 + SECOND)],
    "expiry": lambda: [answer(Q_SINGLE, "a", T0 + 20 * MINUTE)],
}


@pytest.mark.parametrize("name", sorted(BATCHES))
def test_every_section_whose_stored_state_changed_is_a_changed_section(name):
    session = diag()
    session.apply_batch([answer(Q_SINGLE, "b", T0)], {}, T0)
    session.touched_sections.clear()
    before = {sid: copy.deepcopy(section_values(state)) for sid, state in session.sections.items()}
    batch = BATCHES[name]()
    now = max(sent.op.client_time for sent in batch)
    outcome = session.apply_batch(batch, {}, now)
    differs = {sid for sid, state in session.sections.items() if section_values(state) != before[sid]}
    assert differs <= set(outcome.changed_section_ids)
