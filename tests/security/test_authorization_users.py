"""Account management (`/api/v1/users`) is an admin's alone: every endpoint, called by everyone.

A student or a teacher is refused with 403 `forbidden` before anything of the request is read, anonymous and dead
tokens with 401, and no refusal carries anything of an account. A disabled admin is refused like anyone whose
token no longer works.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from examsync.settings import Settings
from tests.conftest import Api
from tests.security.conftest import delete_user, forged_tokens, staff_member, token_of, user_id_of


@dataclass
class Accounts:
    client: TestClient
    admin: Api
    target_id: str
    target_email: str
    callers: dict[str, dict[str, str]]


@pytest.fixture
def accounts(api: Api, client: TestClient, settings: Settings, database_url: str) -> Accounts:
    target_email = f"target-{uuid.uuid4().hex[:8]}@example.org"
    target = api.signup(target_email)
    student = api.signup()
    doomed = api.signup()
    doomed_token = token_of(doomed)
    delete_user(database_url, user_id_of(doomed))
    admin = staff_member(api, client, "admin")
    callers = {
        "anonymous": {},
        "student": student.headers,
        "the target themself": target.headers,
        "teacher": staff_member(api, client, "teacher").headers,
        "admin": admin.headers,
    }
    for name, token in forged_tokens(settings, student, user_id_of(student), user_id_of(target), doomed_token).items():
        callers[f"forged: {name}"] = {"Authorization": f"Bearer {token}"}
    return Accounts(client, admin, user_id_of(target), target_email, callers)


def requests(accounts: Accounts) -> dict[str, dict[str, Any]]:
    """One well-formed request per endpoint (the change is harmless: a display name)."""
    return {
        "POST /users": {"method": "POST", "url": "/api/v1/users", "json": {
            "email": f"made-{uuid.uuid4().hex[:8]}@example.org", "password": "a long password", "role": "admin"}},
        "GET /users": {"method": "GET", "url": "/api/v1/users", "params": {"q": "target"}},
        "PATCH /users/{id}": {"method": "PATCH", "url": f"/api/v1/users/{accounts.target_id}",
                              "json": {"role": "admin"}},
    }


def expected(caller: str, endpoint: str) -> tuple[int, str | None]:
    if caller == "admin":
        return (201 if endpoint.startswith("POST") else 200), None
    if caller == "anonymous":
        return 401, "not_authenticated"
    if caller.startswith("forged"):
        return 401, "token_expired" if caller == "forged: expired" else "invalid_token"
    return 403, "forbidden"


def test_every_endpoint_answers_every_caller_as_documented(accounts: Accounts) -> None:
    mismatches = []
    for caller, headers in accounts.callers.items():
        for endpoint, request in requests(accounts).items():
            if caller == "admin":  # what the others attempt would be harmful: the admin does something harmless
                request = {**request, "json": {**request["json"], "role": "teacher"} if endpoint.startswith("POST")
                           else {"display_name": "Target"}} if "json" in request else request
            response = accounts.client.request(**request, headers=headers)
            status, code = expected(caller, endpoint)
            got = (response.status_code, response.json()["error"]["code"] if response.status_code >= 400 else None)
            if got != (status, code):
                mismatches.append(f"{caller} {endpoint}: {got}, want {(status, code)} {response.text[:200]}")
            elif caller != "admin":
                leaked = [item for item in (accounts.target_id, accounts.target_email, "made-") if item in response.text]
                assert leaked == [], f"{caller} {endpoint} carries account data: {leaked}"
    assert mismatches == [], "\n".join(mismatches)
    # Nobody but the admin changed or created anything: the target is still a student, and no admin was made.
    listed = accounts.admin.get("/users", params={"role": "admin"}).json()
    assert [user["email"] for user in listed if user["email"].startswith("made-")] == []
    target = accounts.admin.get("/users", params={"q": accounts.target_email}).json()
    assert [(user["role"], user["display_name"]) for user in target] == [("student", "Target")]


@pytest.mark.parametrize("caller", ["student", "teacher"])
def test_a_student_or_teacher_is_refused_before_the_body_or_query_is_checked(accounts: Accounts, caller: str) -> None:
    headers = accounts.callers[caller]
    for request in ({"method": "POST", "url": "/api/v1/users", "json": {"email": 5, "role": "root", "extra": 1}},
                    {"method": "POST", "url": "/api/v1/users", "json": [1, 2]},
                    {"method": "GET", "url": "/api/v1/users", "params": {"limit": 0, "role": "root"}},
                    {"method": "PATCH", "url": f"/api/v1/users/{accounts.target_id}", "json": {"disabled": "no"}},
                    {"method": "PATCH", "url": f"/api/v1/users/{uuid.uuid4()}", "json": {"role": "admin"}}):
        response = accounts.client.request(**request, headers=headers)
        assert (response.status_code, response.json()["error"]["code"]) == (403, "forbidden"), (request, response.text)


def test_an_admin_cannot_be_made_by_the_account_itself(accounts: Accounts) -> None:
    for caller in ("the target themself", "teacher"):
        own_id = accounts.client.get("/api/v1/me", headers=accounts.callers[caller]).json()["user_id"]
        response = accounts.client.patch(f"/api/v1/users/{own_id}", json={"role": "admin"},
                                         headers=accounts.callers[caller])
        assert response.status_code == 403
        assert accounts.client.get("/api/v1/me", headers=accounts.callers[caller]).json()["role"] != "admin"


def test_a_disabled_admin_is_refused_every_endpoint(accounts: Accounts, api: Api, client: TestClient) -> None:
    other = staff_member(api, client, "admin")
    other_id = user_id_of(other)
    assert accounts.admin.client.patch(f"/api/v1/users/{other_id}", json={"disabled": True},
                                       headers=accounts.admin.headers).status_code == 200
    for request in requests(accounts).values():
        response = client.request(**request, headers=other.headers)
        assert (response.status_code, response.json()["error"]["code"]) == (401, "account_disabled"), request
        assert response.headers["www-authenticate"] == "Bearer"
