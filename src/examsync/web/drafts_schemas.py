"""Request and response shapes of test drafts (`/api/v1/drafts`, docs/api.md "Drafts")."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from examsync.web.schemas import STRICT, TEXT, JsonInt

MAX_VERSION = 2**31 - 1


class DraftCreateIn(BaseModel):
    model_config = STRICT
    test_id: str | None = Field(default=None, max_length=36, pattern=TEXT,
                                description="Edit this published test (filled from its current content); "
                                            "omit for a new test")


class DraftSaveIn(BaseModel):
    model_config = STRICT
    version: JsonInt(1, MAX_VERSION) = Field(description="The version this document was made from")  # type: ignore[valid-type]
    document: dict[str, Any] = Field(description="examsync's content document holding one test "
                                                 "(docs/content-format.md); checked when published")


class SubSkillOut(BaseModel):
    slug: str
    name: str
    skill_area: str


class DraftOut(BaseModel):
    id: str
    test_id: str | None = Field(description="The published test this draft edits, or null before its first publish")
    owner_id: str
    version: int = Field(description="Bumped by every save; send it back with the next save")
    updated_at: int = Field(description="Milliseconds since the epoch")
    document: dict[str, Any]
    sub_skills: list[SubSkillOut] = Field(description="The sub-skills a question may name")


class DraftRowOut(BaseModel):
    id: str
    test_id: str | None
    owner_id: str
    title: str
    version: int
    updated_at: int


class DraftSavedOut(BaseModel):
    version: int
    updated_at: int


class DraftPublishedOut(BaseModel):
    test_id: str
    content_version: int = Field(description="The test's content version after publishing")
    outcome: Literal["created", "updated", "unchanged"]


class StaffTestOut(BaseModel):
    id: str
    slug: str
    title: str
    mode: str
    content_version: int = Field(description="Bumped by every import or publish that changes the test")
    owner_id: str | None = Field(description="The teacher who made it; null for tests of the school")
    in_catalogue: bool
    self_study: bool = Field(description="Whether a student may start it on their own, not only as an assignment")
    questions: int
    editable: bool = Field(description="Whether you may open it in the editor (its owner, or an admin)")
