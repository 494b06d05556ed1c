"""Grade passback (LTI AGS): the scores of completed attempts of LTI-linked assignments, posted to their line items.

Nothing here is told "post this": what to post is derived from committed state, so a crash between an attempt's
completion and its post loses nothing.
- `reconcile` compares each linked student's newest completed attempt (its score, and whether an essay awaits
  marking) with the latest score queued for them on the line item, and queues the new one when they differ. It
  runs for the sessions a committed change named (`on_change` notes them) and over everything periodically (at
  start-up and every `lti_grade_reconcile_seconds`), so completion, expiry, force-submission, the sweep and a
  staff `grade` all lead here whichever instance did them.
- `send_due` drains the outbox: it claims an entry, posts it (creating the line item first if the launch gave only
  the course's container), and records the outcome: posted; retried later with backoff and jitter (network errors,
  5xx, 429, honouring Retry-After); or failed for good on a permanent 4xx, kept for staff to retry.
"""

from __future__ import annotations

import logging
import random
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy.exc import IntegrityError

from examsync.domain import grade_passback as rules
from examsync.domain.events import SessionChange
from examsync.lti.advantage import LINEITEM_SCOPE, SCORE_SCOPE, LtiServiceError, create_line_item, post_score, score
from examsync.lti.service_tokens import ServiceTokens
from examsync.services.assignments import staffed_assignment
from examsync.metrics import AppMetrics
from examsync.store import classes as class_store
from examsync.store import lti as lti_store
from examsync.store import lti_grades as store
from examsync.store.database import SYSTEM, Actor, Database

log = logging.getLogger("examsync.lti")

LEASE_MS = 2 * 60 * 1000  # a sender that died while posting lets go of its entry after this
BATCH = 200


