"""Test drafts as a teacher writes them in the editor (table `test_drafts`), and the test rows publishing touches.

Every query of a draft is scoped to who asks: a teacher reads and writes only the drafts they own, an admin any.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from examsync.store.database import Actor
from examsync.store.tables import questions, test_drafts, test_sections, tests

SEES_ALL = ("admin", "system")


def _visible(actor: Actor) -> Any:
    return True if actor.role in SEES_ALL else test_drafts.c.owner_id == actor.user_id


def draft_row(connection: Connection, actor: Actor, draft_id: str) -> dict[str, Any] | None:
    """The draft, or None when it does not exist or is another teacher's (the two look the same)."""
    row = connection.execute(
        select(test_drafts).where(test_drafts.c.id == draft_id, _visible(actor))
    ).mappings().first()
    return dict(row) if row else None


def list_drafts(connection: Connection, actor: Actor) -> list[dict[str, Any]]:
    rows = connection.execute(
        select(test_drafts).where(_visible(actor)).order_by(test_drafts.c.updated_at.desc(), test_drafts.c.id)
    ).mappings().all()
    return [dict(r) for r in rows]


def insert_draft(connection: Connection, values: dict[str, Any]) -> None:
    connection.execute(insert(test_drafts).values(**values))


def save_draft(connection: Connection, draft_id: str, version: int, document: Any, now: int) -> bool:
    """Write the document if the draft is still at `version` (compare and set); False when it is not."""
    result = connection.execute(
        update(test_drafts)
        .where(test_drafts.c.id == draft_id, test_drafts.c.version == version)
        .values(document=document, version=version + 1, updated_at=now)
    )
    return result.rowcount == 1


def link_draft(connection: Connection, draft_id: str, test_id: str) -> None:
    connection.execute(update(test_drafts).where(test_drafts.c.id == draft_id).values(test_id=test_id))


def delete_draft(connection: Connection, draft_id: str) -> None:
    connection.execute(delete(test_drafts).where(test_drafts.c.id == draft_id))


def test_row(connection: Connection, test_id: str) -> dict[str, Any] | None:
    row = connection.execute(
        select(tests.c.id, tests.c.slug, tests.c.owner_id, tests.c.position, tests.c.content_version)
        .where(tests.c.id == test_id)
    ).mappings().first()
    return dict(row) if row else None


def test_by_slug(connection: Connection, slug: str) -> dict[str, Any] | None:
    row = connection.execute(select(tests.c.id, tests.c.owner_id).where(tests.c.slug == slug)).mappings().first()
    return dict(row) if row else None


def next_position(connection: Connection) -> int:
    return int(connection.execute(select(func.coalesce(func.max(tests.c.position), -1))).scalar_one()) + 1


def staff_catalogue(connection: Connection) -> list[dict[str, Any]]:
    """Every test with what staff need to manage it: its content version, owner, place in the catalogue, and size."""
    counts = dict(connection.execute(
        select(test_sections.c.test_id, func.count(questions.c.id))
        .join(questions, questions.c.section_id == test_sections.c.id, isouter=True)
        .group_by(test_sections.c.test_id)
    ).all())
    rows = connection.execute(
        select(tests.c.id, tests.c.slug, tests.c.title, tests.c.mode, tests.c.content_version, tests.c.owner_id,
               tests.c.in_catalogue, tests.c.self_study).order_by(tests.c.position, tests.c.slug)
    ).mappings().all()
    return [dict(r) | {"questions": int(counts.get(r["id"], 0))} for r in rows]
