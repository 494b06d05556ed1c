"""Request and response shapes of the LTI endpoints (`/api/v1/lti/...`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from examsync.web.schemas import STRICT, TEXT


class PlatformIn(BaseModel):
    model_config = STRICT
    issuer: str = Field(max_length=255, pattern=TEXT)
    client_id: str = Field(max_length=255, pattern=TEXT)
    deployment_ids: list[str] = Field(min_length=1, max_length=100)
    auth_login_url: str = Field(max_length=2000, pattern=TEXT)
    auth_token_url: str = Field(max_length=2000, pattern=TEXT)
    jwks_url: str = Field(max_length=2000, pattern=TEXT)


class PlatformOut(BaseModel):
    id: str
    issuer: str
    client_id: str
    deployment_ids: list[str]
    auth_login_url: str
    auth_token_url: str
    jwks_url: str
    created_at: int


class HandoffIn(BaseModel):
    model_config = STRICT
    code: str = Field(min_length=1, max_length=200, pattern=TEXT)


class HandoffOut(BaseModel):
    access_token: str
    token_type: str
    expires_in: int
    landing: str = Field(description="Where the web app goes: a route such as #/session/<id> or #/staff/proctor/<id>")
    user: dict[str, Any]


class KeyRotatedOut(BaseModel):
    kid: str = Field(description="The new signing key's id")
    published: list[str] = Field(description="Every key id the JWKS URL publishes now, the signing one first")


class GradeLineItemOut(BaseModel):
    id: str
    label: str
    lineitem_url: str | None
    score_maximum: float


class GradeScoreOut(BaseModel):
    user_id: str
    display_name: str
    email: str
    line_item_id: str
    session_id: str
    score_given: float | None
    score_maximum: float
    grading_progress: str
    state: str
    attempts: int
    last_error: str | None
    queued_at: int
    posted_at: int | None
    next_attempt_at: int | None


class GradeStudentOut(BaseModel):
    user_id: str
    display_name: str
    email: str


class GradeSyncOut(BaseModel):
    assignment_id: str
    line_items: list[GradeLineItemOut]
    scores: list[GradeScoreOut]
    not_completed: list[GradeStudentOut]


class GradeRetryOut(BaseModel):
    retried: int


class RosterSyncOut(BaseModel):
    added: int
    removed: int
    members: int
