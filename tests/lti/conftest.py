"""Fixtures of the LTI tests: a stand-in platform registered with the app (on SQLite and PostgreSQL), and a
browser's side of a launch (login initiation, form POST of the id_token, the web app's code exchange)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Api
from tests.lti.platform import Platform, query_of


@pytest.fixture
def platform() -> Iterator[Platform]:
    started = Platform.start()
    yield started
    started.stop()


@dataclass
class Lms:
    """The platform as the browser sees it: it starts logins and posts launches to the app."""

    platform: Platform
    client: TestClient

    def login(self, **params: str) -> dict[str, str]:
        """A login initiation; the query of the tool's redirect to the platform's auth URL."""
        response = self.client.get("/lti/login", params=self.platform.login_params(**params),
                                   follow_redirects=False)
        assert response.status_code == 302, response.text
        return query_of(response.headers["location"])

    def post(self, id_token: str, state: str) -> Any:
        return self.client.post("/lti/launch", data={"id_token": id_token, "state": state}, follow_redirects=False)

    def launch(self, **claims: Any) -> Any:
        """A whole launch with these claims (see Platform.claims); the app's answer to the form POST."""
        auth = self.login()
        return self.post(self.platform.id_token(auth["nonce"], **claims), auth["state"])

    def signed_in(self, **claims: Any) -> dict[str, Any]:
        """A launch that must succeed, then the code exchange: {access_token, landing, user, ...}."""
        response = self.launch(**claims)
        assert response.status_code == 303, response.text
        location = response.headers["location"]
        assert location.startswith("/#/lti/")
        redeemed = self.client.post("/api/v1/lti/handoff", json={"code": location.removeprefix("/#/lti/")})
        assert redeemed.status_code == 200, redeemed.text
        return redeemed.json()

    def as_api(self, signed_in: dict[str, Any], api: Api) -> Api:
        other = Api(self.client, api.clock)
        other.headers = {"Authorization": f"Bearer {signed_in['access_token']}"}
        return other


@pytest.fixture
def lms(platform: Platform, admin: Api, client: TestClient) -> Lms:
    registered = admin.post("/lti/platforms", platform.registration())
    assert registered.status_code == 201, registered.text
    return Lms(platform, client)


def refusal(response: Any) -> str:
    """The check a refused launch names on its page."""
    assert response.status_code == 400, (response.status_code, response.text[:300])
    assert "text/html" in response.headers["content-type"]
    assert 'data-code="lti_launch_refused"' in response.text
    return response.text.split('data-reason="', 1)[1].split('"', 1)[0]
