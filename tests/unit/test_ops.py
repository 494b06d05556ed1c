"""parse_op: what a client may send, and the error each malformed op gets."""

from __future__ import annotations

import pytest

from examsync.domain.errors import InvalidOpError, NoteTooLongError
from examsync.domain.ops import (
    MAX_CLIENT_TIME_MS, OP_TYPES, QUESTION_OPS, Op, canonical_op_id, fingerprint, parse_op, unparsed_fingerprint,
)

from .builders import T0

OP_ID = "3f2b8c1e-9d4a-4c6b-8e2f-1a2b3c4d5e6f"
MAX_NOTE = 50

VALID = {
    "answer": {"question_id": "q1", "answer": "a"},
    "flag": {"question_id": "q1"},
    "unflag": {"question_id": "q1"},
    "eliminate": {"question_id": "q1", "choice_id": "a"},
    "uneliminate": {"question_id": "q1", "choice_id": "a"},
    "note": {"question_id": "q1", "text": "hello"},
    "navigate": {"question_id": "q1"},
    "heartbeat": {},
    "submit_section": {"section_id": "s1"},
    "complete": {},
}


def raw(type_: str = "flag", **fields):
    data = {"op_id": OP_ID, "type": type_, "client_time": T0, **VALID[type_]}
    data.update(fields)
    return data


def without(data: dict, *names: str) -> dict:
    return {k: v for k, v in data.items() if k not in names}


def parse(data, max_note_length=MAX_NOTE):
    return parse_op(data, max_note_length=max_note_length)


def test_every_op_type_has_a_valid_example():
    assert set(VALID) == set(OP_TYPES)


@pytest.mark.parametrize("type_", OP_TYPES)
def test_valid_op_of_each_type_parses(type_):
    op = parse(raw(type_))
    assert isinstance(op, Op)
    assert (op.op_id, op.type, op.client_time) == (OP_ID, type_, T0)
    for name, value in VALID[type_].items():
        assert getattr(op, name) == value


def test_answer_null_is_kept_as_a_clear():
    op = parse(raw("answer", answer=None))
    assert op.answer is None
    assert op.payload()["answer"] is None


def test_answer_field_is_ignored_on_other_ops():
    op = parse(raw("flag", answer="a"))
    assert op.answer is None
    assert "answer" not in op.payload()


# ----- op_id --------------------------------------------------------------------


@pytest.mark.parametrize("spelling", [
    OP_ID.upper(),
    OP_ID.replace("-", ""),
    "{" + OP_ID + "}",
    "urn:uuid:" + OP_ID,
])
def test_op_id_is_canonicalised(spelling):
    assert canonical_op_id(spelling) == OP_ID
    assert parse(raw(op_id=spelling)).op_id == OP_ID


@pytest.mark.parametrize("bad", [None, 123, ["x"], {"id": OP_ID}])
def test_op_id_that_is_not_a_string_is_invalid(bad):
    with pytest.raises(InvalidOpError, match="op_id must be a UUID string"):
        parse(raw(op_id=bad))


def test_missing_op_id_is_invalid():
    with pytest.raises(InvalidOpError, match="op_id must be a UUID string"):
        parse(without(raw(), "op_id"))


@pytest.mark.parametrize("bad", ["", "not-a-uuid", OP_ID + "0", "x" * 500])
def test_op_id_that_is_not_a_uuid_is_invalid_and_named_in_the_message(bad):
    with pytest.raises(InvalidOpError, match="is not a UUID") as caught:
        parse(raw(op_id=bad))
    assert repr(bad[:64]) in caught.value.message
    assert len(caught.value.message) < 200


def test_op_id_is_checked_before_everything_else():
    with pytest.raises(InvalidOpError, match="op_id"):
        parse({"op_id": "nope", "type": "bogus"})


def test_invalid_op_error_has_the_invalid_op_code():
    with pytest.raises(InvalidOpError) as caught:
        parse(raw(type="bogus"))
    assert caught.value.code == "invalid_op"


# ----- type -----------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["bogus", "", "ANSWER", None, 3])
def test_unknown_op_type_is_invalid_and_lists_the_known_types(bad):
    with pytest.raises(InvalidOpError, match="unknown op type") as caught:
        parse(raw(type=bad))
    for known in OP_TYPES:
        assert known in caught.value.message


def test_missing_op_type_is_invalid():
    with pytest.raises(InvalidOpError, match="unknown op type"):
        parse(without(raw(), "type"))


def test_long_unknown_op_type_is_truncated_in_the_message():
    with pytest.raises(InvalidOpError) as caught:
        parse(raw(type="z" * 1000))
    assert "z" * 41 not in caught.value.message


# ----- client_time -----------------------------------------------------------------


@pytest.mark.parametrize("bad", [None, "1700000000000", 1.7e12, float(T0), True, False, -1, MAX_CLIENT_TIME_MS, [T0]])
def test_client_time_that_is_not_epoch_milliseconds_is_invalid(bad):
    with pytest.raises(InvalidOpError, match="client_time must be milliseconds since the Unix epoch"):
        parse(raw(client_time=bad))


def test_missing_client_time_is_invalid():
    with pytest.raises(InvalidOpError, match="client_time"):
        parse(without(raw(), "client_time"))


@pytest.mark.parametrize("good", [0, 1, T0, MAX_CLIENT_TIME_MS - 1])
def test_client_time_bounds_are_accepted(good):
    assert parse(raw(client_time=good)).client_time == good


# ----- fields each type needs --------------------------------------------------------


