"""Reading sessions' hash chains for `examsync verify-history`: which sessions to check, and the head of each chain.

The log entries themselves are read by `store.sessions.history`, as the replay reads them.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from examsync.store.tables import user_test_sessions


def chain_heads(connection: Connection, *, session_id: str | None = None,
                test_id: str | None = None) -> list[tuple[str, str, str]]:
    """(session id, user id, last hash) of each session asked for (all without a filter), oldest first."""
    query = select(user_test_sessions.c.id, user_test_sessions.c.user_id, user_test_sessions.c.last_hash)
    if session_id is not None:
        query = query.where(user_test_sessions.c.id == session_id)
    if test_id is not None:
        query = query.where(user_test_sessions.c.test_id == test_id)
    rows = connection.execute(query.order_by(user_test_sessions.c.started_at)).all()
    return [(row.id, row.user_id, row.last_hash) for row in rows]
