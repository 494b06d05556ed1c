"""Request and response models of the staff ops and replay endpoints (web/staff_ops_routes.py)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, field_validator

from examsync.web.ops_schemas import OpResultOut, clean_ops
from examsync.web.schemas import STRICT


class StaffOpIn(BaseModel):
    """One staff op (documentation of the fields; each op is read by the domain, and refused on its own)."""

    op_id: str = Field(description="Client-generated UUID; the same op retried keeps it")
    type: str = Field(description="pause, resume, extend_time, force_submit, reopen_section, note, grade, "
                      "release_marks")
    extra_seconds: int | None = Field(default=None, description="extend_time (1 to 86400), reopen_section (0 to 86400)")
    scope: str | None = Field(default=None, description="extend_time: section (default) or session")
    section_id: str | None = Field(default=None, description="reopen_section; extend_time with scope section "
                                   "(default: the current section)")
    reason: str | None = Field(default=None, description="reopen_section: why, as logged")
    text: str | None = Field(default=None, description="note: the staff-only remark")
    question_id: str | None = Field(default=None, description="grade: the extended_text question marked")
    points: float | None = Field(default=None, description="grade: from 0 to the question's points")
    comment: str | None = Field(default=None, description="grade: the marker's comment, shown to the student")


class StaffOpsIn(BaseModel):
    model_config = STRICT
    ops: list[dict[str, Any]] = Field(description="Staff ops as described by StaffOpIn")

    @field_validator("ops")
    @classmethod
    def _storable(cls, ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return clean_ops(ops)


class StaffOpsOut(BaseModel):
    results: list[OpResultOut]
    version: int
    last_seq: int


class RejectedReleaseOut(BaseModel):
    session_id: str
    code: str | None
    message: str | None


class MarksReleasedOut(BaseModel):
    assignment_id: str
    sessions: int = Field(description="The assignment's sessions of students the actor teaches (all, for an admin)")
    released: int = Field(description="Sessions whose marks this request released")
    already_released: int = Field(description="Sessions whose marks were released before")
    nothing_to_release: int = Field(description="Sessions of a test with no question marked by staff")
    rejected: list[RejectedReleaseOut] = Field(description="Any other refusal, per session")


class ChainOut(BaseModel):
    verified: bool
    entries: int
    first_bad_seq: int | None = Field(description="The first entry where the chain does not hold, or null")


class ReplayEntry(BaseModel):
    seq: int
    kind: str
    status: str
    code: str | None
    message: str | None
    question_id: str | None
    section_id: str | None
    payload: dict[str, Any]
    client_time: int | None
    effective_time: int | None
    server_time: int
    device_id: str | None
    op_id: str | None
    by: str | None = Field(description="The staff member who made this change (staff ops, time changes)")
    superseded: bool = Field(description="An answer that a newer intent for the same question replaced")


class ReplayChoice(BaseModel):
    id: str
    text: str


class ReplayQuestion(BaseModel):
    id: str
    section_id: str
    position: int = Field(description="1-based, across the whole test")
    stem_preview: str
    choices: list[ReplayChoice]


class ReplayOut(BaseModel):
    session_id: str
    user_id: str
    display_name: str | None
    test_id: str
    test_title: str
    status: str
    chain: ChainOut
    entries: list[ReplayEntry]
    questions: list[ReplayQuestion]
