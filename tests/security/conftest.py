"""Fixtures of the security tests: extra content with distinctive secrets, staff of both kinds, forged tokens."""

from __future__ import annotations

import base64
import json
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import delete

from examsync.content_import import import_files, parse_document
from examsync.settings import Settings
from examsync.store.database import Database
from examsync.store.tables import users
from tests.conftest import Api

HERE = Path(__file__).parent
SECRETS_CONTENT = HERE / "fixtures" / "secrets.yaml"
XSS_CONTENT = HERE / "fixtures" / "xss.yaml"
# What must never reach a student before the section is submitted.
SECRET_MARKERS = ("zanzibar-correct-word", "quixotic-correct-word", "EXPLANATION-ONE-zq7", "EXPLANATION-TWO-zq7",
                  "EXPLANATION-THREE-zq7")


def _content() -> dict[str, dict[str, Any]]:
    _, tests = parse_document(SECRETS_CONTENT, yaml.safe_load(SECRETS_CONTENT.read_text()),
                              {"addition", "fractions"})
    return {test["slug"]: test for test in tests}


SECURITY_TESTS = _content()


def questions_of(slug: str, section: int = 0) -> list[dict[str, Any]]:
    return SECURITY_TESTS[slug]["sections"][section]["questions"]


@pytest.fixture
def database_url(database_url: str) -> str:
    """The shared test database, plus the security content."""
    database = Database(database_url)
    import_files(database, [SECRETS_CONTENT, XSS_CONTENT])
    database.dispose()
    return database_url


def staff_member(api: Api, client: TestClient, role: str) -> Api:
    email = f"{role}-{uuid.uuid4().hex[:8]}@example.org"
    client.app.state.accounts.add_user(email, f"{role} password", role=role)  # type: ignore[attr-defined]
    return api.login(email, f"{role} password")


@pytest.fixture
def admin(api: Api, client: TestClient) -> Api:
    return staff_member(api, client, "admin")


def token_of(api: Api) -> str:
    return api.headers["Authorization"].split(" ", 1)[1]


def user_id_of(api: Api) -> str:
    return api.get("/me").json()["user_id"]


# Claims signed with the server's key, but of a type no token of ours carries.
WRONGLY_TYPED_CLAIMS: dict[str, Any] = {
    "exp": str(int(time.time()) + 3600), "iat": "yesterday", "sub": ["someone"], "role": {"admin": True},
    "jti": 7, "nbf": True,
}


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=").decode()


def forged_tokens(settings: Settings, victim: Api, victim_id: str, other_id: str, deleted_token: str) -> dict[str, str]:
    """Tokens that must all be refused: each is named by what is wrong with it."""
    real = token_of(victim)
    header, payload, signature = real.split(".")
    claims = jwt.decode(real, options={"verify_signature": False})
    now = int(time.time())
    tampered_sub = ".".join([header, _b64({**claims, "sub": other_id}), signature])
    tampered_role = ".".join([header, _b64({**claims, "role": "admin"}), signature])
    return {
        "wrong_signature": jwt.encode(claims, "not-the-server-key-0123456789abcdef", algorithm="HS256"),
        "alg_none": ".".join([_b64({"alg": "none", "typ": "JWT"}), _b64(claims), ""]),
        "alg_none_other_user": ".".join([_b64({"alg": "none", "typ": "JWT"}), _b64({**claims, "sub": other_id}), ""]),
        "tampered_sub": tampered_sub,
        "tampered_role": tampered_role,
        "expired": jwt.encode({**claims, "iat": now - 7200, "exp": now - 3600}, settings.secret_key, algorithm="HS256"),
        "no_expiry": jwt.encode({k: v for k, v in claims.items() if k != "exp"}, settings.secret_key, algorithm="HS256"),
        "other_issuer": jwt.encode({**claims, "iss": "somebody-else"}, settings.secret_key, algorithm="HS256"),
        **{f"{claim}_of_the_wrong_type": jwt.encode({**claims, claim: value}, settings.secret_key, algorithm="HS256")
           for claim, value in WRONGLY_TYPED_CLAIMS.items()},
        "deleted_user": deleted_token,
        "garbage": "not-a-token",
        "empty_segments": "..",
    }


def delete_user(database_url: str, user_id: str) -> None:
    database = Database(database_url)
    with database.owner_transaction() as connection:
        connection.execute(delete(users).where(users.c.id == user_id))
    database.dispose()

