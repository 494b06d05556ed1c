"""Request and response shapes of classes and assignments (strict like web/schemas.py: unknown keys refused)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from examsync.web.schemas import MAX_CLIENT_TIME, STRICT, TEXT, JsonInt

Time = JsonInt(0, MAX_CLIENT_TIME)
Attempts = JsonInt(0, 10_000)
ExtraSeconds = JsonInt(0, 7 * 24 * 3600)
Multiplier = float


class ClassIn(BaseModel):
    model_config = STRICT
    name: str = Field(min_length=1, max_length=200, pattern=TEXT)


class JoinIn(BaseModel):
    model_config = STRICT
    join_code: str = Field(min_length=1, max_length=32, pattern=TEXT)


class ClassOut(BaseModel):
    id: str
    name: str
    student_count: int
    # Staff only: a student sees neither the code nor the owner.
    join_code: str | None = None
    owner_id: str | None = None
    created_at: int | None = None


class JoinedOut(BaseModel):
    id: str
    name: str


class StudentOut(BaseModel):
    user_id: str
    email: str
    display_name: str
    time_multiplier: float
    extra_seconds: int


class AssignmentIn(BaseModel):
    model_config = STRICT
    test_id: str = Field(max_length=64, pattern=TEXT)
    opens_at: Time
    closes_at: Time | None = None
    max_attempts: Attempts | None = None
    time_multiplier: Multiplier | None = None
    extra_seconds: ExtraSeconds | None = None
    on_close: Literal["submit", "grace"] = "submit"
    grace_seconds: JsonInt(0, 24 * 3600) = 0  # type: ignore[valid-type]


class AssignmentPatch(BaseModel):
    """Only the keys given change (null: no close, unlimited attempts, the student's own time)."""

    model_config = STRICT
    opens_at: Time | None = None
    closes_at: Time | None = None
    max_attempts: Attempts | None = None
    time_multiplier: Multiplier | None = None
    extra_seconds: ExtraSeconds | None = None
    on_close: Literal["submit", "grace"] | None = None
    grace_seconds: JsonInt(0, 24 * 3600) | None = None  # type: ignore[valid-type]

    def changes(self) -> dict[str, Any]:
        changes = self.model_dump(exclude_unset=True)
        for key in ("opens_at", "on_close", "grace_seconds"):
            if key in changes and changes[key] is None:
                changes.pop(key)
        return changes


class OverrideIn(BaseModel):
    """Only the keys given override the assignment's (null lifts the close time or the attempt limit)."""

    model_config = STRICT
    closes_at: Time | None = None
    max_attempts: Attempts | None = None
    time_multiplier: Multiplier | None = None
    extra_seconds: ExtraSeconds | None = None

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class AssignmentOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    class_id: str
    class_name: str
    test_id: str
    test_title: str
    opens_at: int
    closes_at: int | None
    max_attempts: int | None
    time_multiplier: float | None
    extra_seconds: int | None
    on_close: str
    grace_seconds: int
    created_by: str
    created_at: int
    state: Literal["upcoming", "open", "closed"]
    # Students: their attempts and the active one to resume (with their override applied above).
    attempts_used: int | None = None
    attempts_left: int | None = None
    session_id: str | None = None
    overridden: list[str] | None = None
    # Staff: the class's students and how many are at work now; one assignment's overrides.
    student_count: int | None = None
    active_count: int | None = None
    overrides: list[dict[str, Any]] | None = None


class OverrideOut(BaseModel):
    assignment_id: str
    user_id: str
    changes: dict[str, Any]
    effective: dict[str, Any]


class AssignmentDeletedOut(BaseModel):
    id: str
    deleted: bool
    sessions_submitted: int = Field(description="Active attempts submitted by the deletion, every acknowledged "
                                                "answer kept")
    sessions_kept: int = Field(description="Sessions of the assignment, kept as their students' own")


class TestPatch(BaseModel):
    """Admin only; a field left out keeps its value."""

    model_config = STRICT
    self_study: bool | None = Field(default=None, description="true: any student may start it without an assignment")
    in_catalogue: bool | None = Field(default=None, description="true: in the school's catalogue, seen by every "
                                      "teacher (docs/api.md, Who sees a test)")

    def changes(self) -> dict[str, bool]:
        return {k: v for k, v in self.model_dump().items() if v is not None}
