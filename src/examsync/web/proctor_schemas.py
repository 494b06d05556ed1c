"""The proctor roster's wire shapes (docs/api.md, "Proctoring")."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class RosterRow(BaseModel):
    """One enrolled student of an assignment, as the proctor sees them now."""

    model_config = ConfigDict(extra="forbid")

    user_id: str
    display_name: str
    email: str
    session_id: str | None  # their latest attempt of the assignment
    status: Literal["not_started", "active", "paused", "completed"]
    connected: bool  # a live socket of theirs is open now, on any instance
    devices: int
    answered: int
    total: int
    flagged: int
    section: str | None  # the current section's title
    time_remaining_ms: int | None
    last_op_at: int | None
    last_seen_at: int | None
    offline_queue: int | None  # ops their device last reported holding unsent; null: never reported
    late_or_rejected_ops: int
