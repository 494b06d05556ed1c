"""Reading test content, with a cache keyed by each test's content version."""

from __future__ import annotations

import re
import threading
import uuid
from typing import Any

from sqlalchemy import Connection, ColumnElement, bindparam, delete, exists, or_, select, true, update

from examsync.domain.content import Choice, Question, Section, Test
from examsync.domain.errors import NotFoundError
from examsync.store.database import Actor
from examsync.store.tables import (
    content_assets, questions, sub_skills, skill_areas, test_sections, test_shares, tests, users,
)


_TEST = select(tests).where(tests.c.id == bindparam("test_id"))


class ContentCache:
    """Tests change only on import; each read checks the version in one small query."""

    def __init__(self) -> None:
        self._tests: dict[str, Test] = {}
        self._versions: dict[str, int] = {}
        self._lock = threading.Lock()

    def get(self, connection: Connection, test_id: str, version: int | None = None) -> Test | None:
        """The test; a caller that already read its content version saves the query."""
        if version is not None:
            with self._lock:
                if self._versions.get(test_id) == version:
                    return self._tests[test_id]
        row = connection.execute(_TEST, {"test_id": test_id}).mappings().first()
        if row is None:
            return None
        with self._lock:
            if self._versions.get(test_id) == row["content_version"]:
                return self._tests[test_id]
        test = _load_test(connection, row)
        with self._lock:
            self._tests[test_id], self._versions[test_id] = test, row["content_version"]
        return test


def _load_test(connection: Connection, row: Any) -> Test:
    section_rows = connection.execute(
        select(test_sections).where(test_sections.c.test_id == row["id"]).order_by(test_sections.c.position)
    ).mappings().all()
    question_rows = connection.execute(
        select(questions)
        .where(questions.c.section_id.in_([s["id"] for s in section_rows]))
        .order_by(questions.c.position)
    ).mappings().all()
    by_section: dict[str, list[Question]] = {s["id"]: [] for s in section_rows}
    for q in question_rows:
        by_section[q["section_id"]].append(
            Question(
                id=q["id"],
                section_id=q["section_id"],
                key=q["key"],
                kind=q["kind"],
                stem=q["stem"],
                sub_skill=q["sub_skill_slug"],
                points=q["points"],
                choices=tuple(Choice(c["id"], c["text"], c.get("weight")) for c in q["choices"]),
                correct=q["correct"],
                numeric=q["numeric"],
                tolerance=q["tolerance"],
                explanation=q["explanation"],
            )
        )
    return Test(
        id=row["id"],
        slug=row["slug"],
        title=row["title"],
        description=row["description"],
        mode=row["mode"],
        timer_policy=row["timer_policy"],
        allow_untimed=row["allow_untimed"],
        time_multipliers=tuple(row["time_multipliers"]),
        sub_skill=row["sub_skill_slug"],
        break_seconds=row["break_seconds"],
        idle_limit_seconds=row["idle_limit_seconds"],
        sections=tuple(
            Section(s["id"], s["key"], s["title"], s["time_limit_seconds"], tuple(by_section[s["id"]]))
            for s in section_rows
        ),
    )


# ----- who sees which test ------------------------------------------------------------------------------------------
#
# Admins (and the system) see every test. A teacher sees the school's catalogue (`in_catalogue`), the tests they own
# and the tests shared with them. A test someone may not see answers 404, as one that does not exist. (What a student
# lists and starts, self-study tests and tests assigned to them, is SessionService's; here a student is given the
# catalogue.)


def visible_to(actor: Actor) -> ColumnElement[bool]:
    """The condition on `tests` rows that the actor may see."""
    if actor.role in ("admin", "system"):
        return true()
    if actor.role == "teacher":
        shared = exists().where(test_shares.c.test_id == tests.c.id, test_shares.c.user_id == actor.user_id)
        return or_(tests.c.in_catalogue, tests.c.owner_id == actor.user_id, shared)
    return tests.c.in_catalogue


