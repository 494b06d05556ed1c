"""Reports for staff: a class's gradebook, an assignment's results, its item analysis and its export.

Who may read them: the class's owner, or an admin; another teacher gets 404 `not_found` (the class might as well
not exist), a student 403 `forbidden`. Correct answers appear in the item analysis, which only staff read.

Which attempt counts for a student: `domain.statistics.graded_attempt` (the highest-scoring completed attempt).
The item analysis reads exactly the attempts that the results grade. A student *saw* a question in that attempt when
any of their ops reached it (a navigate, which the web app sends whenever it shows a question, an answer, a flag,
a note, an elimination): its section's state holds a register for it. Formulas: docs/item-analysis.md.
"""

from __future__ import annotations

import csv
import html
import io
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from examsync.domain.chain import first_break
from examsync.domain.content import Question, Test, is_correct, is_marked_by_staff, question_score
from examsync.domain.errors import ForbiddenError, NotFoundError
from examsync.domain.statistics import (
    VISIT_ENDS,
    ItemResponse,
    graded_attempt,
    item_statistics,
    summarize,
    time_on_questions,
)
from examsync.export import as_text_cell
from examsync.store import classes, reports as store
from examsync.store.content import ContentCache, sub_skill_names
from examsync.store.database import Actor, Database

STEM_PREVIEW_LENGTH = 80
DECIMALS = 4


