"""Response shapes of content import and export (`/api/v1/content/imports`, `/api/v1/tests/{id}/export`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

ExportFormat = Literal["qti3", "yaml"]
ImportFormat = Literal["gift", "moodle", "qti", "yaml", "json"]
Mode = Literal["diagnostic", "practice", "drill"]


class SkippedOut(BaseModel):
    file: str = Field(description="The file as it was sent (`package.zip!items/q1.xml` inside a package)")
    line: int | None = Field(description="Line in the file (XML, GIFT), when known")
    item: str = Field(description="The item's identifier or name")
    reason: str


class ImportedTestOut(BaseModel):
    id: str
    slug: str
    title: str
    questions: int
    outcome: Literal["created", "updated", "unchanged"] = Field(description="What the import does (or would do) to it")


class ImportOut(BaseModel):
    dry_run: bool = Field(description="true: nothing was written; the counts say what an import would do")
    created: int
    updated: int
    unchanged: int
    skipped: list[SkippedOut] = Field(description="Items left out, each with its place and reason")
    notices: list[SkippedOut] = Field(description="Items imported without something (an image, a test-wide limit)")
    tests: list[ImportedTestOut]


class ShareOut(BaseModel):
    user_id: str
    display_name: str | None
    email: str


class SharesOut(BaseModel):
    test_id: str
    owner_id: str | None = Field(description="null: an operator's test (imported by the command line or shipped)")
    shares: list[ShareOut] = Field(description="The teachers and admins the test is shared with")

