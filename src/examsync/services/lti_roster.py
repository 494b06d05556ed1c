"""Roster sync (LTI NRPS): a class's members from its course's membership list, so the proctor page lists the
students who have not launched yet.

Runs after an instructor's launch (in the background: the launch does not wait for it) and on demand. Every member
becomes an account as a launch would make it (matched by issuer and sub; name, email and role as at launch). Active
Learners are enrolled as students; others (instructors, teaching assistants) get an account only: a class has one
teacher, its owner. A student the course enrolled (by a sync or by launching) who is no longer an active Learner of
the course is taken out of the class; a student who joined by code is never touched. Removal happens only after the
whole list was read, every page of it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from examsync.domain import grade_passback as rules
from examsync.domain.errors import (
    DomainError, ForbiddenError, LtiPlatformFailedError, LtiRosterUnavailableError, NotFoundError,
)
from examsync.domain.lti import examsync_role, person_email, person_name
from examsync.lti.advantage import MEMBERSHIPS_SCOPE, LtiServiceError, memberships
from examsync.lti.service_tokens import ServiceTokens
from examsync.metrics import AppMetrics
from examsync.services.lti_launch import account
from examsync.store import classes as class_store
from examsync.store import lti as store
from examsync.store.database import SYSTEM, Actor, Database

log = logging.getLogger("examsync.lti")


@dataclass
class RosterSync:
    db: Database
    tokens: ServiceTokens
    clock: Callable[[], int]
    metrics: AppMetrics

    def sync_as(self, actor: Actor, class_id: str) -> dict[str, Any]:
        """On demand: the class's teacher or an admin."""
        if not actor.is_staff:
            raise ForbiddenError("only teachers and admins can sync a class's roster")
        with self.db.transaction(actor, write=False) as connection:
            if not class_store.is_staff_of(actor, class_store.class_row(connection, actor, class_id)):
                raise NotFoundError("no such class")
        return self.sync(class_id)

    def sync(self, class_id: str) -> dict[str, Any]:
        """Read every course of the class that offers its members and apply them: {added, removed, members}."""
        with self.db.transaction(SYSTEM, write=False) as connection:
            courses = [(c, store.platform(connection, c["platform_id"]))
                       for c in store.contexts_of_class(connection, class_id) if c["memberships_url"]]
        if not courses:
            raise LtiRosterUnavailableError("this class is no LMS course offering its member list (LTI NRPS): "
                                            "launch examsync from the course as its instructor first")
        totals = {"added": 0, "removed": 0, "members": 0}
        for course, platform in courses:
            try:
                members = self.tokens.call(platform, [MEMBERSHIPS_SCOPE], lambda token: memberships(
                    memberships_url=course["memberships_url"], access_token=token, client=self.tokens.http))
            except LtiServiceError as error:
                self.metrics.lti_roster_syncs.labels("failed").inc()
                raise LtiPlatformFailedError(f"the LMS did not give the course's members: {error}",
                                             status=error.status) from None
            with self.db.transaction(SYSTEM, write=True) as connection:
                counts = self._apply(connection, class_id, platform, members)
            for key, value in counts.items():
                totals[key] += value
        self.metrics.lti_roster_syncs.labels("done").inc()
        return totals

    def sync_quietly(self, class_id: str) -> None:
        """After an instructor's launch: a failure is logged, never the launch's."""
        try:
            self.sync(class_id)
        except Exception:
            log.exception("roster sync of class %s after an instructor's launch failed", class_id)

    def _apply(self, connection: Any, class_id: str, platform: Any, members: list[dict[str, Any]]) -> dict[str, int]:
        now = self.clock()
        learners: set[str] = set()
        added = 0
        for member in members:
            sub = member.get("user_id")
            if not isinstance(sub, str) or not sub.strip() or len(sub) > 255 or not rules.is_active(member):
                continue
            try:
                user_id, _ = account(connection, platform["issuer"], sub=sub, **_person(member), now=now)
            except DomainError:  # a disabled account stays as it is
                continue
            if not rules.is_learner(member.get("roles")):
                continue
            learners.add(user_id)
            if class_store.enrol(connection, class_id, user_id, now):
                store.add_member(connection, class_id, user_id, platform["id"])
                added += 1
        removed = 0
        for user_id in store.members_from(connection, class_id, platform["id"]):
            if user_id not in learners:
                class_store.unenrol(connection, class_id, user_id)
                store.remove_member(connection, class_id, user_id)
                removed += 1
        return {"added": added, "removed": removed, "members": len(learners)}



def _person(member: dict[str, Any]) -> dict[str, str]:
    """A member's name, email and examsync role, read as a launch reads them."""
    return {"name": person_name(member), "email": person_email(member), "role": examsync_role(member.get("roles"))}
