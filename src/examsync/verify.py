"""Checking the tamper-evident chain of session logs (`examsync verify-history`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from examsync.domain.chain import find_break, first_break
from examsync.store import history as heads
from examsync.store import sessions as store
from examsync.store.database import SYSTEM, Database


@dataclass(frozen=True)
class Finding:
    session_id: str
    problem: str


def chain_status(session_id: str, user_id: str, entries: list[dict[str, Any]], last_hash: str) -> dict[str, Any]:
    """Whether one session's log verifies, as the replay shows it: {verified, entries, first_bad_seq, problem}."""
    found = find_break(session_id, user_id, entries, last_hash)
    return {"verified": found is None, "entries": len(entries), "first_bad_seq": None if found is None else found[0],
            "problem": None if found is None else found[1]}


def verify_history(database: Database, *, session_id: str | None = None,
                   test_id: str | None = None) -> Iterator[tuple[str, Finding | None]]:
    """Yield (session_id, the first break of its chain or None) for each session asked for."""
    with database.transaction(SYSTEM, write=False) as connection:
        rows = heads.chain_heads(connection, session_id=session_id, test_id=test_id)
    for sid, user_id, last_hash in rows:
        with database.transaction(SYSTEM, write=False) as connection:
            entries = [e.as_dict() for e in store.history(connection, sid, None)]
        problem = first_break(sid, user_id, entries, last_hash)
        yield sid, Finding(sid, problem) if problem else None
