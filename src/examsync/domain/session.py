"""The test session aggregate: applies ops and the server's own changes.

One `TestSession` is the whole state of a student's sitting of one test. It
decides every op's fate (applied, superseded or rejected), gives every logged
op and server change the session's next sequence number, and never reads a
clock: `now_ms` is passed in.

Per question, each field (answer, flag, note, each eliminated choice) is a
last-writer-wins register ordered by the time the student acted, corrected by
their device's observed clock offset (`intent_order`). Ties keep the order in
which one device made its ops (its client time, then the op's place in its
batch), and only then fall to `op_id`. The order is a function of the op
alone, so the final state does not depend on the order in which ops arrive,
and a stale device can never overwrite a newer change.

Why this module is still over 300 lines: the aggregate's rules about ops,
clocks and server changes share one state and one log, and are read together.
Its records live in `domain/records.py`, the staff's ops in
`domain/staff_ops.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from examsync.domain.chain import GENESIS, entry_hash
from examsync.domain.content import Test, Section, validate_answer
from examsync.domain.errors import (
    DomainError,
    InvalidTimeOptionError,
    SessionPausedError,
    SectionNotOpenError,
    SectionSubmittedError,
    SessionCompletedError,
    TimeExpiredError,
    UnknownChoiceError,
    UnknownQuestionError,
    UnknownSectionError,
)
from examsync.domain.ops import UNLOGGED_OPS, Op
from examsync.domain.scoring import combine_scores, released_section_score, score_section
from examsync.domain.records import (  # noqa: F401  (re-exported: the session's records, by their old home)
    APPLIED, DUPLICATE, REJECTED, SUPERSEDED, BatchOutcome, LogEntry, OpResult, QuestionState, Register, Rules,
    SectionState, SentOp, intent_order, receipt_status,
)
from examsync.domain.timing import (
    TimeAllowance, TimeChange, deadline_ms, effective_limit_ms, remaining_ms, split_evenly,
)


@dataclass
class TestSession:
    id: str
    user_id: str
    test: Test
    rules: Rules = field(default_factory=Rules)
    status: str = "active"  # active | completed
    version: int = 0
    last_seq: int = 0
    started_at: int = 0
    completed_at: int | None = None
    last_activity_at: int = 0
    # A hard end, whatever the session's state (an assignment's close); None: none.
    closes_at: int | None = None
    # An assignment's 'grace' on close: for this long after closes_at the session still takes work done (by its
    # effective time) before closes_at, then it ends. 0: it ends at closes_at.
    close_grace_ms: int = 0
    # The assignment this session is an attempt of (None: self-study).
    assignment_id: str | None = None
    # The session's multiplier and untimed; its extra time is per section (SectionState.extra_ms).
    allowance: TimeAllowance = field(default_factory=TimeAllowance)
    # Set by a teacher for all of the student's sessions; loaded, not owned.
    user_allowance: TimeAllowance = field(default_factory=TimeAllowance)
    current_question: Register = field(default_factory=Register)
    sections: dict[str, SectionState] = field(default_factory=dict)
    score: dict[str, Any] | None = None
    last_hash: str = GENESIS
    # How far each device's clock is behind the server's (ms), as last observed.
    device_offsets: dict[str, int] = field(default_factory=dict)
    log: list[LogEntry] = field(default_factory=list)  # entries made since load
    completed_since_load: bool = False
    # The sections whose state may have changed since load: the ones a save must write.
    touched_sections: set[str] = field(default_factory=set)
    # Set while staff have paused the session (domain/staff_ops.py): when, by whom (id, and name to show).
    paused_at: int | None = None
    paused_by: str | None = None
    paused_by_name: str | None = None
    # The score a reopened session had when it completed before; whoever recorded it takes it back.
    retracted_score: dict[str, Any] | None = None

    @property
    def paused(self) -> bool:
        return self.paused_at is not None

    @property
    def marks_released(self) -> bool:
        """Staff released the session's marks (`release_marks`): its grades are shown to the student."""
        return any(q.released for state in self.sections.values() for q in state.questions.values())

    def student_score(self) -> dict[str, Any] | None:
        """The session's score as its student sees it, and as their sub-skill performance counts it: grades not
        yet released count as awaiting marking (domain/scoring.py)."""
        if self.score is None:
            return None
        return combine_scores(released_section_score(s, self.sections[s.id]) or {} for s in self.test.sections)

    def __post_init__(self) -> None:
        for section in self.test.sections:
            self.sections.setdefault(section.id, SectionState(section.id))

    # ----- derived state -------------------------------------------------

    @property
    def current_section(self) -> Section | None:
        """The first section not yet submitted: sections are taken in order."""
        return next((s for s in self.test.sections if self.sections[s.id].status != "submitted"), None)

    @property
    def current_question_id(self) -> str | None:
        question_id = self.current_question.value
        current = self.current_section
        if question_id is None or current is None or self.test.section_of(question_id) is not current:
            return None
        return question_id

    def limit_ms(self, section: Section) -> int | None:
        return self._limit_ms(section, self.allowance)

    def _limit_ms(self, section: Section, allowance: TimeAllowance) -> int | None:
        granted = TimeAllowance(extra_ms=self.sections[section.id].extra_ms)
        return effective_limit_ms(section.time_limit_seconds, allowance.combine(self.user_allowance).combine(granted))

    def remaining_ms(self, section_id: str, now_ms: int) -> int | None:
        section = self.test.section(section_id)
        assert section is not None
        state = self.sections[section_id]
        if state.status == "submitted":
            return 0 if self.limit_ms(section) is not None else None
        return remaining_ms(state.clock, self.test.timer_policy, self.limit_ms(section), now_ms, self.rules.heartbeat_credit_ms)

    def deadline_ms(self, section_id: str) -> int | None:
        section = self.test.section(section_id)
        assert section is not None
        return deadline_ms(
            self.sections[section_id].clock, self.test.timer_policy, self.limit_ms(section), self.rules.heartbeat_credit_ms
        )

    @property
    def is_timed(self) -> bool:
        return any(self.limit_ms(section) is not None for section in self.test.sections)

    def next_rule_change(self) -> tuple[int, str] | None:
        """When and by which rule the session next changes by itself, other than a section running out.

        `break`: the current section starts when the break after the previous one is over; `idle_limit`: a timed
        session with no sign of life for that long ends; `close_time`: the session ends at its hard close.
        """
        changes = []
        if self.closes_at is not None:
            changes.append((self.closes_at + self.close_grace_ms, "close_time"))
        if self.is_timed and not self.paused:  # paused: no break ends and no idle time counts
            if self.test.idle_limit_seconds is not None:
                changes.append((self.last_activity_at + self.test.idle_limit_seconds * 1000, "idle_limit"))
            break_end = self.break_end_ms()
            if break_end is not None:
                changes.append((break_end, "break"))
        return min(changes, default=None)

    def break_end_ms(self) -> int | None:
        section = self.current_section
        if section is None or self.test.break_seconds is None or self.sections[section.id].status != "not_started":
            return None
        index = self.test.sections.index(section)
        if index == 0:
            return None
        previous = self.sections[self.test.sections[index - 1].id]
        assert previous.submitted_at is not None
        return previous.submitted_at + self.test.break_seconds * 1000

    @property
    def answered_count(self) -> int:
        return sum(len(s.answers()) for s in self.sections.values())

    @property
    def flagged_count(self) -> int:
        return sum(len(s.flagged()) for s in self.sections.values())

    # ----- server changes ------------------------------------------------

    def begin(self, now_ms: int) -> None:
        """A new session starts its first section's clock: starting the test is beginning it."""
        first = self.test.sections[0]
        state = self.sections[first.id]
        if state.status == "not_started":
            state.status = "in_progress"
            state.clock.start(now_ms)
            self.touched_sections.add(first.id)

    def expire_due(self, now_ms: int) -> list[LogEntry]:
        """Apply, in time order, what has come due by now: sections whose time (plus grace) ran out, breaks that
        are over, and the session's end by its idle limit or close time."""
        entries = []
        while self.status == "active" and (section := self.current_section) is not None:
            state = self.sections[section.id]
            deadline = self.deadline_ms(section.id) if state.status == "in_progress" else None
            rule = self.next_rule_change()
            if deadline is not None and (rule is None or deadline <= rule[0]):
                if now_ms < deadline + self.rules.offline_grace_ms:
                    break
                self._submit(section, "expired", deadline)
                self.version += 1
                entries.append(self._record("section_expired", APPLIED, now_ms, section_id=section.id,
                                            payload={"deadline": deadline}))
                self._complete_if_done(now_ms)
            elif rule is not None and rule[0] <= now_ms:
                at, name = rule
                entries.append(self.start_after_break(section, at, now_ms) if name == "break"
                               else self.end(name, at, now_ms))
            else:
                break
        return entries

    def next_due_ms(self) -> int | None:
        """The earliest time `expire_due` could change the session as it stands now (None: nothing is coming).

        A reader that keeps a session in memory brings it up to now only from then on; anything that moves the
        time (an op, extra time, a pause) changes the session, and such a reader reads it again.
        """
        if self.status != "active" or (section := self.current_section) is None:
            return None
        deadline = self.deadline_ms(section.id) if self.sections[section.id].status == "in_progress" else None
        rule = self.next_rule_change()
        due = [t for t in (deadline + self.rules.offline_grace_ms if deadline is not None else None,
                           rule[0] if rule is not None else None) if t is not None]
        return min(due, default=None)

    def start_after_break(self, section: Section, at_ms: int, now_ms: int) -> LogEntry:
        """The break is over: the section's clock starts by itself, at the break's end."""
        state = self.sections[section.id]
        state.status = "in_progress"
        state.clock.start(at_ms)
        self.touched_sections.add(section.id)
        self.version += 1
        return self._record("section_started", APPLIED, now_ms, section_id=section.id, payload={
            "rule": "break", "break_ms": (self.test.break_seconds or 0) * 1000, "started_at": at_ms})

    def end(self, rule: str, at_ms: int, now_ms: int) -> LogEntry:
        """Complete the session with what it holds: every section not yet submitted is submitted and scored."""
        for section in self.test.sections:
            if self.sections[section.id].status != "submitted":
                self._submit(section, "ended", at_ms)
        self._complete_if_done(at_ms)
        self.version += 1
        detail = ({"idle_limit_ms": (self.test.idle_limit_seconds or 0) * 1000,
                   "last_activity_at": self.last_activity_at} if rule == "idle_limit" else {"closes_at": self.closes_at})
        return self._record("session_ended", APPLIED, now_ms, payload={"rule": rule, "ended_at": at_ms, **detail})

    def adjust_time(self, change: TimeChange, now_ms: int, *, by: str) -> LogEntry:
        """A teacher's accommodation for this session; applies at once, also mid-section."""
        self._open_for_staff(now_ms)
        return self._record("time_adjusted", APPLIED, now_ms, payload={**self.change_time(change), "by": by})

    def change_time(self, change: TimeChange) -> dict[str, Any]:
        """Apply a time change to an active session; returns what it did, as logged."""
        allowance = TimeAllowance(
            multiplier=self.allowance.multiplier if change.multiplier is None else change.multiplier,
            untimed=self.allowance.untimed if change.untimed is None else change.untimed,
        )
        grants = {} if change.extra_ms is None else self._extra_time_grants(change, allowance)
        self.allowance = allowance
        for section_id, extra_ms in grants.items():
            self.sections[section_id].extra_ms = extra_ms
            self.touched_sections.add(section_id)
        self.version += 1
        payload: dict[str, Any] = {"multiplier": allowance.multiplier, "untimed": allowance.untimed}
        if change.extra_ms is not None:
            payload.update(scope=change.scope, extra_ms=change.extra_ms, section_extra_ms=grants)
        return payload

    def _extra_time_grants(self, change: TimeChange, allowance: TimeAllowance) -> dict[str, int]:
        """Each section's extra time after the change: one section's, or the session's split evenly."""
        assert change.extra_ms is not None
        if change.scope == "section":
            section = self.current_section if change.section_id is None else self.test.section(change.section_id)
            if section is None:
                raise UnknownSectionError(f"section {change.section_id!r} is not part of this test")
            if self.sections[section.id].status == "submitted":
                raise SectionSubmittedError("this section has been submitted; its time can no longer change")
            targets = [section]
        else:
            targets = [s for s in self.test.sections if self.sections[s.id].status != "submitted"]
        timed = [s for s in targets if self._limit_ms(s, allowance) is not None]
        if not timed:
            raise InvalidTimeOptionError("no timed section is left open to give this time to")
        return {s.id: share + (self.sections[s.id].extra_ms if change.added else 0)
                for s, share in zip(timed, split_evenly(change.extra_ms, len(timed)))}

    def note_user_allowance_changed(self, allowance: TimeAllowance, now_ms: int, *, by: str) -> LogEntry:
        self._open_for_staff(now_ms)
        self.user_allowance = allowance
        self.version += 1
        return self._record("time_adjusted", APPLIED, now_ms, payload={
            "scope": "user", "multiplier": allowance.multiplier, "extra_ms": allowance.extra_ms,
            "untimed": allowance.untimed, "by": by,
        })

    def _open_for_staff(self, now_ms: int) -> None:
        """A completed session is closed to staff changes too; what ran out by now is recorded first."""
        self.expire_due(now_ms)
        if self.status != "active":
            raise SessionCompletedError("this session is completed; its time can no longer change")

    # ----- ops -----------------------------------------------------------

    def clock_offset(self, device_id: str | None, sent_at: int | None, now_ms: int) -> int:
        """The correction for a batch's client times: observed from its `sent_at`, else the device's last."""
        if sent_at is not None:
            offset = now_ms - sent_at
            if device_id is not None:
                self.device_offsets[device_id] = offset
            return offset
        return self.device_offsets.get(device_id or "", 0)

    def apply_batch(self, batch: list[SentOp], receipts: dict[str, tuple[str, int]], now_ms: int, *,
                    clock_offset_ms: int = 0, device_id: str | None = None) -> BatchOutcome:
        """Apply one batch, in order, after what has come due by now: exactly once per op_id (`apply_each`)."""
        def apply_new(sent: Any) -> OpResult:
            if sent.op is None:
                assert sent.error is not None
                return self.reject(sent.op_id, sent.error, now_ms, device_id=device_id)
            return self.apply(sent.op, now_ms, clock_offset_ms=clock_offset_ms, device_id=device_id)

        return self.apply_each(batch, receipts, now_ms, apply_new)

    def apply_each(self, batch: Sequence[Any], receipts: dict[str, tuple[str, int]], now_ms: int,
                   apply_new: Callable[[Any], OpResult]) -> BatchOutcome:
        """Apply a batch of sent ops (a student's or staff's), in order, after what has come due by now.

        `receipts` holds the (fingerprint, seq) already recorded for the batch's op_ids. An op_id
        with a receipt is answered from it and changes nothing: `duplicate` when it is the same op,
        `op_id_reused` when it is another. Every other op goes to `apply_new`, which applies or rejects
        and logs it; a logged op gets a receipt to be written with its log entry.
        """
        self.expire_due(now_ms)
        known = dict(receipts)
        results: list[OpResult] = []
        new_receipts: dict[str, str] = {}
        for sent in batch:
            if sent.op_id is None:
                assert sent.error is not None
                echoed = sent.error.data.get("op_id")
                results.append(OpResult(echoed if isinstance(echoed, str) else "", REJECTED, sent.error.code,
                                        sent.error.message))
                continue
            receipt = known.get(sent.op_id)
            status = receipt_status(sent.fingerprint, receipt[0] if receipt else None)
            if status == DUPLICATE:
                results.append(OpResult(sent.op_id, DUPLICATE, seq=receipt[1] if receipt else None))
                continue
            if status is not None:
                results.append(OpResult(sent.op_id, REJECTED, "op_id_reused",
                                        "this op_id was already used for a different op; give each op a new op_id"))
                continue
            result = apply_new(sent)
            results.append(result)
            if result.seq is not None:
                new_receipts[sent.op_id] = sent.fingerprint
                known[sent.op_id] = (sent.fingerprint, result.seq)
        changed = [section_id for section_id in self.sections if section_id in self.touched_sections]
        return BatchOutcome(results, new_receipts, changed)

    def apply(self, op: Op, now_ms: int, *, clock_offset_ms: int = 0, device_id: str | None = None) -> OpResult:
        """Apply one new op (receipts are checked by the caller) and log it."""
        effective = min(op.client_time + clock_offset_ms, now_ms)
        try:
            status = self._apply(op, now_ms, effective)
            code = message = None
        except DomainError as error:
            status, code, message = REJECTED, error.code, error.message
        if status != REJECTED:
            # Every op the student makes counts, the submit that ends the test included.
            self.last_activity_at = max(self.last_activity_at, now_ms)
        if op.type in UNLOGGED_OPS:
            return OpResult(op.op_id, status, code, message)
        entry = self._record(
            op.type, status, now_ms, op_id=op.op_id, code=code, message=message,
            question_id=op.question_id, section_id=self._section_id_of(op), payload=op.payload(),
            client_time=op.client_time, effective_time=effective, device_id=device_id,
        )
        return OpResult(op.op_id, status, code, message, entry.seq)

    def reject(self, op_id: str, error: DomainError, now_ms: int, *, device_id: str | None = None) -> OpResult:
        """Log an op that could not even be read (bad type, missing field) as rejected."""
        kind = error.data.get("type")
        entry = self._record(
            "invalid", REJECTED, now_ms, op_id=op_id, code=error.code, message=error.message,
            payload={"type": kind[:40] if isinstance(kind, str) else None}, device_id=device_id,
        )
        return OpResult(op_id, REJECTED, error.code, error.message, entry.seq)

    def _section_id_of(self, op: Op) -> str | None:
        if op.question_id is not None:
            section = self.test.section_of(op.question_id)
            return section.id if section else None
        return op.section_id

    def _apply(self, op: Op, now_ms: int, effective: int) -> str:
        if self.status != "active":
            raise SessionCompletedError("this session is completed; start a new one to try again")
        if op.type == "heartbeat":
            return self._heartbeat(now_ms)
        if self.paused_at is not None and effective >= self.paused_at:
            # What the student did before the pause (sent late, from offline) still counts.
            raise SessionPausedError("your teacher has paused this test; wait until it is resumed")
        if op.type == "complete":
            return self._complete(now_ms)
        if op.type == "submit_section":
            section = self.test.section(op.section_id or "")
            if section is None:
                raise UnknownSectionError(f"section {op.section_id!r} is not part of this test")
            self._open_for_change(section, now_ms, effective)
            self._submit(section, "student", now_ms)
            self._complete_if_done(now_ms)
            self.version += 1
            return APPLIED
        question = self.test.question(op.question_id or "")
        section = self.test.section_of(op.question_id or "")
        if question is None or section is None:
            raise UnknownQuestionError(f"question {op.question_id!r} is not part of this test")
        if op.type in ("eliminate", "uneliminate") and op.choice_id not in question.choice_ids:
            raise UnknownChoiceError(f"choice {op.choice_id!r} is not one of this question's choices")
        answer = validate_answer(question, op.answer, max_length=self.rules.max_answer_length,
                                 max_extended_length=self.rules.max_extended_answer_length) if op.type == "answer" else None
        self._open_for_change(section, now_ms, effective)
        self.touched_sections.add(section.id)
        state = self.sections[section.id].question(question.id)
        if op.type == "answer":
            won = state.answer.offer(answer, op, effective)
        elif op.type in ("flag", "unflag"):
            won = state.flagged.offer(op.type == "flag", op, effective)
        elif op.type == "note":
            won = state.note.offer(op.text or None, op, effective)
        elif op.type in ("eliminate", "uneliminate"):
            register = state.eliminated.setdefault(op.choice_id or "", Register())
            won = register.offer(op.type == "eliminate", op, effective)
        else:  # navigate
            state.visited = True
            won = self.current_question.offer(question.id, op, effective)
        self.version += 1
        return APPLIED if won else SUPERSEDED

    def _open_for_change(self, section: Section, now_ms: int, effective: int) -> None:
        """Check that the section takes changes now; start its clock on first touch."""
        state = self.sections[section.id]
        if state.status == "submitted":
            if state.submit_reason == "expired":
                raise TimeExpiredError("time for this section ran out; it was submitted automatically")
            raise SectionSubmittedError("this section has been submitted and can no longer change")
        if section is not self.current_section:
            raise SectionNotOpenError("finish the current section before moving on to this one")
        if self.closes_at is not None and now_ms >= self.closes_at and effective >= self.closes_at:
            raise TimeExpiredError("the assignment closed; only work done before its close is accepted")
        if state.status == "not_started":
            state.status = "in_progress"
            state.clock.start(now_ms)
            if self.paused:
                state.clock.stop(self.test.timer_policy, now_ms, self.rules.heartbeat_credit_ms)
            self.touched_sections.add(section.id)
            return
        deadline = self.deadline_ms(section.id)
        if deadline is not None and now_ms >= deadline:
            # Within the grace window, only what the student did before the deadline counts.
            if effective >= deadline or now_ms >= deadline + self.rules.offline_grace_ms:
                raise TimeExpiredError("time for this section has run out")
            return
        state.clock.record_activity(self.test.timer_policy, now_ms, self.rules.heartbeat_credit_ms)
        self.touched_sections.add(section.id)

    def _heartbeat(self, now_ms: int) -> str:
        section = self.current_section
        if section is not None:
            state = self.sections[section.id]
            deadline = self.deadline_ms(section.id)
            if state.status == "in_progress" and (deadline is None or now_ms < deadline):
                state.clock.record_activity(self.test.timer_policy, now_ms, self.rules.heartbeat_credit_ms)
                self.touched_sections.add(section.id)
        return APPLIED

    def _submit(self, section: Section, reason: str, at_ms: int) -> None:
        state = self.sections[section.id]
        if state.status == "not_started":
            state.clock.start(at_ms)
        state.status = "submitted"
        state.submitted_at = at_ms
        state.submit_reason = reason
        state.score = score_section(section, state.answers(), state.grades())
        self.touched_sections.add(section.id)

    def _complete(self, now_ms: int) -> str:
        for section in self.test.sections:
            if self.sections[section.id].status != "submitted":
                self._submit(section, "completed", now_ms)
        self._complete_if_done(now_ms)
        self.version += 1
        return APPLIED

    def _complete_if_done(self, now_ms: int) -> None:
        if self.status == "active" and self.current_section is None:
            self.status = "completed"
            self.completed_at = now_ms
            self.completed_since_load = True
            self.score = combine_scores(self.sections[s.id].score or {} for s in self.test.sections)

    def _record(self, kind: str, status: str, now_ms: int, **fields: Any) -> LogEntry:
        self.last_seq += 1
        entry = LogEntry(seq=self.last_seq, kind=kind, status=status, server_time=now_ms, **fields)
        entry.hash = self.last_hash = entry_hash(self.last_hash, self.id, self.user_id, entry.as_dict())
        self.log.append(entry)
        return entry
