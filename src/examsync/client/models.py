"""Typed views of the server's answers and of the queue's records.

Each keeps the JSON it was read from as `.raw`, so a field this version does not know yet is still there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ReceiptState = Literal["pending", "applied", "duplicate", "superseded", "rejected"]
SETTLED_STATES: tuple[ReceiptState, ...] = ("applied", "duplicate", "superseded", "rejected")


@dataclass(frozen=True)
class Receipt:
    """One op queued in the queue file, and what the server answered for it (nothing yet while `pending`).

    `created_at` and `settled_at` are the client's clock (ms since the epoch); `attempts` counts the requests
    that carried the op.
    """

    op_id: str
    session_id: str
    op: dict[str, Any]
    state: ReceiptState
    code: str | None
    message: str | None
    seq: int | None
    attempts: int
    created_at: int
    settled_at: int | None

    @property
    def settled(self) -> bool:
        return self.state != "pending"


@dataclass(frozen=True)
class SyncReport:
    """What one `Client.sync` call settled, and what it left pending."""

    applied: int
    duplicate: int
    superseded: int
    rejected: int
    pending: int
    attempts: int
    receipts: tuple[Receipt, ...]

    @property
    def settled(self) -> int:
        return len(self.receipts)


@dataclass(frozen=True)
class Choice:
    id: str
    text: str


@dataclass(frozen=True)
class Question:
    id: str
    kind: str
    stem: str
    points: float
    choices: tuple[Choice, ...]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Question:
        return cls(id=data["id"], kind=data["kind"], stem=data["stem"], points=data["points"],
                   choices=tuple(Choice(id=c["id"], text=c["text"]) for c in data.get("choices", [])))


@dataclass(frozen=True)
class SectionState:
    section_id: str
    title: str
    status: str
    submit_reason: str | None
    question_count: int
    first_question_id: str | None
    time_limit_ms: int | None
    time_remaining_ms: int | None
    deadline: int | None
    answers: dict[str, Any]
    flagged: tuple[str, ...]
    eliminated: dict[str, list[str]]
    notes: dict[str, str]
    visited: tuple[str, ...]
    questions: tuple[Question, ...]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SectionState:
        return cls(
            section_id=data["section_id"], title=data["title"], status=data["status"],
            submit_reason=data.get("submit_reason"), question_count=data["question_count"],
            first_question_id=data.get("first_question_id"), time_limit_ms=data.get("time_limit_ms"),
            time_remaining_ms=data.get("time_remaining_ms"), deadline=data.get("deadline"),
            answers=dict(data.get("answers", {})), flagged=tuple(data.get("flagged", ())),
            eliminated={k: list(v) for k, v in data.get("eliminated", {}).items()},
            notes=dict(data.get("notes", {})), visited=tuple(data.get("visited", ())),
            questions=tuple(Question.from_json(q) for q in data.get("questions", [])),
        )


@dataclass(frozen=True)
class SessionState:
    """A session as the server holds it: the resume state of docs/api.md."""

    id: str
    test_id: str
    test_title: str
    mode: str
    timer_policy: str
    status: str
    version: int
    last_seq: int
    server_time: int
    heartbeat_interval_ms: int
    untimed: bool
    time_multiplier: float
    current_section_id: str | None
    current_question_id: str | None
    sections: tuple[SectionState, ...]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SessionState:
        return cls(
            id=data["id"], test_id=data["test_id"], test_title=data["test_title"], mode=data["mode"],
            timer_policy=data["timer_policy"], status=data["status"], version=data["version"],
            last_seq=data["last_seq"], server_time=data["server_time"],
            heartbeat_interval_ms=data["heartbeat_interval_ms"], untimed=data["untimed"],
            time_multiplier=data["time_multiplier"], current_section_id=data.get("current_section_id"),
            current_question_id=data.get("current_question_id"),
            sections=tuple(SectionState.from_json(s) for s in data["sections"]), raw=data,
        )


@dataclass(frozen=True)
class HistoryEntry:
    """One entry of a session's ordered log (`GET …/history`, and the live socket's `event`)."""

    seq: int
    kind: str
    status: str
    op_id: str | None
    code: str | None
    message: str | None
    question_id: str | None
    section_id: str | None
    payload: dict[str, Any]
    client_time: int | None
    effective_time: int | None
    server_time: int
    device_id: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HistoryEntry:
        return cls(
            seq=data["seq"], kind=data["kind"], status=data["status"], op_id=data.get("op_id"),
            code=data.get("code"), message=data.get("message"), question_id=data.get("question_id"),
            section_id=data.get("section_id"), payload=data.get("payload", {}),
            client_time=data.get("client_time"), effective_time=data.get("effective_time"),
            server_time=data["server_time"], device_id=data.get("device_id"), raw=data,
        )


@dataclass(frozen=True)
class LiveState:
    """The live socket's `state` message: clocks, status and progress as of `last_seq`.

    `sections` holds, per section, `section_id`, `status`, `time_limit_ms`, `time_remaining_ms` and `deadline`.
    """

    version: int
    last_seq: int
    status: str
    server_time: int
    current_section_id: str | None
    answered: int
    flagged: int
    total: int
    sections: tuple[dict[str, Any], ...]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LiveState:
        return cls(
            version=data["version"], last_seq=data["last_seq"], status=data["status"],
            server_time=data["server_time"], current_section_id=data.get("current_section_id"),
            answered=data["answered"], flagged=data["flagged"], total=data["total"],
            sections=tuple(data.get("sections", ())), raw=data,
        )


@dataclass(frozen=True)
class LiveReady:
    """The live socket has sent every entry after the cursor it was opened with; later ones follow as they happen."""

    last_seq: int
