"""Request and response shapes, as served in the OpenAPI document: what every area shares, and the student's own
(tests, sessions, results, performance, the export).

The other areas' shapes are beside it, one module each: `accounts_schemas.py`, `ops_schemas.py`, `time_schemas.py`,
`classes_schemas.py`, …. `ResultsOut` stays here: a second `ResultsOut` (reports_schemas.py) makes the OpenAPI
document name both by their module, and this name is served.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Path, Query
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

Answer = str | list[str] | None

# Ids in paths and queries (UUIDs; anything else is simply not found).
PathId = Annotated[str, Path(description="A UUID")]
QueryId = Annotated[str, Query(description="A UUID")]
# Client clocks are JSON-safe integers; sequence numbers fit the database's 32-bit integer column.
MAX_CLIENT_TIME = 2**53 - 1
MAX_SEQ = 2**31 - 1


def _json_integer(value: Any) -> Any:
    # JSON Schema's "integer" includes 10.0; it never includes true or "10".
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# An integer as JSON Schema means it, read strictly otherwise; the bounds go inside, so OpenAPI shows them.
def JsonInt(minimum: int, maximum: int) -> Any:
    return Annotated[int, Field(ge=minimum, le=maximum), BeforeValidator(_json_integer)]


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")
    code: str
    message: str


class ErrorOut(BaseModel):
    error: ErrorDetail


# Text in a request is Unicode that can be stored: no NUL character, no unpaired surrogate (the pattern
# makes pydantic refuse both). Refused with 422 invalid_request.
TEXT = r"^[^\x00]*$"


# Request bodies are read strictly: a JSON value of another type (true for a number, 1 for a string) is refused, and
# so is a property the body does not name (a misspelt field would otherwise be ignored); OpenAPI shows
# additionalProperties: false.
STRICT = ConfigDict(strict=True, extra="forbid")


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route can answer (every one in the error shape)."""
    return {status: {"model": ErrorOut} for status in statuses}


RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying the same request",
                               "schema": {"type": "integer", "minimum": 1}}}


class SectionSummary(BaseModel):
    id: str
    title: str
    time_limit_seconds: int | None
    question_count: int


class TestOut(BaseModel):
    id: str
    slug: str
    title: str
    description: str
    mode: str
    timer_policy: str
    allow_untimed: bool
    self_study: bool
    time_multipliers: list[float]
    sub_skill: str | None
    owner_id: str | None = Field(description="The teacher who imported or made it over the API; null: an operator's")
    in_catalogue: bool = Field(description="In the school's catalogue, seen by every teacher; else by its owner, "
                               "those it is shared with and admins")
    sections: list[SectionSummary]


class StartIn(BaseModel):
    model_config = STRICT
    test_id: str = Field(max_length=64, pattern=TEXT)
    untimed: bool = False
    time_multiplier: float = Field(default=1.0, ge=0.5, le=10)
    # The assignment this attempt is of; leave it out for a self-study test.
    assignment_id: str | None = Field(default=None, max_length=64, pattern=TEXT)


class ChoiceOut(BaseModel):
    id: str
    text: str


class QuestionOut(BaseModel):
    id: str
    kind: str
    stem: str
    points: float
    choices: list[ChoiceOut]


class SectionState(BaseModel):
    section_id: str
    title: str
    status: Literal["not_started", "in_progress", "submitted"]
    time_limit_ms: int | None
    time_remaining_ms: int | None
    deadline: int | None = Field(description="Server time (ms) at which the section runs out if nothing more happens")
    submit_reason: Literal["student", "expired", "completed", "ended", "forced"] | None
    reopened: bool = Field(default=False, description="Staff reopened this section after it was submitted (once only)")
    question_count: int
    first_question_id: str | None = Field(
        description="While the section has not started: send a navigate op to this question to begin it"
    )
    answers: dict[str, Answer]
    flagged: list[str]
    eliminated: dict[str, list[str]]
    notes: dict[str, str]
    visited: list[str]
    questions: list[QuestionOut] = Field(description="Empty until the section has started")


class ResumeState(BaseModel):
    id: str
    test_id: str
    test_title: str
    mode: str
    timer_policy: str
    status: Literal["active", "completed"]
    version: int
    last_seq: int
    server_time: int
    untimed: bool
    heartbeat_interval_ms: int
    time_multiplier: float
    current_section_id: str | None
    current_question_id: str | None
    assignment_id: str | None = Field(default=None, description="The assignment this session is an attempt of")
    closes_at: int | None = Field(default=None, description=(
        "When the session ends by itself (an assignment's close); with `close_grace_ms`, work done before "
        "closes_at is still taken for that long after it"))
    close_grace_ms: int = 0
    paused: bool = Field(default=False, description="Staff paused the session: no time runs, new ops are refused")
    paused_at: int | None = None
    paused_by: str | None = Field(default=None, description="Who paused it: their display name, else their id")
    sections: list[SectionState]
    rescue_secret: str | None = Field(default=None, description=(
        "Start and resume only: the key this device signs a downloaded answers file with (`mac`), "
        "which proves to `examsync import-responses` that the file came from the session's owner"))


class SessionProgress(BaseModel):
    id: str
    test_id: str
    test_title: str
    mode: str
    status: str
    answered: int
    total: int
    flagged: int
    current_section_id: str | None
    time_remaining_ms: int | None
    started_at: int
    last_activity_at: int
    completed_at: int | None
    resumable: bool
    score: float | None
    max_score: float | None


class SubSkillResult(BaseModel):
    sub_skill: str
    name: str
    skill_area: str | None
    attempts: int
    correct: int
    accuracy: float


class ResultsOut(BaseModel):
    session_id: str
    test_id: str
    test_title: str
    status: str
    score: float | None
    max_score: float | None
    pending_points: float = Field(default=0.0, description="Points of extended-text answers awaiting marking by "
                                  "staff: part of max_score, not yet of score. For the student, a mark staff have not "
                                  "released is still awaiting marking")
    marks_released: bool = Field(default=False, description="Staff released the session's marks (release_marks): "
                                 "the student sees each mark and comment as it is given")
    sections: list[dict[str, Any]]
    by_sub_skill: list[SubSkillResult]


class PerformanceOut(BaseModel):
    sub_skill: str
    name: str
    skill_area: str | None
    attempts: int
    correct: int
    accuracy: float
    sessions: int
    drill_test_ids: list[str]
    updated_at: int


class Health(BaseModel):
    status: str
    database: str | None = None


class OfflineKeyOut(BaseModel):
    kid: str
    alg: str
    jwk: dict[str, Any]


class ExportRow(BaseModel):
    session_id: str
    user_id: str
    test_id: str
    seq: int
    op_id: str | None
    section_id: str | None
    question_id: str | None
    answer: Any
    status: str
    code: str | None
    client_time: int | None
    server_time: int
    device_id: str | None = Field(description="The device that sent it; `rescue:<device>` for a rescue file's ops")
    is_correct: bool | None
