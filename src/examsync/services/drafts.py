"""Tests written in the browser: drafts saved as a teacher types, published through the same validation and the same
versioned upsert as an import (docs/api.md "Drafts", docs/content-format.md "Writing tests in the browser").

A draft's `document` is examsync's content document (docs/content-format.md) holding one test, so one validator,
`parse_document`, serves files, packages and the editor. A save names the version it was made from; a save made from
an older version is refused with `draft_conflict` and the current version, never merged. Publishing writes a new
content version of the test, or nothing at all: a document `parse_document` refuses, or one that removes questions
students have sat, answers 422 `invalid_content` naming the section, the question and the rule.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Callable

from examsync import content_import as core
from examsync.content_formats import yaml_export
from examsync.content_import import ContentError
from examsync.domain.errors import DraftConflictError, ForbiddenError, InvalidContentError, NotFoundError
from examsync.store import drafts as store
from examsync.store.content import set_test_flags, sub_skill_names, tests_by_reference
from examsync.store.database import Actor, Database
from examsync.store.imports import sub_skill_slugs

# How the messages of a refused publish name the document.
DRAFT_PLACE = Path("draft")
EDITS_ANY_TEST = ("admin", "system")


def new_document() -> dict[str, Any]:
    """A new test as the editor starts it: one section, no questions yet, a slug the teacher may change."""
    return {"tests": [{"slug": f"test-{uuid.uuid4().hex[:8]}", "title": "", "mode": "practice",
                       "sections": [{"key": "s1", "title": "Section 1", "questions": []}]}]}


def _draft_out(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "test_id": row["test_id"], "owner_id": row["owner_id"], "version": row["version"],
            "updated_at": row["updated_at"], "document": row["document"]}


def _title(document: Any) -> str:
    try:
        title = document["tests"][0]["title"]
    except (KeyError, IndexError, TypeError):
        return ""
    return title if isinstance(title, str) else ""


class DraftService:
    def __init__(self, database: Database, clock: Callable[[], int]) -> None:
        self.database = database
        self.clock = clock

    @staticmethod
    def _staff(actor: Actor) -> None:
        if not actor.is_staff:
            raise ForbiddenError("only teachers and admins can do this")

    @staticmethod
    def _may_edit(actor: Actor, test: dict[str, Any]) -> None:
        if actor.role not in EDITS_ANY_TEST and test["owner_id"] != actor.user_id:
            raise ForbiddenError("a teacher edits the tests they own; ask an admin to edit this one")

    def _sub_skills(self, connection: Any) -> list[dict[str, str]]:
        names = sub_skill_names(connection)
        return [{"slug": slug, "name": info["name"], "skill_area": info["skill_area_name"]}
                for slug, info in sorted(names.items(), key=lambda item: (item[1]["skill_area_name"], item[1]["name"]))]

    def create(self, actor: Actor, test_id: str | None) -> dict[str, Any]:
        """A draft of a new test, or of an existing test the actor may edit, filled from its current content."""
        self._staff(actor)
        with self.database.transaction(actor, write=True) as connection:
            if test_id is None:
                document = new_document()
            else:
                test = store.test_row(connection, test_id)
                if test is None:
                    raise NotFoundError(f"no test {test_id!r}")
                self._may_edit(actor, test)
                [content] = tests_by_reference(connection, [test_id])
                assert content is not None
                document = {"tests": [yaml_export.test_document(content)]}
            row = {"id": str(uuid.uuid4()), "owner_id": actor.user_id, "test_id": test_id, "document": document,
                   "version": 1, "updated_at": self.clock()}
            store.insert_draft(connection, row)
            return _draft_out(row) | {"sub_skills": self._sub_skills(connection)}

    def catalogue(self, actor: Actor) -> list[dict[str, Any]]:
        """Every test with its content version, and whether the actor may open it in the editor."""
        self._staff(actor)
        with self.database.transaction(actor, write=False) as connection:
            rows = store.staff_catalogue(connection)
        return [r | {"editable": actor.role in EDITS_ANY_TEST or r["owner_id"] == actor.user_id} for r in rows]

    def list_drafts(self, actor: Actor) -> list[dict[str, Any]]:
        self._staff(actor)
        with self.database.transaction(actor, write=False) as connection:
            rows = store.list_drafts(connection, actor)
        return [{"id": r["id"], "test_id": r["test_id"], "owner_id": r["owner_id"], "title": _title(r["document"]),
                 "version": r["version"], "updated_at": r["updated_at"]} for r in rows]

    def _row(self, connection: Any, actor: Actor, draft_id: str) -> dict[str, Any]:
        row = store.draft_row(connection, actor, draft_id)
        if row is None:
            raise NotFoundError(f"no draft {draft_id!r}")
        return row

    def get(self, actor: Actor, draft_id: str) -> dict[str, Any]:
        self._staff(actor)
        with self.database.transaction(actor, write=False) as connection:
            return _draft_out(self._row(connection, actor, draft_id)) | {"sub_skills": self._sub_skills(connection)}

    def save(self, actor: Actor, draft_id: str, version: int, document: dict[str, Any]) -> dict[str, Any]:
        """Write the document if the draft is still at `version`; otherwise 409 `draft_conflict` with the current one."""
        self._staff(actor)
        now = self.clock()
        with self.database.transaction(actor, write=True) as connection:
            row = self._row(connection, actor, draft_id)
            if row["version"] != version or not store.save_draft(connection, draft_id, version, document, now):
                raise DraftConflictError(
                    f"this draft was saved elsewhere meanwhile (version {row['version']}, yours was made from "
                    f"{version}); reload it, or save yours again from version {row['version']} to overwrite it",
                    version=row["version"])
        return {"version": version + 1, "updated_at": now}

    def delete(self, actor: Actor, draft_id: str) -> None:
        self._staff(actor)
        with self.database.transaction(actor, write=True) as connection:
            self._row(connection, actor, draft_id)
            store.delete_draft(connection, draft_id)

    def publish(self, actor: Actor, draft_id: str) -> dict[str, Any]:
        """Validate the draft as an import validates a file and write it as the test's next content version."""
        self._staff(actor)
        with self.database.owner_transaction() as connection:
            draft = self._row(connection, actor, draft_id)
            document = draft["document"]
            if not isinstance(document, dict) or "skill_areas" in document:
                raise InvalidContentError(f"{DRAFT_PLACE}: a draft holds `tests` only; it uses the sub-skills that "
                                          "exist (new ones come with an import)")
            if not isinstance(document.get("tests"), list) or len(document["tests"]) != 1:
                raise InvalidContentError(f"{DRAFT_PLACE}: field 'tests': a draft holds exactly one test")
            known = sub_skill_slugs(connection)
            try:
                _, [test] = core.parse_document(DRAFT_PLACE, document, known)
            except ContentError as error:
                raise InvalidContentError(str(error)) from None
            if test["self_study"] is not None and actor.role not in EDITS_ANY_TEST:
                raise InvalidContentError(
                    f"{DRAFT_PLACE}: test {test['slug']!r}: field 'self_study': only an admin decides whether students "
                    "may start a test on their own (PATCH /api/v1/tests/{test_id}); leave it out")
            existing = store.test_row(connection, draft["test_id"]) if draft["test_id"] else None
            if existing is not None:
                self._may_edit(actor, existing)
                if existing["slug"] != test["slug"]:
                    raise InvalidContentError(
                        f"{DRAFT_PLACE}: test {test['slug']!r}: field 'slug': a published test keeps its slug "
                        f"{existing['slug']!r}")
                test["position"] = existing["position"]
            else:
                if store.test_by_slug(connection, test["slug"]) is not None:
                    raise InvalidContentError(
                        f"{DRAFT_PLACE}: test {test['slug']!r}: field 'slug': a test with this slug exists already; "
                        "choose another")
                test["position"] = store.next_position(connection)
            try:
                outcome = core._upsert_test(connection, test)
            except ContentError as error:
                raise InvalidContentError(f"{DRAFT_PLACE}: {error}") from None
            if outcome == "created":
                # A teacher's new test, as one imported over the API: theirs, out of the catalogue, and (unless an
                # admin's draft said otherwise) taken only as an assignment, until an admin publishes it.
                set_test_flags(connection, test["id"], {"owner_id": draft["owner_id"], "in_catalogue": False,
                                                        "self_study": bool(test["self_study"])})
            store.link_draft(connection, draft_id, test["id"])
            published = store.test_row(connection, test["id"])
            assert published is not None
        return {"test_id": test["id"], "content_version": published["content_version"], "outcome": outcome}
