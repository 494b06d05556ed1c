"""Request and response shapes of time accommodations, which staff give to one session or to all of a student's."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from examsync.domain.timing import TimeChange
from examsync.web.schemas import STRICT, JsonInt


class _TimeFields(BaseModel):
    model_config = STRICT

    time_multiplier: float | None = Field(default=None, ge=0.5, le=10)
    extra_seconds: JsonInt(0, 86_400) | None = None  # type: ignore[valid-type]
    untimed: bool | None = None


class TimeIn(_TimeFields):
    """A time accommodation for one session; a field left out keeps its current value."""

    scope: Literal["section", "session"] | None = Field(
        default=None, description="Where extra_seconds goes: `section` (the default: the current section, or "
        "section_id) or `session` (split evenly over the timed sections not yet submitted)")
    section_id: str | None = Field(default=None, max_length=36, description="With scope section: this section")

    @model_validator(mode="after")
    def _scope_goes_with_extra_seconds(self) -> "TimeIn":
        if (self.scope is not None or self.section_id is not None) and self.extra_seconds is None:
            raise ValueError("scope and section_id say where extra_seconds goes; send extra_seconds with them")
        if self.section_id is not None and self.scope == "session":
            raise ValueError("section_id names one section; it does not go with scope session")
        return self

    def change(self) -> TimeChange:
        return TimeChange(
            multiplier=self.time_multiplier, untimed=self.untimed,
            extra_ms=None if self.extra_seconds is None else self.extra_seconds * 1000,
            scope=self.scope or "section", section_id=self.section_id,
        )


class UserTimeIn(_TimeFields):
    """A time accommodation for all of a student's sessions, added to each of their sections; `untimed` applies
    to one session only."""

    untimed: bool | None = Field(default=None, json_schema_extra={"enum": [False, None]},
                                 description="Only false (or left out): untimed applies to one session")

    @field_validator("untimed")
    @classmethod
    def _per_session_only(cls, untimed: bool | None) -> bool | None:
        if untimed:
            raise ValueError("untimed applies to one session, not to all of a student's sessions")
        return untimed

    def changes(self) -> dict[str, Any]:
        given = {"multiplier": self.time_multiplier,
                 "extra_ms": None if self.extra_seconds is None else self.extra_seconds * 1000}
        return {k: v for k, v in given.items() if v is not None}


class UserTimeOut(BaseModel):
    user_id: str
    time_multiplier: float
    extra_seconds: int
    sessions_updated: int
