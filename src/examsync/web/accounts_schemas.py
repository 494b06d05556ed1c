"""Request and response shapes of accounts: signing up, logging in, and who the caller is."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from examsync.accounts import EMAIL_PATTERN, MAX_EMAIL_LENGTH, MIN_PASSWORD_LENGTH
from examsync.web.schemas import STRICT, TEXT


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
