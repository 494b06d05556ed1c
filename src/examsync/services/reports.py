"""Reports for staff: a class's gradebook, an assignment's results, its item analysis and its export.

Who may read them: the class's owner, or an admin; another teacher gets 404 `not_found` (the class might as well
not exist), a student 403 `forbidden`. Correct answers appear in the item analysis, which only staff read.

Which attempt counts for a student: `domain.statistics.graded_attempt` (the highest-scoring completed attempt).
The item analysis reads exactly the attempts that the results grade. A student *saw* a question in that attempt when
any of their ops reached it (a navigate, which the web app sends whenever it shows a question, an answer, a flag,
a note, an elimination): its section's state holds a register for it. Formulas: docs/item-analysis.md.
The answers are built from the rows by report_rows.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from examsync.domain.content import Test, is_correct, is_marked_by_staff, question_score
from examsync.domain.errors import ForbiddenError, NotFoundError
from examsync.domain.statistics import (
    VISIT_ENDS,
    ItemResponse,
    item_statistics,
    time_on_questions,
)
from examsync.services import report_rows as build
from examsync.store import classes, reports as store
from examsync.store.content import ContentCache, sub_skill_names
from examsync.store.database import Actor, Database

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
        slugs = sorted({q.sub_skill for q in build.questions(test)}, key=lambda s: (names.get(s, {}).get("name", s), s))
        header = ["user_id", "display_name", "email", "status", "session_id", "attempts", "score", "max_score",
                  "percent", "submitted_at",
                  *(f"{names.get(slug, {}).get('name', slug)} (%)" for slug in slugs)]
        rows = ([row["user_id"], row["display_name"], row["email"], row["status"], row["session_id"], row["attempts"],
                 row["score"], row["max_score"], row["percent"], row["submitted_at"],
                 *((row["by_sub_skill"].get(slug) or {}).get("percent") for slug in slugs)]
                for row in report["students"])
        return build.csv_lines([header], rows)

    def _results(self, actor: Actor, assignment_id: str) -> tuple[dict[str, Any], Test, dict[str, dict[str, str]]]:
        with self.db.transaction(actor, write=False) as connection:
            assignment, _ = self._assignment(connection, actor, assignment_id)
            test = self._test(connection, assignment["test_id"])
            students = classes.roster(connection, assignment["class_id"])
            sessions = store.sessions_of(connection, [assignment_id], [s["user_id"] for s in students])
            names = sub_skill_names(connection)
        return build.results(students, sessions, names), test, names

    # ----- the item analysis -------------------------------------------------------------------------------

    def items(self, actor: Actor, assignment_id: str) -> list[dict[str, Any]]:
        """One row per question, in the test's order, over the graded completed attempts."""
        with self.db.transaction(actor, write=False) as connection:
            assignment, _ = self._assignment(connection, actor, assignment_id)
            test = self._test(connection, assignment["test_id"])
            students = classes.roster(connection, assignment["class_id"])
            sessions = store.sessions_of(connection, [assignment_id], [s["user_id"] for s in students])
            graded = build.graded_completed(sessions)
            ids = [row["id"] for row in graded]
            states = store.section_states(connection, ids)
            log = store.logs(connection, ids, kinds=["navigate", *sorted(VISIT_ENDS)])
        answers = {row["id"]: build.final_answers(states.get(row["id"], [])) for row in graded}
        times = {row["id"]: time_on_questions(log[row["id"]], end_at=row["completed_at"]) for row in graded}
        grades = {row["id"]: build.grades(states.get(row["id"], [])) for row in graded}
        out = []
        for question in build.questions(test):
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
                    choices=build.chosen(answer) if question.choices else frozenset(),
                    time_ms=times[row["id"]].get(question.id),
                ))
            stats = item_statistics(responses, [c.id for c in question.choices])
            texts = {c.id: c.text for c in question.choices}
            correct_ids = build.chosen(question.correct) if question.choices else frozenset()
            out.append({
                "question_id": question.id,
                "section_id": question.section_id,
                "kind": question.kind,
                "sub_skill": question.sub_skill,
                "stem_preview": build.stem_preview(question.stem),
                "seen": stats["seen"],
                "answered": stats["answered"],
                "pending": pending,
                "correct": stats["correct"],
                "facility": build.rounded(stats["facility"]),
                "discrimination": build.rounded(stats["discrimination"]),
                "upper_lower": build.rounded(stats["upper_lower"]),
                "choices": [{**{k: build.rounded(v) if k.endswith("share") else v for k, v in choice.items()},
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
            "assignment": {**build.assignment_settings(assignment), "class_name": class_["name"],
                           "overrides": [{"user_id": o["user_id"], "changes": o["changes"]} for o in changes]},
            "test": None if test is None else dict(test),
            "students": [{"user_id": s["user_id"], "display_name": s["display_name"], "email": s["email"]}
                         for s in students],
            "sessions": [build.session_export(row, states.get(row["id"], []), log[row["id"]]) for row in sessions],
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
                "cells": {a["id"]: build.cell(attempts.get((s["user_id"], a["id"]), [])) for a in work},
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
