"""Staff ops: what a teacher or an admin does to a student's session, as entries of the session's own log.

Each staff op has an `op_id` and is applied exactly once, like a student's op: a retry with the same content
answers `duplicate`, the same op_id with other content `op_id_reused` (the fingerprint is `ops.fingerprint`).
Each is logged, applied or rejected, as kind `staff_<type>` with the staff member's id in its payload (`by`),
so it is part of the hash chain and pushed to the student's devices like any other change.

- `pause` stops the clock of the running section: no time is used and nothing runs out until `resume`; the
  student's ops made after the pause are refused (`session_paused`), the ones made before it still count.
- `resume` restarts the clock; the time paused is not counted.
- `extend_time` {extra_seconds, scope: section|session} adds time (to the current or a named section, or split
  evenly over the timed sections not yet submitted).
- `force_submit` submits every section with what it holds and completes the session.
- `reopen_section` {section_id, extra_seconds, reason?} reopens a submitted or expired section, once, with the
  time it had left plus `extra_seconds`; a completed session becomes active again and is scored again when it
  completes (its earlier score is handed back in `retracted_score`).
- `grade` {question_id, points, comment?} marks a question staff mark by hand (extended_text) of a submitted
  section: points from 0 to the question's points; a later grade replaces an earlier one (both stay in the log).
  It is allowed on a completed session (that is when marking happens): the session's score is computed again and
  its earlier score handed back in `retracted_score`, so the student's sub-skill performance is corrected, never
  counted twice. Until staff release the marks, the student sees a graded answer as awaiting marking.
- `release_marks` {} shows the session's marks to its student: every question staff mark is marked released, so
  its grade and comment, given before or after, appear in the student's results and count in the score they see
  (`TestSession.student_score`) and in their sub-skill performance (taken back and counted again, as for `grade`).
  A session's marks are released once (`marks_already_released` after that); a test with no question staff mark
  has no marks to release (`not_marked_by_staff`).
- `note` {text}: a remark for staff. The student never sees its text: `student_entry` redacts it in every
  student-facing view of the log (the stored entry, and so the chain, is untouched). A grade's points and comment
  are redacted there too: the student reads them in their results, once released.

On a completed session every staff op but `reopen_section`, `grade` and `release_marks` is refused with `SessionCompletedError`, raised for
the whole batch (nothing of the batch is written). The module does no I/O and reads no clock. Reading an op as sent
(its fields, by type) is staff_op_parsing.py's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from examsync.domain.errors import (
    AlreadyPausedError,
    AlreadyReopenedError,
    DomainError,
    MarksAlreadyReleasedError,
    NotMarkedByStaffError,
    NotPausedError,
    PointsOutOfRangeError,
    SectionInProgressError,
    SectionNotSubmittedError,
    SessionCompletedError,
    UnknownQuestionError,
    UnknownSectionError,
)
from examsync.domain.content import is_marked_by_staff
from examsync.domain.scoring import combine_scores, score_section
from examsync.domain.records import APPLIED, REJECTED, BatchOutcome, OpResult
from examsync.domain.session import TestSession
from examsync.domain.staff_op_parsing import SentStaffOp, StaffOp
from examsync.domain.timing import TimeChange

# Staff ops allowed on a completed session.
ON_COMPLETED: tuple[str, ...] = ("reopen_section", "grade", "release_marks")
KIND_PREFIX = "staff_"
STAFF_NOTE_KIND = "staff_note"
STAFF_GRADE_KIND = "staff_grade"


@dataclass(frozen=True)
class Staff:
    """Who acts: the staff member's id (logged as `by`) and the name the student is shown, if any."""

    user_id: str
    display_name: str | None = None


def apply_staff_batch(session: TestSession, batch: list[SentStaffOp], receipts: dict[str, tuple[str, int]],
                      now_ms: int, staff: Staff) -> BatchOutcome:
    """Apply staff ops in order, after what has come due by now: exactly once per op_id (see `apply_each`)."""
    return session.apply_each(batch, receipts, now_ms, lambda sent: apply_staff_op(session, sent, now_ms, staff))


