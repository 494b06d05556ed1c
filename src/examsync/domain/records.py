"""The records a session is made of: registers, question and section state, log entries, op results.

Plain data with their (de)serialisation; `domain/session.py` holds the rules that change them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from examsync.domain.errors import DomainError
from examsync.domain.ops import Op
from examsync.domain.timing import SectionClock

APPLIED, DUPLICATE, SUPERSEDED, REJECTED = "applied", "duplicate", "superseded", "rejected"


@dataclass(frozen=True)
class Rules:
    """Deployment settings the domain obeys."""

    heartbeat_credit_ms: int = 15_000
    offline_grace_ms: int = 0
    max_answer_length: int = 1_000
    max_extended_answer_length: int = 20_000


def intent_order(effective_time: int, client_time: int, batch_index: int, op_id: str) -> tuple[int, int, int, str]:
    """Which of two ops the student made last: the later effective time, then one device's own order.

    Two ops of one device can share an effective time when both were clamped to
    the server's now, or made in one millisecond; the device's strictly
    increasing client times, then the places in one batch, keep its order.
    """
    return (effective_time, client_time, batch_index, op_id)


@dataclass
class Register:
    """A last-writer-wins value stamped with the intent order of the op that set it.

    Persisted as [value, at, op_id, client_time, batch_index]; registers kept
    before the last two were recorded load with both as 0.
    """

    value: Any = None
    at: int | None = None
    op_id: str | None = None
    client_time: int = 0
    batch_index: int = 0

    def offer(self, value: Any, op: Op, effective: int) -> bool:
        order = intent_order(effective, op.client_time, op.batch_index, op.op_id)
        if self.at is not None and order < intent_order(self.at, self.client_time, self.batch_index, self.op_id or ""):
            return False
        self.value, self.at, self.op_id = value, effective, op.op_id
        self.client_time, self.batch_index = op.client_time, op.batch_index
        return True

    def dump(self) -> list[Any] | None:
        return None if self.at is None else [self.value, self.at, self.op_id, self.client_time, self.batch_index]

    @classmethod
    def load(cls, raw: list[Any] | None) -> "Register":
        return cls() if raw is None else cls(*raw)


@dataclass
class QuestionState:
    answer: Register = field(default_factory=Register)
    flagged: Register = field(default_factory=Register)
    note: Register = field(default_factory=Register)
    eliminated: dict[str, Register] = field(default_factory=dict)
    visited: bool = False
    # Set by the staff op `grade` on a question staff mark: {points, comment, by, graded_at, seq}; the latest wins.
    grade: dict[str, Any] | None = None
    # Set by the staff op `release_marks` on every question staff mark: from then on its grade (given before or
    # after) is shown to the student. It lives here, beside the grade, so the session's snapshot holds it.
    released: bool = False

    def dump(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for name in ("answer", "flagged", "note"):
            raw = getattr(self, name).dump()
            if raw is not None:
                data[name] = raw
        if self.eliminated:
            data["eliminated"] = {cid: reg.dump() for cid, reg in self.eliminated.items()}
        if self.visited:
            data["visited"] = True
        if self.grade is not None:
            data["grade"] = self.grade
        if self.released:
            data["released"] = True
        return data

    @classmethod
    def load(cls, raw: dict[str, Any]) -> "QuestionState":
        return cls(
            answer=Register.load(raw.get("answer")),
            flagged=Register.load(raw.get("flagged")),
            note=Register.load(raw.get("note")),
            eliminated={cid: Register.load(reg) for cid, reg in raw.get("eliminated", {}).items()},
            visited=bool(raw.get("visited")),
            grade=raw.get("grade"),
            released=bool(raw.get("released")),
        )


@dataclass
class SectionState:
    section_id: str
    status: str = "not_started"  # not_started | in_progress | submitted
    clock: SectionClock = field(default_factory=SectionClock)
    submitted_at: int | None = None
    submit_reason: str | None = None  # student | expired | completed | ended | forced
    questions: dict[str, QuestionState] = field(default_factory=dict)
    score: dict[str, Any] | None = None
    extra_ms: int = 0  # extra time staff gave this section of this session
    reopened: bool = False  # staff reopened it once after it was submitted (domain/staff_ops.py)

    def question(self, question_id: str) -> QuestionState:
        return self.questions.setdefault(question_id, QuestionState())

    def answers(self) -> dict[str, Any]:
        return {qid: q.answer.value for qid, q in self.questions.items() if q.answer.value is not None}

    def flagged(self) -> list[str]:
        return [qid for qid, q in self.questions.items() if q.flagged.value]

    def grades(self, *, released_only: bool = False) -> dict[str, dict[str, Any]]:
        """The staff grades by question; with `released_only`, only those the student may see."""
        return {qid: q.grade for qid, q in self.questions.items()
                if q.grade is not None and (q.released or not released_only)}


@dataclass
class LogEntry:
    """One row of the session's ordered log (the audit trail and resume cursor)."""

    seq: int
    kind: str  # an op type, or a server change: section_expired, section_started, session_ended, time_adjusted
    status: str
    server_time: int
    op_id: str | None = None
    code: str | None = None
    message: str | None = None
    question_id: str | None = None
    section_id: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    client_time: int | None = None
    effective_time: int | None = None
    device_id: str | None = None
    hash: str | None = None  # chained to the previous entry: domain/chain.py

    def as_dict(self) -> dict[str, Any]:
        # Shallow: dataclasses.asdict deep-copies, and this runs for every op.
        return dict(self.__dict__)


@dataclass
class OpResult:
    op_id: str
    status: str
    code: str | None = None
    message: str | None = None
    seq: int | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"op_id": self.op_id, "status": self.status}
        for name in ("code", "message", "seq"):
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        return data


@dataclass(frozen=True)
class SentOp:
    """One op of a batch as read: parsed (`op`), or not (`error`); `op_id` is None when even it was unusable."""

    op_id: str | None
    fingerprint: str = ""
    op: Op | None = None
    error: DomainError | None = None

    @classmethod
    def parsed(cls, op: Op) -> "SentOp":
        return cls(op.op_id, op.fingerprint, op=op)


@dataclass
class BatchOutcome:
    """What a batch did: each op's result, the receipts to record (op_id -> fingerprint), the sections to save."""

    results: list[OpResult]
    new_receipts: dict[str, str]
    changed_section_ids: list[str]


def receipt_status(fingerprint: str, known_fingerprint: str | None) -> str | None:
    """How a receipt answers an op: None (a new op), duplicate, or op_id_reused."""
    if known_fingerprint is None:
        return None
    return DUPLICATE if known_fingerprint == fingerprint else "op_id_reused"
