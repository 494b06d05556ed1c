"""Staff's use cases on one student's session: staff ops (pause, resume, extra time, force submit, reopen, notes,
grades, releasing marks) and the session's replay; and releasing the marks of every session of an assignment.

Staff ops are written like a student's ops: in the session's own log, in one transaction, exactly once per op_id,
and pushed to the student's devices after the commit (through `SessionService`'s writer and listeners).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from html import unescape
from typing import Any

from examsync.domain.content import Test
from examsync.domain.errors import ForbiddenError, NotFoundError, TooManyOpsError
from examsync.domain.records import APPLIED, DUPLICATE, SUPERSEDED, intent_order
from examsync.domain.staff_op_parsing import SentStaffOp, read_staff_op
from examsync.domain.staff_ops import Staff, apply_staff_batch, entry_by
from examsync.services.assignments import owned_assignment
from examsync.services.sessions import SessionService, _Writer
from examsync.store import classes as classes_store, sessions as store, staff as staff_store
from examsync.store.database import Actor
from examsync.verify import chain_status

STEM_PREVIEW_LENGTH = 120
# The namespace of the op_ids of an assignment's release of marks (one per session: uuid5 of assignment/session).
RELEASE_NAMESPACE = uuid.UUID("6f1d3c52-8a0e-4b7f-9c2d-5e4a3b2c1d0e")


@dataclass
class StaffService:
    sessions: SessionService

    def apply_staff_ops(self, actor: Actor, session_id: str, raw_ops: list[Any]) -> dict[str, Any]:
        """Apply a batch of staff ops to one session in one transaction; each op gets its own result."""
        _require_staff(actor)
        limit = self.sessions.max_ops_per_batch
        if len(raw_ops) > limit:
            raise TooManyOpsError(f"a batch holds at most {limit} ops; send the rest in another batch", limit=limit)
        batch = [read_staff_op(raw) for raw in raw_ops]

        def apply(writer: _Writer) -> dict[str, Any]:
            who = Staff(actor.user_id, staff_store.display_name(writer.connection, actor.user_id))
            return self._apply(writer, actor, session_id, batch, who)

        return self.sessions._write(actor, apply, len(raw_ops))

    def release_assignment_marks(self, actor: Actor, assignment_id: str) -> dict[str, Any]:
        """The staff op `release_marks` on every session of the assignment, in one transaction. Each session's op
        has an op_id derived from the assignment and the session, so a repeated release answers `duplicate` for
        the sessions released before and releases only the sessions that came since."""
        _require_staff(actor)

        def release(writer: _Writer) -> dict[str, Any]:
            connection = writer.transaction.writing()
            owned_assignment(connection, actor, assignment_id)
            who = Staff(actor.user_id, staff_store.display_name(connection, actor.user_id))
            counts = {"sessions": 0, "released": 0, "already_released": 0, "nothing_to_release": 0}
            rejected = []
            rows = classes_store.assignment_sessions(connection, assignment_id)
            for row in rows:
                op_id = str(uuid.uuid5(RELEASE_NAMESPACE, f"{assignment_id}/{row['id']}"))
                sent = read_staff_op({"op_id": op_id, "type": "release_marks"})
                try:
                    result = self._apply(writer, actor, row["id"], [sent], who)["results"][0]
                except NotFoundError:
                    continue  # a student no longer in the teacher's classes: their session is not the teacher's
                counts["sessions"] += 1
                if result["status"] in (APPLIED, DUPLICATE):
                    counts["released" if result["status"] == APPLIED else "already_released"] += 1
                elif result.get("code") == "marks_already_released":
                    counts["already_released"] += 1
                elif result.get("code") == "not_marked_by_staff":
                    counts["nothing_to_release"] += 1
                else:
                    rejected.append({"session_id": row["id"], "code": result.get("code"),
                                     "message": result.get("message")})
            return {"assignment_id": assignment_id, **counts, "rejected": rejected}

        return self.sessions._write(actor, release)

    def _apply(self, writer: _Writer, actor: Actor, session_id: str, batch: list[SentStaffOp],
               who: Staff) -> dict[str, Any]:
        """Apply a batch of staff ops to one session within the writer's transaction and save it."""
        connection, now = writer.connection, writer.now
        session = self.sessions._load(connection, actor, session_id, for_update=True)
        receipts = store.receipts(connection, session_id, session.user_id,
                                  [sent.op_id for sent in batch if sent.op_id])
        outcome = apply_staff_batch(session, batch, receipts, now, who)
        if session.retracted_score is not None:
            staff_store.retract_performance(writer.transaction.writing(), session.user_id,
                                            session.retracted_score, now)
            session.retracted_score = None
        writer.save(session, changed_sections=outcome.changed_section_ids, fingerprints=outcome.new_receipts)
        return {"results": [r.as_dict() for r in outcome.results], "version": session.version,
                "last_seq": session.last_seq}

    def replay(self, actor: Actor, session_id: str) -> dict[str, Any]:
        """Every entry of the session's log, whether its chain verifies, and the questions it refers to."""
        _require_staff(actor)
        with self.sessions.db.transaction(actor, write=False) as connection:
            row = self.sessions._row(connection, actor, session_id)
            test = self.sessions.content.get(connection, row["test_id"], row["content_version"])
            if test is None:
                raise NotFoundError(f"no test with id {row['test_id']!r}")
            entries = [entry.as_dict() for entry in store.history(connection, session_id, None)]
            name = staff_store.display_name(connection, row["user_id"])
        chain = chain_status(session_id, row["user_id"], entries, row["last_hash"])
        chain.pop("problem")
        replaced = _superseded_answers(entries)
        return {
            "session_id": session_id,
            "user_id": row["user_id"],
            "display_name": name,
            "test_id": test.id,
            "test_title": test.title,
            "status": row["status"],
            "chain": chain,
            "entries": [_replay_entry(entry, entry["seq"] in replaced) for entry in entries],
            "questions": _questions(test),
        }


