"""The checker's verdict on crafted client receipts and server logs: every anomaly is seen, and only then."""

from __future__ import annotations

from typing import Any

from examsync.chaos.checker import ClientOp, LogEntry, ServerState, canonical_answer, check

S = "session-1"
SECTION = "section-1"
Q1, Q2 = "question-1", "question-2"


def answer_op(op_id: str, question: str = Q1, answer: Any = "a", client_time: int = 1_000) -> dict[str, Any]:
    return {"op_id": op_id, "type": "answer", "client_time": client_time, "question_id": question, "answer": answer}


def told(op: dict[str, Any], state: str, seq: int | None = None, session: str = S) -> ClientOp:
    return ClientOp(op["op_id"], session, op, state, seq)


def logged(op: dict[str, Any], seq: int, status: str = "applied", *, server_time: int = 5_000,
           effective_time: int | None = None, session: str = S, **changes: Any) -> LogEntry:
    payload = {k: v for k, v in op.items() if k != "op_id"} | changes
    return LogEntry(session_id=session, seq=seq, kind=payload["type"], status=status, op_id=op["op_id"],
                    section_id=SECTION, question_id=payload.get("question_id"), payload=payload,
                    effective_time=op["client_time"] if effective_time is None else effective_time,
                    server_time=server_time)


def state(*log: LogEntry, answers: dict[tuple[str, str], Any] | None = None,
          deadline: int = 100_000, grace_ms: int = 0) -> ServerState:
    return ServerState(log=log, deadlines={(S, SECTION): deadline}, answers=answers or {}, grace_ms=grace_ms)


def test_a_clean_history_has_no_anomaly_and_counts_each_outcome() -> None:
    first, second, late, unsent = answer_op("op-1", answer="a"), answer_op("op-2", Q2, "b", 2_000), \
        answer_op("op-3", client_time=3_000), answer_op("op-4", Q2, client_time=4_000)
    verdict = check(
        [told(first, "applied", 1), told(second, "duplicate", 2), told(late, "rejected", 3), told(unsent, "pending")],
        state(logged(first, 1), logged(second, 2), logged(late, 3, "rejected"),
              answers={(S, Q1): "a", (S, Q2): "b"}),
    )
    assert verdict.counts() == {"ops": 4, "acknowledged": 2, "rejected": 1, "indeterminate": 1, "lost": 0,
                                "duplicated": 0, "mismatched": 0, "phantom": 0, "late_accepted": 0,
                                "indeterminate_applied": 0}
    assert verdict.anomalies == 0


def test_an_acknowledged_op_missing_from_the_log_is_lost() -> None:
    kept, gone = answer_op("op-1"), answer_op("op-2", Q2, client_time=2_000)
    verdict = check([told(kept, "applied", 1), told(gone, "applied", 2)],
                    state(logged(kept, 1), answers={(S, Q1): "a"}))
    assert verdict.lost == 1
    assert "op-2" in verdict.examples["lost"][0]


def test_a_rejection_with_a_seq_missing_from_the_log_is_lost_but_a_batch_refused_whole_is_not() -> None:
    logged_rejection, refused_whole = answer_op("op-1"), answer_op("op-2")
    verdict = check([told(logged_rejection, "rejected", 1), told(refused_whole, "rejected", None)], state())
    assert (verdict.rejected, verdict.lost) == (2, 1)


def test_an_op_logged_in_another_session_than_it_was_sent_to_is_lost() -> None:
    op = answer_op("op-1")
    verdict = check([told(op, "applied", 1)], state(logged(op, 1, session="session-2")))
    assert verdict.lost == 1


def test_an_op_id_logged_twice_is_duplicated() -> None:
    op = answer_op("op-1")
    verdict = check([told(op, "applied", 1)], state(logged(op, 1), logged(op, 2), answers={(S, Q1): "a"}))
    assert verdict.duplicated == 1


def test_a_log_entry_whose_content_differs_from_the_clients_op_is_mismatched() -> None:
    op = answer_op("op-1", answer="a")
    verdict = check([told(op, "applied", 1)], state(logged(op, 1, answer="b"), answers={(S, Q1): "b"}))
    assert verdict.mismatched == 1
    assert "answer" in verdict.examples["mismatched"][0]


def test_a_status_or_seq_other_than_the_client_was_told_is_mismatched() -> None:
    wrong_status, wrong_seq = answer_op("op-1"), answer_op("op-2", Q2, client_time=2_000)
    verdict = check([told(wrong_status, "applied", 1), told(wrong_seq, "applied", 7)],
                    state(logged(wrong_status, 1, "superseded"), logged(wrong_seq, 2),
                          answers={(S, Q1): "a", (S, Q2): "a"}))
    assert verdict.mismatched == 2


