"""An admin rotates the tool's signing key over the API (the admin page's button): the new key signs from then on,
the old one stays published so messages signed a moment before still verify; nobody else may rotate."""

from __future__ import annotations

import jwt
from fastapi.testclient import TestClient

from examsync.lti.keys import ToolKeys
from tests.conftest import Api


def test_an_admin_rotates_the_key_and_the_old_one_stays_published(client: TestClient, admin: Api, api: Api) -> None:
    [old] = client.get("/lti/jwks").json()["keys"]
    rotated = admin.post("/lti/keys/rotate", {})
    assert rotated.status_code == 201, rotated.text
    new_kid = rotated.json()["kid"]
    assert new_kid != old["kid"]
    assert rotated.json()["published"] == [new_kid, old["kid"]]
    assert {k["kid"] for k in client.get("/lti/jwks").json()["keys"]} == {new_kid, old["kid"]}
    signed = ToolKeys(client.app.state.database, api.clock).sign({"probe": 1})  # type: ignore[attr-defined]
    assert jwt.get_unverified_header(signed)["kid"] == new_kid


def test_only_an_admin_may_rotate_the_key(client: TestClient, teacher: Api, api: Api) -> None:
    [before] = client.get("/lti/jwks").json()["keys"]
    refused = teacher.post("/lti/keys/rotate", {})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert client.post("/api/v1/lti/keys/rotate").status_code == 401
    assert client.get("/lti/jwks").json()["keys"] == [before]
