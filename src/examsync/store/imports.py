"""Writing imported content: skill areas, sub-skills and tests with their sections and questions, as versioned upserts.

Rows are matched by their stable ids (and areas by slug), so importing the same content twice changes nothing. A
test's `content_version` goes up whenever its content changes; whether it may change at all (sections or questions
removed while students have sessions of it) is the caller's rule (`content_import`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from examsync.store.tables import questions, skill_areas, sub_skills, test_sections, tests, user_test_sessions


def sub_skill_slugs(connection: Connection) -> set[str]:
    """Every sub-skill the database knows (content names them by slug)."""
    return set(connection.execute(select(sub_skills.c.slug)).scalars())


def skill_area_names(connection: Connection) -> dict[str, str]:
    """The name of each skill area, by slug."""
    return dict(connection.execute(select(skill_areas.c.slug, skill_areas.c.name)).all())


def has_tests(connection: Connection) -> bool:
    return connection.execute(select(func.count()).select_from(tests)).scalar_one() > 0


def upsert_area(connection: Connection, area: dict[str, Any]) -> None:
    _upsert(connection, skill_areas, {"slug": area["slug"], "name": area["name"]}, "slug")
    for sub in area["sub_skills"]:
        _upsert(connection, sub_skills, {**sub, "skill_area_slug": area["slug"]}, "slug")


def _upsert(connection: Connection, table: Any, values: dict[str, Any], key: str) -> bool:
    """Insert or update one row; True if anything changed."""
    current = connection.execute(select(table).where(table.c[key] == values[key])).mappings().first()
    if current is None:
        connection.execute(insert(table).values(**values))
        return True
    changes = {k: v for k, v in values.items() if current[k] != v}
    if changes:
        connection.execute(update(table).where(table.c[key] == values[key]).values(**changes))
    return bool(changes)


def content_version(connection: Connection, test_id: str) -> int | None:
    """The test's content version; None if it does not exist yet."""
    return connection.execute(select(tests.c.content_version).where(tests.c.id == test_id)).scalar()


def upsert_test_row(connection: Connection, test: dict[str, Any]) -> bool:
    """Insert or update the test's own row (not its sections); True if its content changed."""
    row = {k: v for k, v in test.items() if k not in ("sections", "self_study")}
    changed = _upsert(connection, tests, row, "id")
    if test.get("self_study") is not None:  # who may start it, not its content: no new content version
        connection.execute(update(tests).where(tests.c.id == test["id"]).values(self_study=test["self_study"]))
    return changed


def removed_parts(connection: Connection, test: dict[str, Any]) -> tuple[set[str], set[str]]:
    """The ids of the sections and of the questions the test has in the database but no longer in `test`."""
    sections = test["sections"]
    wanted_sections = {s["id"] for s in sections}
    wanted_questions = {q["id"] for s in sections for q in s["questions"]}
    old_sections = set(connection.execute(select(test_sections.c.id).where(test_sections.c.test_id == test["id"])).scalars())
    old_questions = set(connection.execute(
        select(questions.c.id).where(questions.c.section_id.in_(old_sections))
    ).scalars()) if old_sections else set()
    return old_sections - wanted_sections, old_questions - wanted_questions


def has_sessions(connection: Connection, test_id: str) -> bool:
    return bool(connection.execute(
        select(func.count()).select_from(user_test_sessions).where(user_test_sessions.c.test_id == test_id)
    ).scalar_one())


def write_sections(connection: Connection, test: dict[str, Any], removed: tuple[set[str], set[str]]) -> bool:
    """Delete the removed sections and questions, upsert the others; True if anything changed."""
    if removed[1]:
        connection.execute(delete(questions).where(questions.c.id.in_(removed[1])))
    if removed[0]:
        connection.execute(delete(test_sections).where(test_sections.c.id.in_(removed[0])))
    changed = False
    for section in test["sections"]:
        section_row = {k: v for k, v in section.items() if k != "questions"} | {"test_id": test["id"]}
        changed |= _upsert(connection, test_sections, section_row, "id")
        for question in section["questions"]:
            changed |= _upsert(connection, questions, question, "id")
    return changed | bool(removed[0] or removed[1])


def bump_content_version(connection: Connection, test_id: str, current: int) -> None:
    connection.execute(update(tests).where(tests.c.id == test_id).values(content_version=current + 1))