def test_row(connection: Connection, actor: Actor, test_id: str) -> Any:
    """The test's row if the actor may see it, else NotFoundError (a test one may not see does not exist)."""
    row = connection.execute(select(tests).where(tests.c.id == test_id, visible_to(actor))).mappings().first()
    if row is None:
        raise NotFoundError(f"no test with id {test_id!r}")
    return row


def sees_test(connection: Connection, actor: Actor, test_id: str) -> bool:
    """Whether the actor may see (and so export, assign, read the images of) the test."""
    return connection.execute(select(tests.c.id).where(tests.c.id == test_id, visible_to(actor))).first() is not None


def may_manage(actor: Actor, row: Any) -> bool:
    """Its owner and admins may share a test; operators' tests (no owner) only admins."""
    return actor.role in ("admin", "system") or (row["owner_id"] is not None and row["owner_id"] == actor.user_id)


def shares(connection: Connection, test_id: str) -> list[dict[str, Any]]:
    rows = connection.execute(
        select(users.c.id, users.c.display_name, users.c.email).join(test_shares, test_shares.c.user_id == users.c.id)
        .where(test_shares.c.test_id == test_id).order_by(users.c.email)
    ).mappings()
    return [{"user_id": r["id"], "display_name": r["display_name"] or None, "email": r["email"]} for r in rows]


def add_share(connection: Connection, test_id: str, user_id: str) -> None:
    known = connection.execute(select(test_shares.c.test_id).where(
        test_shares.c.test_id == test_id, test_shares.c.user_id == user_id)).first()
    if known is None:
        connection.execute(test_shares.insert().values(test_id=test_id, user_id=user_id))


def remove_share(connection: Connection, test_id: str, user_id: str) -> None:
    connection.execute(delete(test_shares).where(test_shares.c.test_id == test_id, test_shares.c.user_id == user_id))


def set_test_flags(connection: Connection, test_id: str, changes: dict[str, Any]) -> None:
    if changes:
        connection.execute(update(tests).where(tests.c.id == test_id).values(**changes))


def test_owners(connection: Connection, test_ids: list[str]) -> dict[str, str | None]:
    """The owner of each of these tests that exists (None: an operator's test)."""
    if not test_ids:
        return {}
    return dict(connection.execute(select(tests.c.id, tests.c.owner_id).where(tests.c.id.in_(test_ids))).all())


def list_tests(connection: Connection, actor: Actor | None = None) -> list[dict[str, Any]]:
    """The catalogue: tests with their sections and question counts (no questions); only those `actor` may see."""
    query = select(tests).order_by(tests.c.position, tests.c.slug)
    if actor is not None:
        query = query.where(visible_to(actor))
    test_rows = connection.execute(query).mappings().all()
    section_rows = connection.execute(select(test_sections).order_by(test_sections.c.position)).mappings().all()
    counts: dict[str, int] = {}
    for section_id in connection.execute(select(questions.c.section_id)).scalars():
        counts[section_id] = counts.get(section_id, 0) + 1
    sections_of: dict[str, list[dict[str, Any]]] = {}
    for s in section_rows:
        sections_of.setdefault(s["test_id"], []).append({
            "id": s["id"],
            "title": s["title"],
            "time_limit_seconds": s["time_limit_seconds"],
            "question_count": counts.get(s["id"], 0),
        })
    return [
        {
            "id": t["id"],
            "slug": t["slug"],
            "title": t["title"],
            "description": t["description"],
            "mode": t["mode"],
            "timer_policy": t["timer_policy"],
            "allow_untimed": t["allow_untimed"],
            "self_study": t["self_study"],
            "time_multipliers": list(t["time_multipliers"]),
            "sub_skill": t["sub_skill_slug"],
            "owner_id": t["owner_id"],
            "in_catalogue": t["in_catalogue"],
            "sections": sections_of.get(t["id"], []),
        }
        for t in test_rows
    ]


