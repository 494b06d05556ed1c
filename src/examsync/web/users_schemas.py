"""Request and response shapes of account management by an admin (`/api/v1/users`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from examsync.accounts import EMAIL_PATTERN, MAX_EMAIL_LENGTH, MIN_PASSWORD_LENGTH
from examsync.web.schemas import STRICT, TEXT

Role = Literal["student", "teacher", "admin"]


class UserCreateIn(BaseModel):
    model_config = STRICT
    # As at sign-up: the email's pattern and the password's minimum length are checked by the service
    # (422 invalid_request, 422 weak_password) and stated here for clients.
    email: str = Field(max_length=MAX_EMAIL_LENGTH, pattern=TEXT, json_schema_extra={"pattern": EMAIL_PATTERN})
    password: str = Field(max_length=1024, pattern=TEXT, json_schema_extra={"minLength": MIN_PASSWORD_LENGTH})
    display_name: str = Field(default="", max_length=200, pattern=TEXT)
    role: Role = "student"


class UserPatchIn(BaseModel):
    """Only the fields sent change; a field left out (or null) keeps its value."""

    model_config = STRICT
    role: Role | None = None
    display_name: str | None = Field(default=None, max_length=200, pattern=TEXT)
    disabled: bool | None = Field(default=None, description="true: no sign-in, tokens refused, sockets closed")

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class UserOut(BaseModel):
    user_id: str
    email: str
    display_name: str
    role: Role
    disabled: bool
    created_at: int
