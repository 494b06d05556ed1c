"""Building the reports' answers from what the store read: results per student, the export's rows and its CSV.

No I/O here: the rows come from `ReportService` (reports.py), which reads them and decides who may see them.
"""

from __future__ import annotations

import csv
import html
import io
import itertools
import re
from collections.abc import Iterable, Iterator
from typing import Any

from examsync.domain.chain import first_break
from examsync.domain.content import Question, Test
from examsync.domain.statistics import graded_attempt, summarize
from examsync.export import as_text_cell

STEM_PREVIEW_LENGTH = 80
DECIMALS = 4


def questions(test: Test) -> list[Question]:
    return [q for section in test.sections for q in section.questions]


def results(students: list[Any], sessions: list[Any], names: dict[str, dict[str, str]]) -> dict[str, Any]:
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
            "percent": percent(score["score"], score["max_score"]) if score else None,
            "submitted_at": graded["completed_at"] if scored and graded is not None else None,
            "by_sub_skill": {
                slug: {"name": names.get(slug, {}).get("name", slug), "correct": skill["correct"],
                       "total": skill["attempts"], "score": skill["points"], "max_score": skill["max_points"],
                       "percent": percent(skill["points"], skill["max_points"])}
                for slug, skill in sorted((score or {}).get("by_sub_skill", {}).items())
            },
        })
    summary = summarize([r["percent"] for r in rows if r["percent"] is not None])
    return {"students": rows, "summary": {k: v if k == "count" else rounded(v) for k, v in summary.items()}}


def graded_completed(sessions: list[Any]) -> list[Any]:
    by_student: dict[str, list[Any]] = {}
    for row in sessions:
        by_student.setdefault(row["user_id"], []).append(row)
    graded = [graded_attempt(own) for own in by_student.values()]
    return [row for row in graded if row is not None and row["status"] == "completed"]


def final_answers(section_rows: list[Any]) -> dict[str, Any]:
    """Each question the student saw (any op reached it) and its final answer (None: left blank)."""
    seen: dict[str, Any] = {}
    for section in section_rows:
        for question_id, registers in (section["questions"] or {}).items():
            answer = registers.get("answer")
            seen[question_id] = answer[0] if answer else None
    return seen


def grades(section_rows: list[Any]) -> dict[str, dict[str, Any]]:
    """The staff grades of the questions staff mark (extended_text), by question."""
    return {question_id: registers["grade"] for section in section_rows
            for question_id, registers in (section["questions"] or {}).items() if registers.get("grade")}


def chosen(answer: Any) -> frozenset[str]:
    if isinstance(answer, str):
        return frozenset([answer])
    if isinstance(answer, list):
        return frozenset(a for a in answer if isinstance(a, str))
    return frozenset()


def cell(attempts: list[Any]) -> dict[str, Any]:
    graded = graded_attempt(attempts)
    if graded is None:
        return {"session_id": None, "status": "not_started", "percent": None}
    score = graded["score"] if graded["status"] == "completed" else None
    return {"session_id": graded["id"], "status": graded["status"],
            "percent": percent(score["score"], score["max_score"]) if score else None}


def assignment_settings(row: Any) -> dict[str, Any]:
    return {name: row[name] for name in ("id", "class_id", "test_id", "opens_at", "closes_at", "max_attempts",
                                         "time_multiplier", "extra_seconds", "on_close", "grace_seconds",
                                         "created_by", "created_at")}


def session_export(row: Any, sections: list[Any], log: list[Any]) -> dict[str, Any]:
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


def percent(score: float, max_score: float) -> float | None:
    return round(100.0 * score / max_score, 2) if max_score else None


def rounded(value: float | None) -> float | None:
    return None if value is None else round(value, DECIMALS)


_TAGS = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


def stem_preview(stem: str) -> str:
    """The question's stem as plain text (no markup), its first STEM_PREVIEW_LENGTH characters."""
    text = _SPACE.sub(" ", html.unescape(_TAGS.sub(" ", stem))).strip()
    return text if len(text) <= STEM_PREVIEW_LENGTH else text[:STEM_PREVIEW_LENGTH - 1].rstrip() + "…"


def csv_lines(*parts: Iterable[list[Any]]) -> Iterator[str]:
    """Each row as one CSV line; a cell a spreadsheet would run as a formula is quoted (`export.as_text_cell`)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in itertools.chain(*parts):
        writer.writerow(["" if value is None else as_text_cell(value) for value in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
