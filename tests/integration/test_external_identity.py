"""Tokens from an external identity provider (HS256 secret or JWKS file) are trusted when configured."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from examsync.settings import Settings
from examsync.web.app import create_app

EXTERNAL_SECRET = "super-secret-jwt-token-with-at-least-32-characters"


@pytest.fixture
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def external_client(settings: Settings, tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> Iterator[TestClient]:
    public_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{**public_jwk, "kid": "key-1", "alg": "RS256"}]}))
    configured = settings.with_(
        external_jwt_secret=EXTERNAL_SECRET, external_jwks_file=str(jwks), external_jwt_audience="authenticated"
    )
    with TestClient(create_app(configured, run_sweep=False)) as client:
        yield client


def claims(**extra: object) -> dict[str, object]:
    now = int(time.time())
    return {"sub": str(uuid.uuid4()), "aud": "authenticated", "email": f"{uuid.uuid4().hex[:6]}@idp.example",
            "iat": now, "exp": now + 600, **extra}


def me(client: TestClient, token: str) -> tuple[int, dict]:
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    return response.status_code, response.json()


def test_an_hs256_token_from_the_provider_gets_a_student_account_once(external_client: TestClient) -> None:
    token = jwt.encode(claims(), EXTERNAL_SECRET, algorithm="HS256")
    status, first = me(external_client, token)
    assert status == 200 and first["role"] == "student"
    assert me(external_client, token)[1]["user_id"] == first["user_id"]


def test_a_jwks_signed_token_is_accepted(external_client: TestClient, rsa_key: rsa.RSAPrivateKey) -> None:
    token = jwt.encode(claims(), rsa_key, algorithm="RS256", headers={"kid": "key-1"})
    assert me(external_client, token)[0] == 200


def test_provider_tokens_with_a_wrong_key_audience_or_expiry_are_refused(
    external_client: TestClient, rsa_key: rsa.RSAPrivateKey
) -> None:
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cases = {
        "invalid_token": [
            jwt.encode(claims(), "another secret that is long enough to use", algorithm="HS256"),
            jwt.encode(claims(aud="someone-else"), EXTERNAL_SECRET, algorithm="HS256"),
            jwt.encode(claims(), other_key, algorithm="RS256", headers={"kid": "key-1"}),
        ],
        "token_expired": [jwt.encode(claims(exp=int(time.time()) - 10), EXTERNAL_SECRET, algorithm="HS256")],
    }
    for code, tokens in cases.items():
        for token in tokens:
            status, body = me(external_client, token)
            assert (status, body["error"]["code"]) == (401, code)


def test_without_configuration_provider_tokens_are_refused(client: TestClient) -> None:
    token = jwt.encode(claims(), EXTERNAL_SECRET, algorithm="HS256")
    status, body = me(client, token)
    assert (status, body["error"]["code"]) == (401, "invalid_token")
