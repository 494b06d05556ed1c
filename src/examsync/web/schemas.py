"""Request and response shapes, as served in the OpenAPI document."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from fastapi import Path, Query
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from examsync.domain.timing import TimeChange

from examsync.accounts import EMAIL_PATTERN, MAX_EMAIL_LENGTH, MIN_PASSWORD_LENGTH


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


class SignupIn(BaseModel):
    model_config = STRICT
    # The pattern is checked by the service (422 invalid_request with field "email"), as is the
    # password's minimum length (422 weak_password); both are stated here for clients.
    email: str = Field(max_length=MAX_EMAIL_LENGTH, pattern=TEXT, json_schema_extra={"pattern": EMAIL_PATTERN})
    password: str = Field(max_length=1024, pattern=TEXT, json_schema_extra={"minLength": MIN_PASSWORD_LENGTH})
    display_name: str = Field(default="", max_length=200, pattern=TEXT)


class SignupOut(BaseModel):
    user_id: str


class TokenIn(BaseModel):
    model_config = STRICT
    email: str = Field(max_length=MAX_EMAIL_LENGTH, pattern=TEXT)
    password: str = Field(max_length=1024, pattern=TEXT)
    # From an earlier login on this email from this device; one that is not valid for it is ignored.
    device_token: str | None = Field(default=None, max_length=200)


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"]
    expires_in: int
    device_token: str


class MeOut(BaseModel):
    user_id: str
    email: str
    display_name: str
    role: str


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


class OpIn(BaseModel):
    """One change. Unknown or ill-formed ops are answered `rejected` one by one."""

    model_config = ConfigDict(extra="allow")
    op_id: str = Field(description="Client-generated UUID; the same op retried keeps it")
    type: str = Field(description="answer, flag, unflag, eliminate, uneliminate, note, navigate, heartbeat, submit_section, complete")
    client_time: int = Field(description="Milliseconds since the Unix epoch on the client (Date.now())")
    question_id: str | None = None
    section_id: str | None = None
    choice_id: str | None = None
    answer: Any = Field(default=None, description="choice id, list of choice ids, a string, or null to clear")
    text: str | None = None


class OpsIn(BaseModel):
    model_config = STRICT
    ops: list[dict[str, Any]] = Field(description="Ops as described by OpIn")
    device_id: str | None = Field(default=None, max_length=64, pattern=TEXT,
                                  description="Identifies the device, for its clock offset")

    @field_validator("ops")
    @classmethod
    def _storable(cls, ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return clean_ops(ops)
    sent_at: JsonInt(0, MAX_CLIENT_TIME) | None = Field(  # type: ignore[valid-type]
        default=None, description="Client time (ms since the epoch) when this request was sent")


class OpResultOut(BaseModel):
    op_id: str
    status: Literal["applied", "duplicate", "superseded", "rejected"]
    code: str | None = None
    message: str | None = None
    seq: int | None = None


class OpsOut(BaseModel):
    results: list[OpResultOut]
    version: int
    last_seq: int


class HistoryEntry(BaseModel):
    seq: int
    kind: str
    status: str
    op_id: str | None
    code: str | None
    message: str | None
    question_id: str | None
    section_id: str | None
    payload: dict[str, Any]
    client_time: int | None
    effective_time: int | None
    server_time: int
    device_id: str | None
    hash: str | None = Field(default=None, description="Chained to the previous entry (tamper evidence)")


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


# ----- ops as free-form JSON ---------------------------------------------------

# Ids name content, whose ids are at most this long; a longer one cannot name anything and cannot be stored.
MAX_OP_ID_FIELDS = {"question_id": 36, "section_id": 36, "choice_id": 100}
MAX_OP_DEPTH = 32
REPLACEMENT = "\ufffd"


def clean_text(text: str) -> str:
    """Text as it can be stored: NUL and unpaired surrogates become U+FFFD (as any UTF-8 decoder would)."""
    if "\x00" in text:
        text = text.replace("\x00", REPLACEMENT)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = "".join(REPLACEMENT if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)
    return text


def _clean_value(value: Any, where: str, depth: int) -> Any:
    if depth > MAX_OP_DEPTH:
        raise ValueError(f"{where}: nested more than {MAX_OP_DEPTH} levels deep")
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where}: numbers must be finite (no NaN or Infinity)")
    if isinstance(value, list):
        return [_clean_value(v, where, depth + 1) for v in value]
    if isinstance(value, dict):
        return {clean_text(str(k)): _clean_value(v, where, depth + 1) for k, v in value.items()}
    return value


def clean_ops(ops: list[Any]) -> list[Any]:
    """The ops of a batch, storable whatever a client sent; ValueError for what no client of the protocol sends.

    Text is cleaned (`clean_text`); a non-finite number, nesting deeper than MAX_OP_DEPTH, or an id field longer
    than MAX_OP_ID_FIELDS allows refuses the whole batch (422 invalid_request). Everything else is left to the
    service, which answers each op on its own.
    """
    cleaned = []
    for index, op in enumerate(ops):
        where = f"ops[{index}]"
        if isinstance(op, dict):
            for name, limit in MAX_OP_ID_FIELDS.items():
                value = op.get(name)
                if isinstance(value, str) and len(value) > limit:
                    raise ValueError(f"{where}.{name}: at most {limit} characters")
        cleaned.append(_clean_value(op, where, 1))
    return cleaned
