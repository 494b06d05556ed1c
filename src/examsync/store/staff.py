"""The SQL of the staff's own use cases on a session (services/staff.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, select, update

from examsync.store.tables import user_sub_skill_performance, users


def display_name(connection: Connection, user_id: str) -> str | None:
    """The account's display name, or None when it has none (or no longer exists)."""
    name = connection.execute(select(users.c.display_name).where(users.c.id == user_id)).scalar()
    return name or None


def retract_performance(connection: Connection, user_id: str, score: dict[str, Any], now_ms: int) -> None:
    """Take back what a completed session added to its student's sub-skill performance (it was reopened; its
    new score is added when it completes again), so a session is never counted twice."""
    table = user_sub_skill_performance
    for slug, skill in (score.get("by_sub_skill") or {}).items():
        connection.execute(update(table).where(table.c.user_id == user_id, table.c.sub_skill_slug == slug).values(
            attempts=table.c.attempts - skill["attempts"],
            correct=table.c.correct - skill["correct"],
            points=table.c.points - skill["points"],
            max_points=table.c.max_points - skill["max_points"],
            sessions=table.c.sessions - 1,
            updated_at=now_ms,
        ))
    # A sub-skill only that session had practised is no longer practised at all.
    connection.execute(delete(table).where(table.c.user_id == user_id, table.c.sessions <= 0))
