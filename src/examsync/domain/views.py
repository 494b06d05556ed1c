"""What a student sees of their session: resume state, progress and results.

The one place that decides what leaves the server. Correct answers and
explanations appear only in `results_view`, and only for submitted sections;
a section's questions appear only once its clock has started. A staff mark
reaches the student only once staff released the session's marks: until then
the student's views show the question as awaiting marking (`for_staff` shows
every mark, and whether it is released).
"""

from __future__ import annotations

from typing import Any

from examsync.domain.content import correct_answer_view, is_correct, public_question
from examsync.domain.scoring import accuracy, combine_scores, marking, released_section_score
from examsync.domain.session import TestSession


def resume_view(session: TestSession, now_ms: int) -> dict[str, Any]:
    current = session.current_section
    sections = []
    for section in session.test.sections:
        state = session.sections[section.id]
        sections.append({
            "section_id": section.id,
            "title": section.title,
            "status": state.status,
            "time_limit_ms": session.limit_ms(section),
            "time_remaining_ms": session.remaining_ms(section.id, now_ms),
            "deadline": session.deadline_ms(section.id) if state.status == "in_progress" else None,
            "submit_reason": state.submit_reason,
            "reopened": state.reopened,
            "question_count": len(section.questions),
            # Set while the section waits to begin: a navigate op to it starts its clock.
            "first_question_id": section.questions[0].id if state.status == "not_started" else None,
            "answers": state.answers(),
            "flagged": state.flagged(),
            "eliminated": {
                qid: sorted(cid for cid, reg in q.eliminated.items() if reg.value)
                for qid, q in state.questions.items()
                if any(reg.value for reg in q.eliminated.values())
            },
            "notes": {qid: q.note.value for qid, q in state.questions.items() if q.note.value},
            "visited": [qid for qid, q in state.questions.items() if q.visited],
            # A section's questions are shown only once its clock runs, so no one can read
            # ahead in a section whose time has not started.
            "questions": [public_question(q) for q in section.questions] if state.status != "not_started" else [],
        })
    return {
        "id": session.id,
        "test_id": session.test.id,
        "test_title": session.test.title,
        "mode": session.test.mode,
        "timer_policy": session.test.timer_policy,
        "status": session.status,
        "version": session.version,
        "last_seq": session.last_seq,
        "server_time": now_ms,
        "untimed": session.allowance.untimed,
        "heartbeat_interval_ms": session.rules.heartbeat_credit_ms,
        "time_multiplier": session.allowance.multiplier * session.user_allowance.multiplier,
        "current_section_id": current.id if current else None,
        "current_question_id": session.current_question_id,
        "assignment_id": session.assignment_id,
        "closes_at": session.closes_at,
        "close_grace_ms": session.close_grace_ms,
        **pause_view(session),
        "sections": sections,
    }


def pause_view(session: TestSession) -> dict[str, Any]:
    """Whether staff paused the session, when, and who (their name where known, else their id)."""
    return {"paused": session.paused, "paused_at": session.paused_at,
            "paused_by": session.paused_by_name or session.paused_by}


def live_state(session: TestSession, now_ms: int) -> dict[str, Any]:
    """The session's state after a change, as pushed to live clients: status, progress and clocks."""
    current = session.current_section
    return {
        "version": session.version,
        "last_seq": session.last_seq,
        "status": session.status,
        "server_time": now_ms,
        "current_section_id": current.id if current else None,
        "answered": session.answered_count,
        "flagged": session.flagged_count,
        "total": session.test.question_count,
        **pause_view(session),
        "sections": [
            {
                "section_id": section.id,
                "status": session.sections[section.id].status,
                "reopened": session.sections[section.id].reopened,
                "time_limit_ms": session.limit_ms(section),
                "time_remaining_ms": session.remaining_ms(section.id, now_ms),
                "deadline": session.deadline_ms(section.id)
                if session.sections[section.id].status == "in_progress" else None,
            }
            for section in session.test.sections
        ],
    }


def progress_view(session: TestSession, now_ms: int, *, for_staff: bool = False) -> dict[str, Any]:
    current = session.current_section
    score = session.score if for_staff else session.student_score()
    return {
        "id": session.id,
        "test_id": session.test.id,
        "test_title": session.test.title,
        "mode": session.test.mode,
        "status": session.status,
        "answered": session.answered_count,
        "total": session.test.question_count,
        "flagged": session.flagged_count,
        "current_section_id": current.id if current else None,
        "time_remaining_ms": session.remaining_ms(current.id, now_ms) if current else None,
        "started_at": session.started_at,
        "last_activity_at": session.last_activity_at,
        "completed_at": session.completed_at,
        "resumable": session.status == "active",
        "score": score["score"] if score else None,
        "max_score": score["max_score"] if score else None,
    }


def results_view(session: TestSession, sub_skill_names: dict[str, dict[str, str]], *,
                 for_staff: bool = False) -> dict[str, Any]:
    """The results: for the student, with only the marks staff released; `for_staff`, with every mark."""
    sections = []
    section_scores = []
    for section in session.test.sections:
        state = session.sections[section.id]
        entry: dict[str, Any] = {"section_id": section.id, "title": section.title, "status": state.status}
        score = state.score if for_staff else released_section_score(section, state)
        if state.status == "submitted" and score is not None:
            section_scores.append(score)
            answers = state.answers()
            grades = state.grades(released_only=not for_staff)
            entry.update(
                score=score["score"],
                max_score=score["max_score"],
                pending_points=score.get("pending_points", 0.0),
                correct=score["correct"],
                answered=score["answered"],
                total=score["total"],
                submit_reason=state.submit_reason,
                questions=[
                    {
                        **public_question(q),
                        "sub_skill": q.sub_skill,
                        "your_answer": answers.get(q.id),
                        "correct_answer": correct_answer_view(q),
                        "is_correct": is_correct(q, answers.get(q.id), grades.get(q.id)),
                        "explanation": q.explanation,
                        **_marking_view(q, answers.get(q.id), grades.get(q.id)),
                    }
                    for q in section.questions
                ],
            )
        sections.append(entry)
    by_sub_skill = []
    total = session.score if for_staff else session.student_score()
    totals = total["by_sub_skill"] if total else combine_scores(section_scores)["by_sub_skill"]
    for slug, skill in sorted(totals.items()):
        names = sub_skill_names.get(slug, {})
        by_sub_skill.append({
            "sub_skill": slug,
            "name": names.get("name", slug),
            "skill_area": names.get("skill_area"),
            "attempts": skill["attempts"],
            "correct": skill["correct"],
            "accuracy": accuracy(skill["correct"], skill["attempts"]),
        })
    return {
        "session_id": session.id,
        "test_id": session.test.id,
        "test_title": session.test.title,
        "status": session.status,
        "score": total["score"] if total else None,
        "max_score": total["max_score"] if total else None,
        # Points of extended-text answers awaiting marking by staff (already part of max_score, not of score).
        "pending_points": sum(float(s.get("pending_points", 0.0)) for s in section_scores),
        "marks_released": session.marks_released,
        "sections": sections,
        "by_sub_skill": by_sub_skill,
    }


def _marking_view(question: Any, answer: Any, grade: dict[str, Any] | None) -> dict[str, Any]:
    """For a question staff mark: `marking` (pending, graded, not_answered) and, once graded, the points given and
    the marker's comment. Nothing for a question scored automatically."""
    status = marking(question, answer, grade)
    if status is None:
        return {}
    return {"marking": status, "awarded_points": grade["points"] if grade else None,
            "comment": grade.get("comment") or None if grade else None}
