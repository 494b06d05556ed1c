"""The tool's side of the registration: its keys (made on first use, rotated with a grace period), its
configuration, the admin API for platforms, and framing allowed only for LTI once a platform is registered."""

from __future__ import annotations

from fastapi.testclient import TestClient

from examsync.lti.keys import GRACE_MS, ToolKeys
from tests.conftest import Api
from tests.lti.platform import Platform


def test_the_jwks_publishes_the_signing_key_and_keeps_a_rotated_one_for_the_grace_period(
        client: TestClient, api: Api) -> None:
    first = client.get("/lti/jwks")
    assert first.status_code == 200
    [key] = first.json()["keys"]
    assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["use"] == "sig" and "d" not in key
    assert client.get("/lti/jwks").json() == first.json()  # made once, kept

    keys = ToolKeys(client.app.state.database, api.clock)  # type: ignore[attr-defined]
    new_kid, _ = keys.rotate()
    assert keys.signing_key()[0] == new_kid
    assert {k["kid"] for k in client.get("/lti/jwks").json()["keys"]} == {key["kid"], new_kid}
    api.clock.advance(GRACE_MS / 1000 + 1)
    assert {k["kid"] for k in client.get("/lti/jwks").json()["keys"]} == {new_kid}


def test_admins_register_and_list_platforms_and_read_the_tool_configuration(admin: Api, teacher: Api) -> None:
    platform = Platform.start()
    try:
        body = platform.registration()
        created = admin.post("/lti/platforms", body)
        assert created.status_code == 201
        assert {k: created.json()[k] for k in body} == body
        assert admin.get("/lti/platforms").json() == [created.json()]
        again = admin.post("/lti/platforms", {**body, "deployment_ids": ["another"]})
        assert again.status_code == 200
        assert again.json()["deployment_ids"] == sorted([platform.deployment_id, "another"])
        moved = admin.post("/lti/platforms", {**body, "auth_login_url": "https://elsewhere.example.edu/auth"})
        assert moved.status_code == 409 and moved.json()["error"]["code"] == "lti_platform_exists"
        plain_http = admin.post("/lti/platforms", {**body, "client_id": "x", "jwks_url": "http://lms.example.edu/k"})
        assert plain_http.status_code == 422 and plain_http.json()["error"]["field"] == "jwks_url"
        assert teacher.get("/lti/platforms").status_code == 403
        assert teacher.post("/lti/platforms", body).status_code == 403
    finally:
        platform.stop()
    config = admin.get("/lti/tool-config").json()
    assert config["oidc_initiation_url"] == "http://testserver/lti/login"
    assert config["redirect_uris"] == ["http://testserver/lti/launch"] == [config["target_link_uri"]]
    assert config["jwks_uri"] == config["public_jwk_url"] == "http://testserver/lti/jwks"
    placements = config["extensions"][0]["settings"]["placements"]
    assert {p["message_type"] for p in placements} == {"LtiDeepLinkingRequest"}
    assert teacher.get("/lti/tool-config").status_code == 403


def test_framing_is_allowed_for_the_app_and_lti_pages_only_once_a_platform_is_registered(
        client: TestClient, platform: Platform, admin: Api) -> None:
    assert client.get("/").headers["x-frame-options"] == "DENY"
    assert admin.post("/lti/platforms", platform.registration()).status_code == 201
    shell = client.get("/").headers
    assert "x-frame-options" not in shell
    assert f"frame-ancestors 'self' {platform.base}" in shell["content-security-policy"]
    page = client.get("/lti/login").headers  # a refusal page, framable so that it can say why inside the LMS
    assert "x-frame-options" not in page and platform.base in page["content-security-policy"]
    api_answer = client.get("/healthz").headers
    assert api_answer["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in api_answer[
        "content-security-policy"]