def apply_staff_op(session: TestSession, sent: SentStaffOp, now_ms: int, staff: Staff) -> OpResult:
    """Apply (or reject) one new staff op and log it; raises SessionCompletedError as described above."""
    assert sent.op_id is not None
    op = sent.op
    if op is None:
        assert sent.error is not None
        kind = sent.error.data.get("type")
        entry = session._record(f"{KIND_PREFIX}invalid", REJECTED, now_ms, op_id=sent.op_id, code=sent.error.code,
                                message=sent.error.message, payload={
                                    "type": kind[:40] if isinstance(kind, str) else None, "by": staff.user_id})
        return OpResult(sent.op_id, REJECTED, sent.error.code, sent.error.message, entry.seq)
    if session.status != "active" and op.type not in ON_COMPLETED:
        raise SessionCompletedError("this session is completed; staff can only reopen one of its sections, grade "
                                    "its answers or release its marks")
    code = message = None
    try:
        detail = _RULES[op.type](session, op, now_ms, staff)
        status = APPLIED
    except DomainError as error:
        detail, status, code, message = {}, REJECTED, error.code, error.message
    section_id = detail.pop("section_id", op.section_id)
    entry = session._record(KIND_PREFIX + op.type, status, now_ms, op_id=op.op_id, code=code, message=message,
                            section_id=section_id, payload={**op.content(), "by": staff.user_id, **detail})
    return OpResult(op.op_id, status, code, message, entry.seq)


def _pause(session: TestSession, _op: StaffOp, now_ms: int, staff: Staff) -> dict[str, Any]:
    if session.paused:
        raise AlreadyPausedError("this session is already paused")
    for section_id, state in session.sections.items():
        deadline = session.deadline_ms(section_id) if state.status == "in_progress" else None
        if state.status == "in_progress" and (deadline is None or now_ms < deadline):
            # A section already past its deadline (in its offline grace) is not given time back by a pause.
            state.clock.stop(session.test.timer_policy, now_ms, session.rules.heartbeat_credit_ms)
            session.touched_sections.add(section_id)
    session.paused_at, session.paused_by, session.paused_by_name = now_ms, staff.user_id, staff.display_name
    session.version += 1
    return {"by_name": staff.display_name} if staff.display_name else {}


def _restart_clocks(session: TestSession, now_ms: int) -> int:
    """Run the stopped clocks again from now; returns how long the session was paused."""
    assert session.paused_at is not None
    for section_id, state in session.sections.items():
        if state.status == "in_progress":
            state.clock.restart(now_ms)
            session.touched_sections.add(section_id)
    paused_ms = max(0, now_ms - session.paused_at)
    session.paused_at = session.paused_by = session.paused_by_name = None
    return paused_ms


def _resume(session: TestSession, _op: StaffOp, now_ms: int, _staff: Staff) -> dict[str, Any]:
    if not session.paused:
        raise NotPausedError("this session is not paused")
    paused_ms = _restart_clocks(session, now_ms)
    # The time paused is not idle time of the student's.
    session.last_activity_at = max(session.last_activity_at, now_ms)
    # A break that ended while paused ends now: the next section's clock never starts in the past.
    break_end = session.break_end_ms()
    if break_end is not None and break_end < now_ms and (section := session.current_section) is not None:
        session.start_after_break(section, now_ms, now_ms)
    session.version += 1
    return {"paused_ms": paused_ms}


def _extend_time(session: TestSession, op: StaffOp, _now_ms: int, _staff: Staff) -> dict[str, Any]:
    assert op.extra_seconds is not None and op.scope is not None
    done = session.change_time(TimeChange(extra_ms=op.extra_seconds * 1000, scope=op.scope,
                                          section_id=op.section_id, added=True))
    grants = done["section_extra_ms"]
    return {"section_extra_ms": grants, "section_id": next(iter(grants)) if op.scope == "section" else None}


def _force_submit(session: TestSession, _op: StaffOp, now_ms: int, _staff: Staff) -> dict[str, Any]:
    if session.paused:
        _restart_clocks(session, now_ms)  # the time paused stays unused, should a section be reopened
    submitted = [s.id for s in session.test.sections if session.sections[s.id].status != "submitted"]
    for section in session.test.sections:
        if section.id in submitted:
            session._submit(section, "forced", now_ms)
    session._complete_if_done(now_ms)
    session.version += 1
    return {"sections": submitted}


def _reopen_section(session: TestSession, op: StaffOp, now_ms: int, _staff: Staff) -> dict[str, Any]:
    section = session.test.section(op.section_id or "")
    if section is None:
        raise UnknownSectionError(f"section {op.section_id!r} is not part of this test")
    state = session.sections[section.id]
    if state.status != "submitted":
        raise SectionNotSubmittedError("this section is still open; only a submitted or expired section can be "
                                       "reopened")
    if state.reopened:
        raise AlreadyReopenedError("this section was reopened once already; a section can be reopened once")
    running = next((s for s in session.test.sections if session.sections[s.id].status == "in_progress"), None)
    if running is not None:
        raise SectionInProgressError(f"section {running.title!r} is in progress; reopen this one when it is "
                                     "submitted")
    previous_reason = state.submit_reason
    counted = session.student_score()  # what the student's performance counted at completion, if it completed
    # The clock stood still from the submission to now: the section gets back the time it had left.
    state.clock.stopped_since = now_ms if state.submitted_at is None else min(state.submitted_at, now_ms)
    if not session.paused:
        state.clock.restart(now_ms)
    state.status, state.submitted_at, state.submit_reason, state.score = "in_progress", None, None, None
    state.reopened = True
    state.extra_ms += (op.extra_seconds or 0) * 1000
    session.touched_sections.add(section.id)
    if session.status == "completed":
        session.retracted_score = counted
        session.status, session.completed_at, session.score = "active", None, None
    session.last_activity_at = max(session.last_activity_at, now_ms)
    session.version += 1
    return {"previous_submit_reason": previous_reason}