def sub_skill_names(connection: Connection) -> dict[str, dict[str, str]]:
    rows = connection.execute(
        select(sub_skills.c.slug, sub_skills.c.name, skill_areas.c.slug.label("area"), skill_areas.c.name.label("area_name"))
        .join(skill_areas, skill_areas.c.slug == sub_skills.c.skill_area_slug)
    ).mappings()
    return {r["slug"]: {"name": r["name"], "skill_area": r["area"], "skill_area_name": r["area_name"]} for r in rows}


def drills_by_sub_skill(connection: Connection) -> dict[str, list[str]]:
    rows = connection.execute(select(tests.c.id, tests.c.sub_skill_slug).where(tests.c.mode == "drill"))
    drills: dict[str, list[str]] = {}
    for test_id, slug in rows:
        if slug:
            drills.setdefault(slug, []).append(test_id)
    return drills


def test_id_by_reference(connection: Connection, reference: str) -> str | None:
    """The id of the test named by its id or its slug; None if there is none."""
    return connection.execute(
        select(tests.c.id).where(or_(tests.c.id == reference, tests.c.slug == reference))
    ).scalar()


def tests_by_reference(connection: Connection, references: list[str], actor: Actor | None = None) -> list[Test | None]:
    """Each test named by its id or slug, with its sections and questions (None for one that does not exist, or
    that `actor` may not see)."""
    found: list[Test | None] = []
    for reference in references:
        query = select(tests).where(or_(tests.c.id == reference, tests.c.slug == reference))
        if actor is not None:
            query = query.where(visible_to(actor))
        row = connection.execute(query).mappings().first()
        found.append(None if row is None else _load_test(connection, row))
    return found


# ----- images carried over from packages (content_assets) -----------------------------------------------------------


def _referenced_assets(test: dict[str, Any]) -> set[str]:
    """The asset names the test's HTML refers to (its own asset URLs only)."""
    pattern = re.compile(rf"/api/v1/tests/{re.escape(test['id'])}/assets/([0-9a-f]{{16}}\.(?:png|jpg|gif|webp))")
    found: set[str] = set()
    for section in test["sections"]:
        for question in section["questions"]:
            texts = [question.get("stem", ""), question.get("explanation", "")]
            texts += [c.get("text", "") for c in question.get("choices", [])]
            for text in texts:
                found.update(pattern.findall(text or ""))
    return found


def store_assets(connection: Connection, test: dict[str, Any], assets: dict[str, Any]) -> None:
    """Keep the images the imported test refers to: add the new ones (`assets`: common.Asset by name; the same name is
    the same bytes), drop those it no longer refers to. Images it refers to but nobody sent stay as they were."""
    wanted = _referenced_assets(test)
    known = set(connection.execute(
        select(content_assets.c.name).where(content_assets.c.test_id == test["id"])).scalars())
    stale = known - wanted
    if stale:
        connection.execute(delete(content_assets).where(content_assets.c.test_id == test["id"],
                                                        content_assets.c.name.in_(stale)))
    for name in sorted(wanted - known):
        asset = assets.get(name)
        if asset is not None:
            connection.execute(content_assets.insert().values(
                id=str(uuid.uuid4()), test_id=test["id"], name=name, media_type=asset.media_type,
                sha256=asset.sha256, data=asset.data))


def asset(connection: Connection, test_id: str, name: str) -> Any:
    return connection.execute(select(content_assets.c.media_type, content_assets.c.sha256, content_assets.c.data)
                              .where(content_assets.c.test_id == test_id, content_assets.c.name == name)).first()


def assets_of(connection: Connection, test_ids: list[str]) -> dict[str, dict[str, bytes]]:
    """Every image of these tests: test id -> name -> bytes."""
    found: dict[str, dict[str, bytes]] = {}
    if test_ids:
        rows = connection.execute(select(content_assets.c.test_id, content_assets.c.name, content_assets.c.data)
                                  .where(content_assets.c.test_id.in_(test_ids)))
        for test_id, name, data in rows:
            found.setdefault(test_id, {})[name] = bytes(data)
    return found