def test_a_duplicate_answer_may_stand_for_any_original_status() -> None:
    op = answer_op("op-1")
    verdict = check([told(op, "duplicate", 1)], state(logged(op, 1, "rejected")))
    assert verdict.anomalies == 0


def test_a_final_answer_other_than_the_latest_intent_is_mismatched() -> None:
    older, newer = answer_op("op-1", answer="a", client_time=1_000), answer_op("op-2", answer="b", client_time=2_000)
    log = (logged(newer, 1), logged(older, 2, "superseded"))
    assert check([told(newer, "applied", 1), told(older, "superseded", 2)],
                 state(*log, answers={(S, Q1): "b"})).mismatched == 0
    verdict = check([told(newer, "applied", 1), told(older, "superseded", 2)], state(*log, answers={(S, Q1): "a"}))
    assert verdict.mismatched == 1


def test_latest_intent_follows_effective_time_then_op_id_not_arrival() -> None:
    skewed_late, plain = answer_op("op-b", answer="b", client_time=9_000), answer_op("op-a", answer="a", client_time=5_000)
    # The device of op-b ran 6 s fast: its effective time is before op-a's.
    log = (logged(skewed_late, 1, effective_time=3_000), logged(plain, 2))
    ops = [told(skewed_late, "applied", 1), told(plain, "applied", 2)]
    assert check(ops, state(*log, answers={(S, Q1): "a"})).mismatched == 0
    tie = (logged(skewed_late, 1, effective_time=5_000), logged(plain, 2, "superseded"))
    ops = [told(skewed_late, "applied", 1), told(plain, "superseded", 2)]
    assert check(ops, state(*tie, answers={(S, Q1): "b"})).mismatched == 0


def test_latest_intent_of_one_batch_in_one_millisecond_is_its_later_op() -> None:
    # "op-b" sorts after "op-a", but was sent first in the batch.
    first, second = answer_op("op-b", answer="b"), answer_op("op-a", answer="a")
    log = (logged(first, 1), logged(second, 2, batch_index=1))
    ops = [told(first, "applied", 1), told(second, "applied", 2)]
    assert check(ops, state(*log, answers={(S, Q1): "a"})).mismatched == 0
    assert check(ops, state(*log, answers={(S, Q1): "b"})).mismatched == 1


def test_an_answer_held_with_no_accepted_answer_in_the_log_is_mismatched() -> None:
    assert check([], state(answers={(S, Q1): "a"})).mismatched == 1


def test_a_cleared_answer_is_held_as_none() -> None:
    op = answer_op("op-1", answer=[])
    assert check([told(op, "applied", 1)], state(logged(op, 1), answers={})).anomalies == 0
    assert canonical_answer(["b", "a", "b"]) == ["a", "b"]
    assert canonical_answer("  ") is None


def test_a_log_entry_no_client_made_is_phantom() -> None:
    mine, stranger = answer_op("op-1"), answer_op("op-x", Q2)
    verdict = check([told(mine, "applied", 1)], state(logged(mine, 1), logged(stranger, 2),
                                                      answers={(S, Q1): "a", (S, Q2): "a"}))
    assert verdict.phantom == 1


def test_an_op_accepted_at_or_after_the_deadline_plus_grace_is_late() -> None:
    in_grace, at_end, rejected = answer_op("op-1"), answer_op("op-2", Q2, client_time=2_000), answer_op("op-3")
    verdict = check(
        [told(in_grace, "applied", 1), told(at_end, "applied", 2), told(rejected, "rejected", 3)],
        state(logged(in_grace, 1, server_time=11_999), logged(at_end, 2, server_time=12_000),
              logged(rejected, 3, "rejected", server_time=20_000),
              answers={(S, Q1): "a", (S, Q2): "a"}, deadline=10_000, grace_ms=2_000),
    )
    assert verdict.late_accepted == 1
    assert "seq 2" in verdict.examples["late_accepted"][0]


def test_the_servers_own_expiry_entry_is_not_late() -> None:
    expiry = LogEntry(session_id=S, seq=1, kind="section_expired", status="applied", section_id=SECTION,
                      payload={"deadline": 10_000}, server_time=15_000)
    assert check([], state(expiry, deadline=10_000)).late_accepted == 0


def test_a_pending_op_found_in_the_log_is_indeterminate_applied_not_an_anomaly() -> None:
    op = answer_op("op-1")
    verdict = check([told(op, "pending")], state(logged(op, 1), answers={(S, Q1): "a"}))
    assert (verdict.indeterminate, verdict.indeterminate_applied, verdict.anomalies) == (1, 1, 0)
