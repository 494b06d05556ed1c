"""Ops: what a client asks of its session, and their validation.

Each op carries a client-generated `op_id` (a UUID) that makes it
idempotent, and the client's time in milliseconds since the Unix epoch.
Clients stamp one device's ops with strictly increasing times; the server
adds each op's place in its batch (`batch_index`), which orders the ops of
one batch that still share a millisecond.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any, Mapping

from examsync.domain.errors import InvalidOpError, NoteTooLongError

OP_TYPES: tuple[str, ...] = (
    "answer",
    "flag",
    "unflag",
    "eliminate",
    "uneliminate",
    "note",
    "navigate",
    "heartbeat",
    "submit_section",
    "complete",
)
QUESTION_OPS = frozenset({"answer", "flag", "unflag", "eliminate", "uneliminate", "note", "navigate"})
CHOICE_OPS = frozenset({"eliminate", "uneliminate"})
# Heartbeats only tell the server a client is there: they move the clock and
# get neither a receipt nor a place in the log.
UNLOGGED_OPS = frozenset({"heartbeat"})

MAX_CLIENT_TIME_MS = 2**53


@dataclass(frozen=True)
class Op:
    op_id: str
    type: str
    client_time: int
    question_id: str | None = None
    section_id: str | None = None
    choice_id: str | None = None
    answer: Any = None
    text: str | None = None
    batch_index: int = 0

    def payload(self) -> dict[str, Any]:
        """The op's content as logged: what the client sent, and its place in the batch when not first."""
        fields = self._content()
        if self.batch_index:
            fields["batch_index"] = self.batch_index
        return fields

    def _content(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"type": self.type, "client_time": self.client_time}
        for name in ("question_id", "section_id", "choice_id", "text"):
            value = getattr(self, name)
            if value is not None:
                fields[name] = value
        if self.type == "answer":
            fields["answer"] = self.answer
        return fields

    @property
    def fingerprint(self) -> str:
        """Identifies what the client sent, so a re-used op_id with other content is caught.

        Not the op's place in its batch: an op re-sent in another batch is the same op.
        """
        return fingerprint(self._content())


def fingerprint(content: Mapping[str, Any]) -> str:
    """The receipt's fingerprint of an op's content (everything but its op_id), parsed or not.

    Stored with each receipt, so it must not change: `default=str` only reaches values no JSON
    client can send, and so leaves the fingerprints of parsed ops as they always were.
    """
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def unparsed_fingerprint(raw: Mapping[str, Any]) -> str:
    """The fingerprint of an op that could not be parsed: all it carries but its op_id."""
    return fingerprint({name: value for name, value in raw.items() if name != "op_id"})


def canonical_op_id(raw: Any) -> str:
    if not isinstance(raw, str):
        raise InvalidOpError("op_id must be a UUID string")
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise InvalidOpError(f"op_id {raw[:64]!r} is not a UUID") from None


def parse_op(raw: Mapping[str, Any], *, max_note_length: int, batch_index: int = 0) -> Op:
    """Turn one op as sent by a client, at `batch_index` in its batch, into an Op, or raise InvalidOpError.

    The op_id is checked first, so that a caller can report the error against it.
    """
    op_id = canonical_op_id(raw.get("op_id"))
    op_type = raw.get("type")
    if op_type not in OP_TYPES:
        raise InvalidOpError(f"unknown op type {str(op_type)[:40]!r}; expected one of {', '.join(OP_TYPES)}")
    client_time = raw.get("client_time")
    if isinstance(client_time, bool) or not isinstance(client_time, int) or not 0 <= client_time < MAX_CLIENT_TIME_MS:
        raise InvalidOpError("client_time must be milliseconds since the Unix epoch (an integer)")

    def text_field(name: str) -> str | None:
        value = raw.get(name)
        if value is not None and not isinstance(value, str):
            raise InvalidOpError(f"{name} must be a string")
        return value

    question_id = text_field("question_id")
    section_id = text_field("section_id")
    choice_id = text_field("choice_id")
    text = text_field("text")
    if op_type in QUESTION_OPS and not question_id:
        raise InvalidOpError(f"a {op_type} op needs question_id")
    if op_type in CHOICE_OPS and not choice_id:
        raise InvalidOpError(f"a {op_type} op needs choice_id")
    if op_type == "submit_section" and not section_id:
        raise InvalidOpError("a submit_section op needs section_id")
    if op_type == "note":
        if text is None:
            raise InvalidOpError("a note op needs text (an empty string clears the note)")
        if len(text) > max_note_length:
            raise NoteTooLongError(f"a note is at most {max_note_length} characters", limit=max_note_length)
    if op_type == "answer" and "answer" not in raw:
        raise InvalidOpError("an answer op needs answer (null clears it)")
    return Op(
        op_id=op_id,
        type=op_type,
        client_time=client_time,
        question_id=question_id,
        section_id=section_id,
        choice_id=choice_id,
        answer=raw.get("answer") if op_type == "answer" else None,
        text=text,
        batch_index=batch_index,
    )