@dataclass
class ReportService:
    db: Database
    content: ContentCache = field(default_factory=ContentCache)

    # ----- an assignment's results -------------------------------------------------------------------------

    def results(self, actor: Actor, assignment_id: str) -> dict[str, Any]:
        """One row per enrolled student with their graded attempt, and the summary of the graded percents."""
        return self._results(actor, assignment_id)[0]

    def results_csv(self, actor: Actor, assignment_id: str) -> Iterator[str]:
        """The results as CSV lines: a header, then one row per student with one column per sub-skill (percent).
        Access is checked and the data read before this returns; the lines are produced as they are read."""
        report, test, names = self._results(actor, assignment_id)
        slugs = sorted({q.sub_skill for q in _questions(test)}, key=lambda s: (names.get(s, {}).get("name", s), s))
        header = ["user_id", "display_name", "email", "status", "session_id", "attempts", "score", "max_score",
                  "percent", "submitted_at",
                  *(f"{names.get(slug, {}).get('name', slug)} (%)" for slug in slugs)]
        rows = ([row["user_id"], row["display_name"], row["email"], row["status"], row["session_id"], row["attempts"],
                 row["score"], row["max_score"], row["percent"], row["submitted_at"],
                 *((row["by_sub_skill"].get(slug) or {}).get("percent") for slug in slugs)]
                for row in report["students"])
        return _csv_lines([header], rows)

    def _results(self, actor: Actor, assignment_id: str) -> tuple[dict[str, Any], Test, dict[str, dict[str, str]]]:
        with self.db.transaction(actor, write=False) as connection:
            assignment, _ = self._assignment(connection, actor, assignment_id)
            test = self._test(connection, assignment["test_id"])
            students = classes.roster(connection, assignment["class_id"])
            sessions = store.sessions_of(connection, [assignment_id], [s["user_id"] for s in students])
            names = sub_skill_names(connection)
        return _results(students, sessions, names), test, names

    # ----- the item analysis -------------------------------------------------------------------------------

    def items(self, actor: Actor, assignment_id: str) -> list[dict[str, Any]]:
        """One row per question, in the test's order, over the graded completed attempts."""
        with self.db.transaction(actor, write=False) as connection:
            assignment, _ = self._assignment(connection, actor, assignment_id)
            test = self._test(connection, assignment["test_id"])
            students = classes.roster(connection, assignment["class_id"])
            sessions = store.sessions_of(connection, [assignment_id], [s["user_id"] for s in students])
            graded = _graded_completed(sessions)
            ids = [row["id"] for row in graded]
            states = store.section_states(connection, ids)
            log = store.logs(connection, ids, kinds=["navigate", *sorted(VISIT_ENDS)])
        answers = {row["id"]: _final_answers(states.get(row["id"], [])) for row in graded}
        times = {row["id"]: time_on_questions(log[row["id"]], end_at=row["completed_at"]) for row in graded}
        grades = {row["id"]: _grades(states.get(row["id"], [])) for row in graded}
        out = []
        for question in _questions(test):
            responses = []
            pending = 0
            for row in graded:
                seen = answers[row["id"]]
                if question.id not in seen:
                    continue
                answer = seen[question.id]
                grade = grades[row["id"]].get(question.id)
                if is_marked_by_staff(question) and answer is not None and grade is None:
                    pending += 1  # awaiting marking: left out of the item's statistics until graded
                    continue
                right = is_correct(question, answer, grade)
                responses.append(ItemResponse(
                    total=float(row["score"]["score"]),
                    score=question_score(question, answer, grade) if is_marked_by_staff(question)
                    else question.points if right else 0.0,
                    correct=right,
                    answered=answer is not None,
                    choices=_chosen(answer) if question.choices else frozenset(),
                    time_ms=times[row["id"]].get(question.id),
                ))
            stats = item_statistics(responses, [c.id for c in question.choices])
            texts = {c.id: c.text for c in question.choices}
            correct_ids = _chosen(question.correct) if question.choices else frozenset()
            out.append({
                "question_id": question.id,
                "section_id": question.section_id,
                "kind": question.kind,
                "sub_skill": question.sub_skill,
                "stem_preview": stem_preview(question.stem),
                "seen": stats["seen"],
                "answered": stats["answered"],
                "pending": pending,
                "correct": stats["correct"],
                "facility": _rounded(stats["facility"]),
                "discrimination": _rounded(stats["discrimination"]),
                "upper_lower": _rounded(stats["upper_lower"]),
                "choices": [{**{k: _rounded(v) if k.endswith("share") else v for k, v in choice.items()},
                             "text": texts[choice["choice_id"]], "correct": choice["choice_id"] in correct_ids}
                            for choice in stats["choices"]],
                "median_time_ms": stats["median_time_ms"],
            })
        return out

    # ----- the export --------------------------------------------------------------------------------------

    def export(self, actor: Actor, assignment_id: str, now_ms: int) -> dict[str, Any]:
        """The assignment, its test, its students and every one of their sessions of it with its state and full
        log (each entry with its hash, and whether the chain holds)."""
        with self.db.transaction(actor, write=False) as connection:
            assignment, class_ = self._assignment(connection, actor, assignment_id)
            test = store.test_header(connection, assignment["test_id"])
            students = classes.roster(connection, assignment["class_id"])
            sessions = store.sessions_of(connection, [assignment_id], [s["user_id"] for s in students])
            ids = [row["id"] for row in sessions]
            states = store.section_states(connection, ids)
            log = store.logs(connection, ids)
            changes = store.overrides(connection, assignment_id)
        return {
            "format": "examsync-assignment-export",
            "version": 1,
            "exported_at": now_ms,
            "assignment": {**_assignment_settings(assignment), "class_name": class_["name"],
                           "overrides": [{"user_id": o["user_id"], "changes": o["changes"]} for o in changes]},
            "test": None if test is None else dict(test),
            "students": [{"user_id": s["user_id"], "display_name": s["display_name"], "email": s["email"]}
                         for s in students],
            "sessions": [_session_export(row, states.get(row["id"], []), log[row["id"]]) for row in sessions],
        }

    # ----- the gradebook -----------------------------------------------------------------------------------

    def gradebook(self, actor: Actor, class_id: str) -> dict[str, Any]:
        """Students × assignments: each cell the graded attempt's session, status and percent."""
        with self.db.transaction(actor, write=False) as connection:
            self._class(connection, actor, class_id)
            work = store.class_assignments(connection, class_id)
            students = classes.roster(connection, class_id)
            sessions = store.sessions_of(connection, [a["id"] for a in work], [s["user_id"] for s in students])
        attempts: dict[tuple[str, str], list[Any]] = {}
        for row in sessions:
            attempts.setdefault((row["user_id"], row["assignment_id"]), []).append(row)
        return {
            "assignments": [{"id": a["id"], "test_id": a["test_id"], "title": a["test_title"],
                             "opens_at": a["opens_at"], "closes_at": a["closes_at"]} for a in work],
            "students": [{
                "user_id": s["user_id"], "display_name": s["display_name"], "email": s["email"],
                "cells": {a["id"]: _cell(attempts.get((s["user_id"], a["id"]), [])) for a in work},
            } for s in students],
        }

    # ----- who may read what -------------------------------------------------------------------------------

    def _class(self, connection: Connection, actor: Actor, class_id: str) -> Any:
        if not actor.is_staff:
            raise ForbiddenError("only teachers and admins can do this")
        row = classes.class_row(connection, actor, class_id)
        if not classes.is_staff_of(actor, row):
            raise NotFoundError("no such class")
        return row

    def _assignment(self, connection: Connection, actor: Actor, assignment_id: str) -> tuple[Any, Any]:
        if not actor.is_staff:
            raise ForbiddenError("only teachers and admins can do this")
        row = classes.assignment_row(connection, actor, assignment_id)
        try:
            class_ = self._class(connection, actor, row["class_id"])
        except NotFoundError:
            raise NotFoundError("no such assignment") from None
        return row, class_

    def _test(self, connection: Connection, test_id: str) -> Test:
        test = self.content.get(connection, test_id)
        if test is None:
            raise NotFoundError(f"no test with id {test_id!r}")
        return test


# ----- building the answers ------------------------------------------------------------------------------------


def _questions(test: Test) -> list[Question]:
    return [q for section in test.sections for q in section.questions]


