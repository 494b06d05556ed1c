"""Jepsen-style verdict: what every client intended and was told, against what the server holds.

Pure functions over plain records, so every anomaly can be shown on crafted
inputs. Each op a client queued ends in one of three ways: acknowledged (the
server answered applied, duplicate or superseded), rejected, or indeterminate
(still pending when the run ended: it may or may not have been applied). The
anomalies are the ways the server can break its promises (../shared/PROMISES.md):

- lost: the client was answered (acknowledged, or rejected with a log `seq`) but
  the op is not in the session's log. Acknowledged means durable.
- duplicated: an op_id appears more than once in the logs. Exactly once.
- mismatched: a log entry's content differs from the op the client made, or its
  status contradicts what the client was told, or a question's final answer is
  not the latest intent its log implies. Latest intent wins.
- phantom: a log entry carries an op_id no client ever made.
- late_accepted: an op was taken into a section at or after its deadline plus
  the grace, by the server's clock. The clock is the server's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from examsync.domain.session import intent_order

ACKNOWLEDGED_STATES = frozenset({"applied", "duplicate", "superseded"})
ACCEPTED_STATUSES = frozenset({"applied", "superseded"})
# The fields of an op the server logs as its payload (domain/ops.py, Op.payload), as the client sent them.
PAYLOAD_FIELDS = ("type", "client_time", "question_id", "section_id", "choice_id", "text", "answer")
# Ops the server answers but never logs.
UNLOGGED_TYPES = frozenset({"heartbeat"})
ANOMALIES = ("lost", "duplicated", "mismatched", "phantom", "late_accepted")
EXAMPLES_PER_ANOMALY = 5


@dataclass(frozen=True)
class ClientOp:
    """One op as a client queued it, and the last answer it got (state `pending` if none)."""

    op_id: str
    session_id: str
    op: Mapping[str, Any]
    state: str  # pending | applied | duplicate | superseded | rejected
    seq: int | None = None


@dataclass(frozen=True)
class LogEntry:
    """One row of a session's log as the server holds it."""

    session_id: str
    seq: int
    kind: str
    status: str
    op_id: str | None = None
    section_id: str | None = None
    question_id: str | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)
    effective_time: int | None = None
    server_time: int = 0


@dataclass(frozen=True)
class ServerState:
    """What the server holds at the end: every log, each started section's deadline, every final answer."""

    log: tuple[LogEntry, ...]
    deadlines: Mapping[tuple[str, str], int]  # (session_id, section_id) -> deadline ms, timed and started only
    answers: Mapping[tuple[str, str], Any]  # (session_id, question_id) -> the answer the state holds
    grace_ms: int = 0


@dataclass
class Verdict:
    ops: int = 0
    acknowledged: int = 0
    rejected: int = 0
    indeterminate: int = 0
    lost: int = 0
    duplicated: int = 0
    mismatched: int = 0
    phantom: int = 0
    late_accepted: int = 0
    indeterminate_applied: int = 0
    examples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    @property
    def anomalies(self) -> int:
        return sum(getattr(self, name) for name in ANOMALIES)

    def note(self, anomaly: str, example: str) -> None:
        setattr(self, anomaly, getattr(self, anomaly) + 1)
        if len(self.examples[anomaly]) < EXAMPLES_PER_ANOMALY:
            self.examples[anomaly].append(example)

    def counts(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in (
            "ops", "acknowledged", "rejected", "indeterminate", *ANOMALIES, "indeterminate_applied")}


def canonical_answer(answer: Any) -> Any:
    """An answer as the server stores it: choice lists sorted without repeats; empty and blank mean none."""
    if isinstance(answer, list):
        return sorted(set(answer)) or None
    if isinstance(answer, str) and not answer.strip():
        return None
    return answer