@dataclass
class GradeSync:
    db: Database
    tokens: ServiceTokens
    http: httpx.Client
    clock: Callable[[], int]
    metrics: AppMetrics
    # A completed session's score as its student sees it (SessionService.student_score): a mark staff have not
    # released reaches the LMS no sooner than the student.
    visible_score: Callable[[str], dict[str, Any] | None]
    unit_random: Callable[[], float] = random.random
    _noted: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # ----- what to post ------------------------------------------------------

    def on_change(self, change: SessionChange) -> None:
        """A `SessionService` listener: a session that is completed after a commit is reconciled on the next pass
        (not here: the listener runs in the request that committed it)."""
        if change.state.get("status") == "completed":
            with self._lock:
                self._noted.add(change.session_id)

    def reconcile_noted(self) -> int:
        with self._lock:
            noted, self._noted = list(self._noted), set()
        return self.reconcile(session_ids=noted) if noted else 0

    def reconcile(self, *, session_ids: list[str] | None = None, assignment_id: str | None = None) -> int:
        """Queue the scores that differ from the latest queued ones; how many were queued."""
        with self.db.transaction(SYSTEM, write=False) as connection:
            attempts = store.completed_attempts(connection, assignment_id=assignment_id, session_ids=session_ids)
            if session_ids is not None:  # a noted session may not be its student's newest attempt: read theirs
                keys = {(a["line_item_id"], a["user_id"]) for a in attempts}
                attempts = [a for a in store.completed_attempts(connection, user_ids=sorted({k[1] for k in keys}))
                            if (a["line_item_id"], a["user_id"]) in keys]
            newest = {(a["line_item_id"], a["user_id"]): a for a in attempts}  # newest completion last
            latest = store.latest_entries(connection, sorted({key[0] for key in newest}))
        queued = 0
        for key, attempt in newest.items():
            wanted = rules.score_of(self.visible_score(attempt["session_id"]), attempt["score_maximum"])
            if rules.differs(latest.get(key), wanted):
                queued += self._enqueue(attempt, wanted)
        return queued

    def _enqueue(self, attempt: Any, wanted: rules.Score) -> int:
        now = self.clock()
        try:
            with self.db.transaction(SYSTEM, write=True) as connection:
                latest = store.latest_entry(connection, attempt["line_item_id"], attempt["user_id"])
                if not rules.differs(latest, wanted):
                    return 0  # another instance queued it meanwhile
                # The platform keeps the score with the latest timestamp: each one is later than the one before.
                timestamp = max(now, latest["timestamp"] + 1) if latest is not None else now
                store.enqueue(connection, {
                    "id": str(uuid.uuid4()), "line_item_id": attempt["line_item_id"], "user_id": attempt["user_id"],
                    "session_id": attempt["session_id"], "score_given": wanted.score_given,
                    "score_maximum": wanted.score_maximum, "activity_progress": wanted.activity_progress,
                    "grading_progress": wanted.grading_progress, "timestamp": timestamp, "next_attempt_at": now}, latest)
        except IntegrityError:
            return 0  # another instance queued the same change at the same moment
        return 1

    # ----- posting -----------------------------------------------------------

    def send_due(self) -> int:
        """Post the entries whose time has come; how many were posted."""
        now = self.clock()
        with self.db.transaction(SYSTEM, write=False) as connection:
            entries = store.due(connection, now, BATCH)
        posted = 0
        for entry in entries:
            with self.db.transaction(SYSTEM, write=True) as connection:
                if not store.claim(connection, entry, now, now + LEASE_MS):
                    continue
                platform = lti_store.platform(connection, entry["platform_id"])
            posted += self._send(entry, platform)
        self.observe_depth()
        return posted

    def _send(self, entry: Any, platform: Any) -> int:
        scopes = list(entry["scopes"] or [SCORE_SCOPE, LINEITEM_SCOPE])
        try:
            lineitem_url = entry["lineitem_url"] or self._create_line_item(entry, platform, scopes)
            body = score(user_sub=entry["sub"], score_given=entry["score_given"],
                         score_maximum=entry["score_maximum"], activity_progress=entry["activity_progress"],
                         grading_progress=entry["grading_progress"], timestamp_ms=entry["timestamp"])
            self.tokens.call(platform, scopes, lambda token: post_score(
                lineitem_url=lineitem_url, body=body, access_token=token, client=self.http))
        except LtiServiceError as error:
            now = self.clock()
            retry_at = None if error.permanent else now + int(1000 * rules.retry_delay_s(
                entry["attempts"] + 1, error.retry_after, self.unit_random()))
            with self.db.transaction(SYSTEM, write=True) as connection:
                store.mark_failed(connection, entry["id"], str(error), retry_at=retry_at)
            self.metrics.lti_grade_posts.labels("retry" if retry_at else "failed").inc()
            log.warning("posting a score to %s failed (%s): %s", platform["issuer"],
                        "retried later" if retry_at else "given up", error)
            return 0
        with self.db.transaction(SYSTEM, write=True) as connection:
            store.mark_posted(connection, entry["id"], self.clock())
        self.metrics.lti_grade_posts.labels("posted").inc()
        return 1

    def _create_line_item(self, entry: Any, platform: Any, scopes: list[str]) -> str:
        if not entry["lineitems_url"]:
            raise LtiServiceError("the launch gave neither a line item nor the course's line items", status=400)
        url = self.tokens.call(platform, scopes, lambda token: create_line_item(
            lineitems_url=entry["lineitems_url"], label=entry["label"], score_maximum=entry["score_maximum"],
            resource_link_id=entry["resource_link_id"], access_token=token, client=self.http))
        with self.db.transaction(SYSTEM, write=True) as connection:
            return store.set_lineitem_url(connection, entry["line_item_id"], url)

    def run_once(self) -> int:
        """One pass of the background loop (tests drive it directly): the noted sessions, then the outbox."""
        self.reconcile_noted()
        return self.send_due()

    def observe_depth(self) -> None:
        with self.db.transaction(SYSTEM, write=False) as connection:
            depth = store.depth(connection)
        for state, count in depth.items():
            self.metrics.lti_grade_outbox.labels(state).set(count)

    # ----- what staff see ----------------------------------------------------

    def view(self, actor: Actor, assignment_id: str) -> dict[str, Any]:
        with self.db.transaction(actor, write=False) as connection:
            assignment = staffed_assignment(connection, actor, assignment_id, "see grade passback")
        with self.db.transaction(SYSTEM, write=False) as connection:
            items = {row["id"]: row for row in lti_store.line_items_of_assignment(connection, assignment_id)}
            latest = store.latest_entries(connection, list(items))
            students = {row["user_id"]: row for row in class_store.roster(connection, assignment["class_id"])}
            people = store.names(connection, sorted({user for _, user in latest} - set(students)))
        rows = []
        for (line_item_id, user_id), entry in sorted(latest.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            person = students.get(user_id) or people.get(user_id) or {}
            rows.append({"user_id": user_id, "display_name": person.get("display_name", ""),
                         "email": person.get("email", ""), "line_item_id": line_item_id,
                         "session_id": entry["session_id"], "score_given": entry["score_given"],
                         "score_maximum": entry["score_maximum"], "grading_progress": entry["grading_progress"],
                         "state": entry["state"], "attempts": entry["attempts"], "last_error": entry["last_error"],
                         "queued_at": entry["timestamp"], "posted_at": entry["posted_at"],
                         "next_attempt_at": entry["next_attempt_at"] if entry["state"] == rules.PENDING else None})
        waiting = sorted(set(students) - {user for _, user in latest},
                         key=lambda u: (students[u]["display_name"], students[u]["email"]))
        return {"assignment_id": assignment_id,
                "line_items": [{"id": i["id"], "label": i["label"], "lineitem_url": i["lineitem_url"],
                                "score_maximum": i["score_maximum"]} for i in items.values()],
                "scores": rows,
                "not_completed": [{"user_id": u, "display_name": students[u]["display_name"],
                                   "email": students[u]["email"]} for u in waiting]}

    def retry(self, actor: Actor, assignment_id: str) -> dict[str, Any]:
        with self.db.transaction(actor, write=False) as connection:
            staffed_assignment(connection, actor, assignment_id, "see grade passback")
        with self.db.transaction(SYSTEM, write=True) as connection:
            retried = store.retry_failed(connection, assignment_id, self.clock())
        return {"retried": retried}