@pytest.mark.parametrize("type_", sorted(QUESTION_OPS))
def test_question_op_without_question_id_is_invalid(type_):
    with pytest.raises(InvalidOpError, match=f"a {type_} op needs question_id"):
        parse(without(raw(type_), "question_id"))
    with pytest.raises(InvalidOpError, match=f"a {type_} op needs question_id"):
        parse(raw(type_, question_id=""))


@pytest.mark.parametrize("name", ["question_id", "section_id", "choice_id", "text"])
@pytest.mark.parametrize("bad", [123, ["q1"], {"id": "q1"}, True])
def test_text_fields_that_are_not_strings_are_invalid(name, bad):
    with pytest.raises(InvalidOpError, match=f"{name} must be a string"):
        parse(raw("note", **{name: bad}))


@pytest.mark.parametrize("type_", ["eliminate", "uneliminate"])
def test_choice_op_without_choice_id_is_invalid(type_):
    with pytest.raises(InvalidOpError, match=f"a {type_} op needs choice_id"):
        parse(without(raw(type_), "choice_id"))


def test_submit_section_without_section_id_is_invalid():
    with pytest.raises(InvalidOpError, match="a submit_section op needs section_id"):
        parse(without(raw("submit_section"), "section_id"))


def test_note_without_text_is_invalid():
    with pytest.raises(InvalidOpError, match="a note op needs text"):
        parse(without(raw("note"), "text"))


def test_empty_note_is_valid_and_clears():
    assert parse(raw("note", text="")).text == ""


def test_note_at_the_limit_is_valid():
    assert parse(raw("note", text="n" * MAX_NOTE)).text == "n" * MAX_NOTE


def test_note_over_the_limit_is_note_too_long_with_the_limit():
    with pytest.raises(NoteTooLongError, match=f"at most {MAX_NOTE} characters") as caught:
        parse(raw("note", text="n" * (MAX_NOTE + 1)))
    assert caught.value.code == "note_too_long"
    assert caught.value.data == {"limit": MAX_NOTE}


def test_answer_op_without_answer_is_invalid():
    with pytest.raises(InvalidOpError, match="an answer op needs answer"):
        parse(without(raw("answer"), "answer"))


# ----- fingerprints -------------------------------------------------------------


def test_fingerprint_is_equal_for_equal_payloads():
    a = parse(raw("answer", answer=["a", "b"]))
    b = parse({"answer": ["a", "b"], "client_time": T0, "type": "answer", "question_id": "q1", "op_id": OP_ID.upper()})
    assert a.fingerprint == b.fingerprint


def test_fingerprint_does_not_depend_on_the_op_id():
    a = parse(raw("flag"))
    b = parse(raw("flag", op_id="9e1f0b6a-3c2d-4e5f-8a7b-6c5d4e3f2a1b"))
    assert a.fingerprint == b.fingerprint


def test_batch_index_is_logged_with_the_op_but_a_resent_op_in_another_place_is_the_same_op():
    first = parse_op(raw("flag"), max_note_length=MAX_NOTE, batch_index=3)
    resent = parse_op(raw("flag"), max_note_length=MAX_NOTE, batch_index=0)
    assert first.payload()["batch_index"] == 3
    assert "batch_index" not in resent.payload()
    assert first.fingerprint == resent.fingerprint


def test_fingerprint_ignores_fields_the_op_does_not_use():
    assert parse(raw("flag", answer="a")).fingerprint == parse(raw("flag")).fingerprint


@pytest.mark.parametrize("change", [
    {"type": "unflag"},
    {"client_time": T0 + 1},
    {"question_id": "q2"},
    {"section_id": "s1"},
    {"choice_id": "b"},
    {"text": "a note"},
])
def test_fingerprint_differs_when_the_payload_differs(change):
    assert parse(raw("flag", **change)).fingerprint != parse(raw("flag")).fingerprint


@pytest.mark.parametrize("other", ["b", None, ["a"], 1, "A"])
def test_fingerprint_differs_for_another_answer(other):
    assert parse(raw("answer", answer=other)).fingerprint != parse(raw("answer", answer="a")).fingerprint


def test_fingerprint_differs_for_another_note_text():
    assert parse(raw("note", text="x")).fingerprint != parse(raw("note", text="y")).fingerprint


# Receipts store these values: a retried op recorded before any change here must still match its receipt.
def test_fingerprint_of_a_parsed_op_is_the_one_its_receipt_stored():
    op = parse(raw("answer", answer=["a", "b"]))
    assert op.fingerprint == "8df16ca0564f616484976afa6a3191fd"


def test_fingerprint_of_an_unparseable_op_is_the_one_its_receipt_stored():
    unparseable = {"op_id": OP_ID, "type": "dance", "client_time": T0, "question_id": "q1"}
    assert unparsed_fingerprint(unparseable) == "38b8ded18ab005d10bd4ae8a0773e959"


def test_a_parsed_op_and_the_same_op_unparsed_have_one_fingerprint():
    sent = raw("answer", answer="a")
    assert parse(sent).fingerprint == unparsed_fingerprint(sent) == fingerprint(without(sent, "op_id"))


def test_unparsed_fingerprint_ignores_only_the_op_id():
    unparseable = {"op_id": OP_ID, "type": "dance", "client_time": T0}
    assert unparsed_fingerprint(unparseable) == unparsed_fingerprint({**unparseable, "op_id": "other"})
    assert unparsed_fingerprint(unparseable) != unparsed_fingerprint({**unparseable, "extra": 1})