def check(client_ops: Iterable[ClientOp], server: ServerState) -> Verdict:
    verdict = Verdict()
    by_op_id: dict[str, list[LogEntry]] = defaultdict(list)
    for entry in server.log:
        if entry.op_id is not None:
            by_op_id[entry.op_id].append(entry)
    made = set()
    for client_op in client_ops:
        made.add(client_op.op_id)
        _classify(verdict, client_op, by_op_id.get(client_op.op_id, []))
    for op_id, entries in by_op_id.items():
        if op_id not in made:
            for entry in entries:
                verdict.note("phantom", f"{entry.session_id} seq {entry.seq}: op {op_id} was made by no client")
        if len(entries) > 1:
            places = ", ".join(f"{e.session_id} seq {e.seq}" for e in entries)
            verdict.note("duplicated", f"op {op_id} is logged {len(entries)} times: {places}")
    _check_deadlines(verdict, server)
    _check_latest_intent(verdict, server)
    return verdict


def _classify(verdict: Verdict, client_op: ClientOp, entries: list[LogEntry]) -> None:
    verdict.ops += 1
    logged = [e for e in entries if e.session_id == client_op.session_id]
    op_type = client_op.op.get("type")
    if client_op.state == "pending":
        verdict.indeterminate += 1
        if logged:
            verdict.indeterminate_applied += 1
        return
    if client_op.state in ACKNOWLEDGED_STATES:
        verdict.acknowledged += 1
    else:
        verdict.rejected += 1
    answered_with_entry = client_op.state in ACKNOWLEDGED_STATES or client_op.seq is not None
    if op_type in UNLOGGED_TYPES or not answered_with_entry:
        return
    if not logged:
        verdict.note("lost", f"op {client_op.op_id} ({op_type}) was answered {client_op.state}"
                             f"{'' if client_op.seq is None else f' with seq {client_op.seq}'}"
                             f" but is not in the log of session {client_op.session_id}")
        return
    entry = logged[0]
    differing = [name for name in PAYLOAD_FIELDS if client_op.op.get(name) != entry.payload.get(name)]
    if differing:
        verdict.note("mismatched", f"op {client_op.op_id}: the log's {', '.join(differing)} differ from the client's op")
    told = client_op.state
    if told != "duplicate" and told != entry.status:
        verdict.note("mismatched", f"op {client_op.op_id}: the client was told {told}, the log says {entry.status}")
    elif client_op.seq is not None and client_op.seq != entry.seq:
        verdict.note("mismatched", f"op {client_op.op_id}: the client was told seq {client_op.seq}, "
                                   f"the log has it at seq {entry.seq}")


def _check_deadlines(verdict: Verdict, server: ServerState) -> None:
    for entry in server.log:
        # Only ops: the server's own entries (a section expiring) are made at the deadline plus grace.
        if entry.op_id is None or entry.status not in ACCEPTED_STATUSES or entry.section_id is None:
            continue
        deadline = server.deadlines.get((entry.session_id, entry.section_id))
        if deadline is not None and entry.server_time >= deadline + server.grace_ms:
            verdict.note("late_accepted", f"{entry.session_id} seq {entry.seq}: {entry.kind} {entry.status} at "
                                          f"{entry.server_time}, {entry.server_time - deadline} ms after the deadline")


def _check_latest_intent(verdict: Verdict, server: ServerState) -> None:
    latest: dict[tuple[str, str], LogEntry] = {}
    for entry in server.log:
        if entry.kind != "answer" or entry.status not in ACCEPTED_STATUSES or entry.question_id is None:
            continue
        key = (entry.session_id, entry.question_id)
        known = latest.get(key)
        if known is None or _intent_order(entry) > _intent_order(known):
            latest[key] = entry
    expected = {key: canonical_answer(entry.payload.get("answer")) for key, entry in latest.items()}
    for key in sorted(set(expected) | {k for k, v in server.answers.items() if v is not None}):
        held = server.answers.get(key)
        if held != expected.get(key):
            verdict.note("mismatched", f"session {key[0]} question {key[1]}: holds {held!r}, "
                                       f"the latest intent in its log is {expected.get(key)!r}")


def _intent_order(entry: LogEntry) -> tuple[int, int, int, str]:
    return intent_order(entry.effective_time or 0, entry.payload.get("client_time", 0),
                        entry.payload.get("batch_index", 0), entry.op_id or "")