def _grade(session: TestSession, op: StaffOp, now_ms: int, staff: Staff) -> dict[str, Any]:
    assert op.question_id is not None and op.points is not None
    question = session.test.question(op.question_id)
    section = session.test.section_of(op.question_id)
    if question is None or section is None:
        raise UnknownQuestionError(f"question {op.question_id!r} is not part of this test")
    if not is_marked_by_staff(question):
        raise NotMarkedByStaffError(f"question {op.question_id!r} is a {question.kind} question, scored "
                                    "automatically; only extended_text questions are graded by staff")
    if not 0 <= op.points <= question.points:
        raise PointsOutOfRangeError(f"points must be from 0 to {question.points:g}, the question's points")
    state = session.sections[section.id]
    if state.status != "submitted":
        raise SectionNotSubmittedError("this question's section is not submitted yet; grade it once it is")
    previous = state.question(question.id).grade
    counted = session.student_score()  # before the grade: what the student's performance counts now
    state.question(question.id).grade = {"points": op.points, "comment": op.comment or "", "by": staff.user_id,
                                         "by_name": staff.display_name, "graded_at": now_ms}
    state.score = score_section(section, state.answers(), state.grades())
    session.touched_sections.add(section.id)
    if session.status == "completed":
        session.score = combine_scores(session.sections[s.id].score or {} for s in session.test.sections)
        _count_again(session, counted)
    session.version += 1
    return {"section_id": section.id, "replaces_points": previous["points"] if previous else None}


def _release_marks(session: TestSession, _op: StaffOp, _now_ms: int, _staff: Staff) -> dict[str, Any]:
    if session.marks_released:
        raise MarksAlreadyReleasedError("this session's marks are released already")
    marked = [(section.id, question.id) for section in session.test.sections for question in section.questions
              if is_marked_by_staff(question)]
    if not marked:
        raise NotMarkedByStaffError("this test has no question marked by staff; its scores are shown as they are")

    counted = session.student_score()
    for section_id, question_id in marked:
        session.sections[section_id].question(question_id).released = True
        session.touched_sections.add(section_id)
    if session.status == "completed":
        _count_again(session, counted)
    session.version += 1
    return {"graded": sum(1 for section_id, question_id in marked
                          if session.sections[section_id].question(question_id).grade is not None)}


def _count_again(session: TestSession, counted: dict[str, Any] | None) -> None:
    """A completed session's score as its student sees it changed: the performance recorded at completion (or at
    the last such change), `counted`, is taken back and the new one recorded by whoever saves the session. The
    performance counts the score the student sees (`student_score`); a second change in one batch keeps the score
    that was recorded."""
    if session.retracted_score is None:
        session.retracted_score = counted
    session.completed_since_load = True


def _note(_session: TestSession, _op: StaffOp, _now_ms: int, _staff: Staff) -> dict[str, Any]:
    return {}  # only logged


_RULES: dict[str, Callable[[TestSession, StaffOp, int, Staff], dict[str, Any]]] = {
    "pause": _pause, "resume": _resume, "extend_time": _extend_time, "force_submit": _force_submit,
    "reopen_section": _reopen_section, "note": _note, "grade": _grade, "release_marks": _release_marks,
}


def is_staff_entry(entry: Mapping[str, Any]) -> bool:
    return str(entry.get("kind", "")).startswith(KIND_PREFIX)


def entry_by(entry: Mapping[str, Any]) -> str | None:
    """The staff member who made a logged change (staff ops and time changes), else None."""
    payload = entry.get("payload") or {}
    by = payload.get("by") if isinstance(payload, dict) else None
    return by if isinstance(by, str) else None


def student_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """A log entry as its student may see it: a staff note keeps its place (seq, time), not its content; so does a
    grade, whose points and comment the student reads in their results once the marks are released (the log would
    otherwise show them before)."""
    if entry.get("kind") == STAFF_NOTE_KIND:
        return {**entry, "payload": {"type": "note", "redacted": True}}
    if entry.get("kind") == STAFF_GRADE_KIND:
        payload = entry.get("payload") or {}
        return {**entry, "payload": {"type": "grade", "question_id": payload.get("question_id"), "redacted": True}}
    return entry
