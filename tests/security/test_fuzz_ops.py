"""Hypothesis fuzzing of the op batch: whatever JSON a client sends as ops, the answer is a clear one.

POST …/ops answers 200 with one result per op, each `applied`, `duplicate`, `superseded` or `rejected` with a
known code, and the log stays gapless; or it refuses the whole batch with a documented 4xx, changing nothing.
Never a 5xx, never an exception, never a partly applied batch. Text with NUL or unpaired surrogates,
non-finite numbers, deep nesting and over-long ids are part of the mix. The same holds on the live socket.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from starlette.websockets import WebSocketDisconnect

from examsync.domain.ops import OP_TYPES
from examsync.web.errors import STATUS_BY_CODE
from tests.conftest import Api, MINI_TESTS, section_questions

STATUSES = {"applied", "duplicate", "superseded", "rejected"}
REFUSALS = {413: {"too_many_ops", "body_too_large"}, 422: {"invalid_request"}, 429: {"rate_limited"}}

ODD_TEXT = st.sampled_from(["", "a", "\x00", "a\x00b", "\ud800", "x\udfffy", "<script>window.__xss=1</script>",
                            "<img src=x onerror=alert(1)>", "q" * 37, "é" * 5, "\u202e", " "])
TEXT = st.one_of(ODD_TEXT, st.text(max_size=20))
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(), TEXT)
JSON = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                     st.dictionaries(TEXT, inner, max_size=4)), max_leaves=12)
DEEP = st.integers(30, 40).map(lambda depth: json.loads("[" * depth + "]" * depth))

ALL_QUESTIONS = [q["id"] for test in MINI_TESTS.values() for s in test["sections"] for q in s["questions"]]
ALL_SECTIONS = [s["id"] for test in MINI_TESTS.values() for s in test["sections"]]
OP_IDS = [str(uuid.uuid4()) for _ in range(6)]  # a small pool, so op_ids repeat within and across batches


def op_strategy() -> st.SearchStrategy[Any]:
    fields = {
        "op_id": st.one_of(st.sampled_from(OP_IDS), st.uuids().map(str), st.uuids().map(lambda u: str(u).upper()),
                           JSON),
        "type": st.one_of(st.sampled_from(OP_TYPES), JSON),
        "client_time": st.one_of(st.integers(-1, 2**54), st.floats(), st.booleans(), TEXT),
        "question_id": st.one_of(st.sampled_from(ALL_QUESTIONS), JSON),
        "section_id": st.one_of(st.sampled_from(ALL_SECTIONS), JSON),
        "choice_id": st.one_of(st.sampled_from(["a", "b", "c", "z"]), JSON),
        "answer": st.one_of(st.sampled_from(["a", "b", ["a", "b"], "12", None]), JSON, DEEP),
        "text": st.one_of(TEXT, JSON, st.just("n" * 2001)),
        "extra": JSON,
    }
    structured = st.fixed_dictionaries({}, optional=fields)
    return st.one_of(structured, structured, structured, JSON)


BATCHES = st.fixed_dictionaries(
    {"ops": st.lists(op_strategy(), max_size=12)},
    optional={"device_id": st.one_of(TEXT, JSON), "sent_at": st.one_of(st.integers(-2**60, 2**60), JSON)},
)
FUZZ = settings(max_examples=60, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.filter_too_much])


def body_of(batch: dict[str, Any]) -> bytes:
    # json.dumps keeps NaN, Infinity and unpaired surrogates (as \ud800), as a hostile client could send them.
    return json.dumps(batch).encode()


def active_session(student: Api, state: dict[str, Any]) -> dict[str, Any]:
    current = student.resume(state["id"])
    return current if current["status"] == "active" else student.start()


def check_log(student: Api, session_id: str, last_seq: int) -> None:
    history = student.get(f"/sessions/{session_id}/history")
    assert history.status_code == 200, history.text
    assert [h["seq"] for h in history.json()] == list(range(1, last_seq + 1))


def check_outcome(ops: list[Any], before: dict[str, Any], response: Any, after: dict[str, Any]) -> None:
    assert response.status_code < 500, response.text
    if response.status_code != 200:
        assert response.json()["error"]["code"] in REFUSALS[response.status_code], response.text
        assert (after["last_seq"], after["version"]) == (before["last_seq"], before["version"])
        return
    outcome = response.json()
    assert len(outcome["results"]) == len(ops)
    new_seqs = []
    for result in outcome["results"]:
        assert result["status"] in STATUSES
        if result["status"] == "rejected":
            assert result["code"] in STATUS_BY_CODE and result["message"]
        if result["status"] != "duplicate" and result.get("seq") is not None:
            new_seqs.append(result["seq"])
    assert outcome["last_seq"] == after["last_seq"]
    # Server changes (a section expiring) may take seqs too, but never out of order and never twice.
    assert new_seqs == sorted(set(new_seqs)) and all(before["last_seq"] < s <= after["last_seq"] for s in new_seqs)


@FUZZ
@given(batch=BATCHES)
def test_any_op_batch_gets_a_clear_answer_over_http(student: Api, batch: dict[str, Any]) -> None:
    state = active_session(student, getattr(student, "_fuzz_state", None) or student.start())
    student._fuzz_state = state  # type: ignore[attr-defined]
    response = student.client.post(f"/api/v1/sessions/{state['id']}/ops", content=body_of(batch),
                                   headers={**student.headers, "Content-Type": "application/json"})
    after = student.resume(state["id"])
    check_outcome(batch["ops"], state, response, after)
    check_log(student, state["id"], after["last_seq"])


@FUZZ
@given(batch=BATCHES)
def test_any_op_batch_gets_a_clear_answer_on_the_live_socket(student: Api, batch: dict[str, Any]) -> None:
    state = active_session(student, getattr(student, "_fuzz_state", None) or student.start())
    student._fuzz_state = state  # type: ignore[attr-defined]
    token = student.headers["Authorization"].split(" ", 1)[1]
    with student.client.websocket_connect(f"/api/v1/sessions/{state['id']}/live?token={token}") as socket:
        while socket.receive_json()["type"] != "ready":
            pass
        socket.send_text(json.dumps({"type": "ops", "id": "fuzz", **batch}))
        while (answer := socket.receive_json())["type"] not in ("ack", "error"):
            pass
    after = student.resume(state["id"])
    assert answer["id"] == "fuzz"
    if answer["type"] == "error":
        assert answer["error"]["code"] in {"invalid_request", "too_many_ops", "rate_limited"}
        assert after["last_seq"] == state["last_seq"]
    else:
        assert len(answer["results"]) == len(batch["ops"]) and answer["last_seq"] == after["last_seq"]
        assert all(r["status"] in STATUSES for r in answer["results"])
    check_log(student, state["id"], after["last_seq"])


def test_the_hostile_shapes_each_get_their_documented_answer(student: Api) -> None:
    state = student.start()
    q1 = section_questions(state)[0]

    def post(ops: Any, **batch: Any) -> Any:
        return student.client.post(f"/api/v1/sessions/{state['id']}/ops", content=body_of({"ops": ops, **batch}),
                                   headers={**student.headers, "Content-Type": "application/json"})

    # Text that no database can hold is stored with U+FFFD in place of what cannot be.
    noted = post([student.op("note", question_id=q1["id"], text="a\x00b\ud800c")])
    assert noted.status_code == 200 and noted.json()["results"][0]["status"] == "applied"
    assert student.resume(state["id"])["sections"][0]["notes"][q1["id"]] == "a\ufffdb\ufffdc"
    # What no client of the protocol sends refuses the batch whole, naming the op.
    for ops in ([student.op("answer", question_id=q1["id"], answer=float("nan"))],
                [student.op("answer", question_id=q1["id"], answer=json.loads("[" * 40 + "]" * 40))],
                [student.op("flag", question_id="q" * 37)]):
        refused = post(ops)
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_request"
        assert "ops[0]" in refused.json()["error"]["message"]
    for batch in ({"device_id": "d\x00"}, {"device_id": "d" * 65}, {"sent_at": -1}, {"sent_at": True}):
        refused = post([student.op("heartbeat")], **batch)
        assert refused.status_code == 422, refused.text
    assert student.resume(state["id"])["last_seq"] == 1


def test_a_nul_in_a_url_names_nothing(student: Api, teacher: Api) -> None:
    state = student.start()
    for response in (student.get("/sessions/a%00b"), student.get(f"/sessions/{state['id']}/history?after_seq=%00"),
                     teacher.get("/export?test_id=x%00"), student.get("/users/%00/performance")):
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    token = student.headers["Authorization"].split(" ", 1)[1]
    with student.client.websocket_connect(f"/api/v1/sessions/x%00/live?token={token}") as socket:
        with pytest.raises(WebSocketDisconnect) as refused:
            socket.receive_json()
    assert refused.value.code == 4404