REPLAY_FIELDS = ("seq", "kind", "status", "code", "message", "question_id", "section_id", "payload", "client_time",
                 "effective_time", "server_time", "device_id", "op_id")


def _replay_entry(entry: dict[str, Any], superseded: bool) -> dict[str, Any]:
    return {**{name: entry.get(name) for name in REPLAY_FIELDS}, "by": entry_by(entry), "superseded": superseded}


def _superseded_answers(entries: list[dict[str, Any]]) -> set[int]:
    """The seqs of answers that a newer intent for the same question replaced (or that lost on arrival)."""
    latest: dict[str, tuple[tuple[int, int, int, str], int]] = {}
    candidates: list[dict[str, Any]] = [e for e in entries if e["kind"] == "answer"
                                        and e["status"] in (APPLIED, SUPERSEDED) and e.get("question_id")]
    for entry in candidates:
        payload = entry.get("payload") or {}
        order = intent_order(entry.get("effective_time") or 0, entry.get("client_time") or 0,
                             int(payload.get("batch_index", 0) or 0), entry.get("op_id") or "")
        known = latest.get(entry["question_id"])
        if known is None or order > known[0]:
            latest[entry["question_id"]] = (order, entry["seq"])
    winners = {seq for _, seq in latest.values()}
    return {entry["seq"] for entry in candidates if entry["seq"] not in winners}


def _questions(test: Test) -> list[dict[str, Any]]:
    out = []
    position = 0
    for section in test.sections:
        for question in section.questions:
            position += 1
            out.append({"id": question.id, "section_id": section.id, "position": position,
                        "stem_preview": stem_preview(question.stem),
                        "choices": [{"id": c.id, "text": c.text} for c in question.choices]})
    return out


def stem_preview(stem: str, length: int = STEM_PREVIEW_LENGTH) -> str:
    """A stem as plain text, at most `length` characters (an ellipsis marks a cut)."""
    text = " ".join(unescape(re.sub(r"<[^>]*>", " ", stem)).split())
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def _require_staff(actor: Actor) -> None:
    if not actor.is_staff:
        raise ForbiddenError("only teachers and admins can do this")