def _results(students: list[Any], sessions: list[Any], names: dict[str, dict[str, str]]) -> dict[str, Any]:
    attempts: dict[str, list[Any]] = {}
    for row in sessions:
        attempts.setdefault(row["user_id"], []).append(row)
    rows = []
    for student in students:
        own = attempts.get(student["user_id"], [])
        graded = graded_attempt(own)
        scored = graded is not None and graded["status"] == "completed"
        score = graded["score"] if scored and graded is not None else None
        rows.append({
            "user_id": student["user_id"],
            "display_name": student["display_name"],
            "email": student["email"],
            "status": "not_started" if graded is None else graded["status"],
            "session_id": None if graded is None else graded["id"],
            "attempts": len(own),
            "score": score["score"] if score else None,
            "max_score": score["max_score"] if score else None,
            "percent": _percent(score["score"], score["max_score"]) if score else None,
            "submitted_at": graded["completed_at"] if scored and graded is not None else None,
            "by_sub_skill": {
                slug: {"name": names.get(slug, {}).get("name", slug), "correct": skill["correct"],
                       "total": skill["attempts"], "score": skill["points"], "max_score": skill["max_points"],
                       "percent": _percent(skill["points"], skill["max_points"])}
                for slug, skill in sorted((score or {}).get("by_sub_skill", {}).items())
            },
        })
    summary = summarize([r["percent"] for r in rows if r["percent"] is not None])
    return {"students": rows, "summary": {k: v if k == "count" else _rounded(v) for k, v in summary.items()}}


def _graded_completed(sessions: list[Any]) -> list[Any]:
    by_student: dict[str, list[Any]] = {}
    for row in sessions:
        by_student.setdefault(row["user_id"], []).append(row)
    graded = [graded_attempt(own) for own in by_student.values()]
    return [row for row in graded if row is not None and row["status"] == "completed"]


def _final_answers(section_rows: list[Any]) -> dict[str, Any]:
    """Each question the student saw (any op reached it) and its final answer (None: left blank)."""
    seen: dict[str, Any] = {}
    for section in section_rows:
        for question_id, registers in (section["questions"] or {}).items():
            answer = registers.get("answer")
            seen[question_id] = answer[0] if answer else None
    return seen


def _grades(section_rows: list[Any]) -> dict[str, dict[str, Any]]:
    """The staff grades of the questions staff mark (extended_text), by question."""
    return {question_id: registers["grade"] for section in section_rows
            for question_id, registers in (section["questions"] or {}).items() if registers.get("grade")}


def _chosen(answer: Any) -> frozenset[str]:
    if isinstance(answer, str):
        return frozenset([answer])
    if isinstance(answer, list):
        return frozenset(a for a in answer if isinstance(a, str))
    return frozenset()


def _cell(attempts: list[Any]) -> dict[str, Any]:
    graded = graded_attempt(attempts)
    if graded is None:
        return {"session_id": None, "status": "not_started", "percent": None}
    score = graded["score"] if graded["status"] == "completed" else None
    return {"session_id": graded["id"], "status": graded["status"],
            "percent": _percent(score["score"], score["max_score"]) if score else None}


def _assignment_settings(row: Any) -> dict[str, Any]:
    return {name: row[name] for name in ("id", "class_id", "test_id", "opens_at", "closes_at", "max_attempts",
                                         "time_multiplier", "extra_seconds", "on_close", "grace_seconds",
                                         "created_by", "created_at")}


def _session_export(row: Any, sections: list[Any], log: list[Any]) -> dict[str, Any]:
    entries = [entry.as_dict() for entry in log]
    broken = first_break(row["id"], row["user_id"], entries, row["last_hash"])
    return {
        "id": row["id"],
        "user_id": row["user_id"],
        "status": row["status"],
        "started_at": row["started_at"],
        "completed_at": row["completed_at"],
        "last_activity_at": row["last_activity_at"],
        "time_multiplier": row["time_multiplier"],
        "untimed": row["untimed"],
        "closes_at": row["closes_at"],
        "score": row["score"],
        "last_seq": row["last_seq"],
        "last_hash": row["last_hash"],
        "chain": {"intact": broken is None, "break": broken},
        "sections": [{
            "section_id": s["section_id"], "status": s["status"], "started_at": s["started_at"],
            "submitted_at": s["submitted_at"], "submit_reason": s["submit_reason"], "used_ms": s["used_ms"],
            "extra_ms": s["extra_ms"], "score": s["score"],
            "answers": {qid: q["answer"][0] for qid, q in (s["questions"] or {}).items()
                        if q.get("answer") and q["answer"][0] is not None},
        } for s in sections],
        "log": entries,
    }


def _percent(score: float, max_score: float) -> float | None:
    return round(100.0 * score / max_score, 2) if max_score else None


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, DECIMALS)


_TAGS = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


def stem_preview(stem: str) -> str:
    """The question's stem as plain text (no markup), its first STEM_PREVIEW_LENGTH characters."""
    text = _SPACE.sub(" ", html.unescape(_TAGS.sub(" ", stem))).strip()
    return text if len(text) <= STEM_PREVIEW_LENGTH else text[:STEM_PREVIEW_LENGTH - 1].rstrip() + "…"


def _csv_lines(*parts: Iterable[list[Any]]) -> Iterator[str]:
    """Each row as one CSV line; a cell a spreadsheet would run as a formula is quoted (`export.as_text_cell`)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in itertools.chain(*parts):
        writer.writerow(["" if value is None else as_text_cell(value) for value in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
