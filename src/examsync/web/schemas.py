"""Request and response shapes, as served in the OpenAPI document."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Answer = str | list[str] | None


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")
    code: str
    message: str


class ErrorOut(BaseModel):
    error: ErrorDetail


class SignupIn(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)
    display_name: str = Field(default="", max_length=200)


class SignupOut(BaseModel):
    user_id: str


class TokenIn(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"]
    expires_in: int


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
    time_multipliers: list[float]
    sub_skill: str | None
    sections: list[SectionSummary]


class StartIn(BaseModel):
    test_id: str = Field(max_length=64)
    untimed: bool = False
    time_multiplier: float = Field(default=1.0, ge=0.5, le=10)


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
    submit_reason: Literal["student", "expired", "completed"] | None
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
    sections: list[SectionState]


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
    ops: list[dict[str, Any]] = Field(description="Ops as described by OpIn")
    device_id: str | None = Field(default=None, max_length=64, description="Identifies the device, for its clock offset")
    sent_at: int | None = Field(default=None, description="Client time (ms) when this request was sent")


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


class TimeIn(BaseModel):
    """A time accommodation; a field left out keeps its current value."""

    time_multiplier: float | None = Field(default=None, ge=0.5, le=10)
    extra_seconds: int | None = Field(default=None, ge=0, le=86_400)
    untimed: bool | None = None

    def changes(self) -> dict[str, Any]:
        given = {"multiplier": self.time_multiplier, "untimed": self.untimed,
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
