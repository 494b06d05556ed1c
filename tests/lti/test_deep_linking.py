"""Deep linking: an instructor picks a test and its options in examsync's picker; the platform gets a signed
LtiDeepLinkingResponse with an ltiResourceLink carrying the test, and launches of that link open it."""

from __future__ import annotations

import re
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from tests.conftest import Api
from tests.lti.conftest import Lms, refusal
from tests.lti.platform import DL, INSTRUCTOR, LEARNER, LTI

DEEP_LINK = "LtiDeepLinkingRequest"


def picker_of(lms: Lms, **claims: Any) -> tuple[str, str]:
    """The picker page's form action and HTML."""
    response = lms.launch(sub="teacher-1", roles=[INSTRUCTOR], message_type=DEEP_LINK, **claims)
    assert response.status_code == 200, response.text
    action = re.search(r'<form method="post" action="([^"]+)"', response.text)
    assert action
    return action.group(1), response.text


def answer(lms: Lms, action: str, **choice: str) -> tuple[str, str]:
    """The return page's form target and its JWT."""
    response = lms.client.post(action, data=choice)
    assert response.status_code == 200, response.text
    target = re.search(r'<form method="post" action="([^"]+)" data-autosubmit>', response.text)
    token = re.search(r'name="JWT" value="([^"]+)"', response.text)
    assert target and token
    policy = response.headers["content-security-policy"]
    assert f"form-action 'self' {lms.platform.base}" in policy  # the page may post to the platform, nowhere else
    return target.group(1), token.group(1)


def verified(client: TestClient, token: str, audience: str) -> dict[str, Any]:
    keys = {k["kid"]: jwt.PyJWK(k).key for k in client.get("/lti/jwks").json()["keys"]}
    return jwt.decode(token, keys[jwt.get_unverified_header(token)["kid"]], algorithms=["RS256"], audience=audience)


def test_the_picker_lists_the_tests_and_answers_with_a_signed_resource_link(lms: Lms, api: Api) -> None:
    action, page = picker_of(lms)
    assert "Mini diagnostic" in page or "mini" in page.lower()
    test_id = api.signup().test_id("mini-diagnostic")
    closes = str(api.clock() + 7 * 24 * 3600 * 1000)
    target, token = answer(lms, action, test_id=test_id, examsync_max_attempts="2", examsync_time_multiplier="1.5",
                           examsync_opens_at="", examsync_closes_at=closes)
    assert target == f"{lms.platform.base}/deep-link-return"
    claims = verified(lms.client, token, lms.platform.issuer)
    assert claims["iss"] == lms.platform.client_id and claims["aud"] == lms.platform.issuer
    assert claims[LTI + "message_type"] == "LtiDeepLinkingResponse" and claims[LTI + "version"] == "1.3.0"
    assert claims[LTI + "deployment_id"] == lms.platform.deployment_id
    assert claims[DL + "data"] == "opaque-platform-data"  # echoed
    [item] = claims[DL + "content_items"]
    assert item["type"] == "ltiResourceLink" and item["url"] == "http://testserver/lti/launch"
    assert item["custom"] == {"examsync_test": "mini-diagnostic", "examsync_max_attempts": "2",
                              "examsync_time_multiplier": "1.5", "examsync_closes_at": closes}
    assert item["lineItem"]["scoreMaximum"] > 0 and item["lineItem"]["label"] == item["title"]

    # The platform makes the link; launching it opens the test as an assignment with those options.
    teacher = lms.signed_in(sub="teacher-1", roles=[INSTRUCTOR], custom=item["custom"], resource_link_id="dl-1")
    assignment_id = teacher["landing"].removeprefix("#/staff/proctor/")
    assignment = lms.as_api(teacher, api).get(f"/assignments/{assignment_id}").json()
    assert assignment["max_attempts"] == 2 and assignment["time_multiplier"] == 1.5
    assert assignment["closes_at"] == int(closes)
    learner = lms.signed_in(sub="learner-1", roles=[LEARNER], custom=item["custom"], resource_link_id="dl-1")
    assert learner["landing"].startswith("#/session/")


def test_a_picker_answers_once(lms: Lms, api: Api) -> None:
    action, _ = picker_of(lms)
    test_id = api.signup().test_id("mini-diagnostic")
    answer(lms, action, test_id=test_id)
    again = lms.client.post(action, data={"test_id": test_id})
    assert again.status_code == 404 and "expired or was used" in again.text


def test_a_picker_refuses_bad_options_and_unknown_tests(lms: Lms, api: Api) -> None:
    action, _ = picker_of(lms)
    test_id = api.signup().test_id("mini-diagnostic")
    assert lms.client.post(action, data={"test_id": test_id, "examsync_max_attempts": "many"}).status_code == 422
    assert lms.client.post(action, data={"test_id": "no-such-test"}).status_code == 422


@pytest.mark.parametrize("deep_linking", [
    {"deep_link_return_url": "https://lms.example.edu/return", "accept_types": ["link", "file"]},
    {"accept_types": ["ltiResourceLink"]},
], ids=["resource links not accepted", "no return URL"])
def test_a_deep_linking_request_examsync_cannot_answer_is_refused(lms: Lms, deep_linking: dict[str, Any]) -> None:
    response = lms.launch(sub="teacher-1", roles=[INSTRUCTOR], message_type=DEEP_LINK,
                          **{DL + "deep_linking_settings": deep_linking})
    assert refusal(response) == "deep_linking_settings"
