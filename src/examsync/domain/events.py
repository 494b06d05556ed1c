"""Domain events: what the rest of the system hears about a session once a change to it has committed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from examsync.domain.session import LogEntry


@dataclass(frozen=True)
class SessionChange:
    """What one committed transaction did to one session: its new log entries and state."""

    session_id: str
    user_id: str
    test_id: str
    entries: list[LogEntry]
    state: dict[str, Any]


ChangeListener = Callable[[SessionChange], None]
