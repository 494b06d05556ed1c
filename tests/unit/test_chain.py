"""The log's hash chain, without a database."""

from __future__ import annotations

from dataclasses import asdict

from examsync.domain.chain import first_break

from .builders import T0, diagnostic_test, make_session, op


def logged() -> tuple[object, list[dict]]:
    test = diagnostic_test()
    session = make_session(test)
    question = test.sections[0].questions[0]
    for i, choice in enumerate("ab"):
        session.apply(op("answer", T0 + i, question_id=question.id, answer=question.choices[i].id), T0 + i)
    session.apply(op("flag", T0 + 5, question_id=question.id), T0 + 5)
    return session, [asdict(e) for e in session.log]


def test_each_entry_is_chained_to_the_one_before() -> None:
    session, entries = logged()
    assert first_break(session.id, session.user_id, entries, session.last_hash) is None
    assert len({e["hash"] for e in entries}) == 3 and entries[-1]["hash"] == session.last_hash


def test_an_edit_a_deletion_or_a_lost_tail_names_the_first_bad_row() -> None:
    session, entries = logged()
    edited = [dict(e) for e in entries]
    edited[1]["payload"] = {**edited[1]["payload"], "answer": "zzz"}
    assert "row seq 2 was edited" in first_break(session.id, session.user_id, edited, session.last_hash)
    assert "row seq 2 is missing" in first_break(session.id, session.user_id, [entries[0], entries[2]], session.last_hash)
    assert "rows after seq 2" in first_break(session.id, session.user_id, entries[:2], session.last_hash)
    moved = first_break("another-session", session.user_id, entries, session.last_hash)
    assert "row seq 1 was edited" in moved
