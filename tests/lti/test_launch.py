"""LTI 1.3 launches against a stand-in platform, on SQLite and PostgreSQL: the login initiation, a learner straight
into the test, an instructor onto the proctor page, the one-time sign-in code, accounts by (issuer, sub)."""

from __future__ import annotations

import pytest

from tests.conftest import Api
from tests.lti.conftest import Lms, refusal
from tests.lti.platform import INSTRUCTOR, LEARNER, Platform, query_of

TEST = {"examsync_test": "mini-diagnostic"}


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_the_login_initiation_redirects_to_the_platform_with_every_parameter(lms: Lms, method: str) -> None:
    params = lms.platform.login_params()
    response = (lms.client.get("/lti/login", params=params, follow_redirects=False) if method == "GET"
                else lms.client.post("/lti/login", data=params, follow_redirects=False))
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(f"{lms.platform.base}/auth?")
    query = query_of(location)
    assert {k: query[k] for k in ("scope", "response_type", "response_mode", "prompt", "client_id", "redirect_uri",
                                  "login_hint", "lti_message_hint")} == {
        "scope": "openid", "response_type": "id_token", "response_mode": "form_post", "prompt": "none",
        "client_id": lms.platform.client_id, "redirect_uri": "http://testserver/lti/launch",
        "login_hint": "user-hint", "lti_message_hint": "message-hint"}
    assert len(query["state"]) >= 32 and len(query["nonce"]) >= 32 and query["state"] != query["nonce"]


@pytest.mark.parametrize("change, reason", [
    ({"iss": "https://other-lms.example.edu"}, "issuer"),
    ({"client_id": "someone-else"}, "issuer"),
    ({"lti_deployment_id": "not-registered"}, "deployment"),
    ({"login_hint": ""}, "login"),
])
def test_a_login_from_an_unknown_platform_is_refused_with_a_page_that_says_why(
        lms: Lms, change: dict[str, str], reason: str) -> None:
    response = lms.client.get("/lti/login", params=lms.platform.login_params(**change), follow_redirects=False)
    assert refusal(response) == reason


def test_a_learner_launches_straight_into_the_test_and_resumes_the_same_attempt(lms: Lms, api: Api) -> None:
    lms.signed_in(sub="teacher-1", roles=[INSTRUCTOR], custom=TEST)  # the course's class and assignment
    first = lms.signed_in(sub="learner-1", roles=[LEARNER], custom=TEST)
    assert first["landing"].startswith("#/session/") and first["user"]["role"] == "student"
    assert first["user"]["email"] == "learner-1@lms.example.edu"
    assert first["user"]["display_name"] == "Name of learner-1"
    learner = lms.as_api(first, api)
    session_id = first["landing"].removeprefix("#/session/")
    state = learner.resume(session_id)
    assert state["status"] == "active"
    mine = learner.get("/assignments").json()
    assert len(mine) == 1 and mine[0]["test_id"] == learner.test_id("mini-diagnostic")

    again = lms.signed_in(sub="learner-1", roles=[LEARNER], custom=TEST)
    assert again["landing"] == first["landing"]  # the same attempt, resumed
    assert again["user"]["user_id"] == first["user"]["user_id"]


def test_an_instructor_launch_makes_the_course_a_class_they_own_and_lands_on_the_proctor_page(
        lms: Lms, api: Api) -> None:
    signed_in = lms.signed_in(sub="teacher-1", roles=[INSTRUCTOR], custom=TEST)
    assert signed_in["user"]["role"] == "teacher"
    assert signed_in["landing"].startswith("#/staff/proctor/")
    teacher = lms.as_api(signed_in, api)
    classes = teacher.get("/classes").json()
    assert [c["name"] for c in classes] == ["Physics 101"]
    assignment_id = signed_in["landing"].removeprefix("#/staff/proctor/")
    assignment = teacher.get(f"/assignments/{assignment_id}")
    assert assignment.status_code == 200 and assignment.json()["class_id"] == classes[0]["id"]

    learner = lms.signed_in(sub="learner-2", roles=[LEARNER], custom=TEST)
    roster = teacher.get(f"/classes/{classes[0]['id']}/students").json()
    assert [s["user_id"] for s in roster] == [learner["user"]["user_id"]]  # enrolled by the launch


def test_a_learner_before_the_course_is_set_up_is_told_so(lms: Lms) -> None:
    assert refusal(lms.launch(sub="learner-1", roles=[LEARNER], custom=TEST)) == "context"


def test_the_sign_in_code_works_once(lms: Lms) -> None:
    response = lms.launch(sub="teacher-1", roles=[INSTRUCTOR], custom=TEST)
    code = response.headers["location"].removeprefix("/#/lti/")
    assert lms.client.post("/api/v1/lti/handoff", json={"code": code}).status_code == 200
    again = lms.client.post("/api/v1/lti/handoff", json={"code": code})
    assert again.status_code == 404 and again.json()["error"]["code"] == "not_found"


def test_an_unused_sign_in_code_expires(lms: Lms, api: Api) -> None:
    response = lms.launch(sub="teacher-1", roles=[INSTRUCTOR], custom=TEST)
    api.clock.advance(121)
    code = response.headers["location"].removeprefix("/#/lti/")
    assert lms.client.post("/api/v1/lti/handoff", json={"code": code}).status_code == 404


def test_an_email_of_another_account_does_not_take_that_account_over(lms: Lms, api: Api) -> None:
    existing = api.signup("learner-1@lms.example.edu")
    lms.signed_in(sub="teacher-1", roles=[INSTRUCTOR], custom=TEST)
    launched = lms.signed_in(sub="learner-1", roles=[LEARNER], custom=TEST)
    assert launched["user"]["user_id"] != existing.user_id
    assert launched["user"]["email"].endswith("@lti.invalid")
    assert existing.get("/me").json()["email"] == "learner-1@lms.example.edu"


def test_the_same_sub_from_another_issuer_is_another_account(lms: Lms, admin: Api) -> None:
    lms.signed_in(sub="teacher-1", roles=[INSTRUCTOR], custom=TEST)
    other = Platform.start(issuer="https://other-lms.example.edu")
    try:
        assert admin.post("/lti/platforms", other.registration()).status_code == 201
        other_lms = Lms(other, lms.client)
        here = lms.signed_in(sub="same", roles=[INSTRUCTOR], custom=TEST)
        there = other_lms.signed_in(sub="same", roles=[INSTRUCTOR], custom=TEST)
        assert here["user"]["user_id"] != there["user"]["user_id"]
    finally:
        other.stop()


def test_a_role_is_raised_by_a_later_launch_and_never_lowered(lms: Lms) -> None:
    lms.signed_in(sub="teacher-1", roles=[INSTRUCTOR], custom=TEST)
    assert lms.signed_in(sub="person", roles=[LEARNER], custom=TEST)["user"]["role"] == "student"
    assert lms.signed_in(sub="person", roles=[INSTRUCTOR], custom=TEST, context_id="course-2")["user"]["role"] \
        == "teacher"
    as_learner = lms.signed_in(sub="person", roles=[LEARNER], custom=TEST)
    assert as_learner["user"]["role"] == "teacher"
    assert as_learner["landing"].startswith("#/session/")  # a learner in this course: into the test


def test_the_platforms_keys_are_fetched_once_and_again_when_a_new_kid_appears(lms: Lms) -> None:
    lms.signed_in(sub="teacher-1", roles=[INSTRUCTOR], custom=TEST)
    lms.signed_in(sub="learner-1", roles=[LEARNER], custom=TEST)
    assert lms.platform.jwks_fetches == 1  # cached
    lms.platform.rotate()
    lms.signed_in(sub="learner-1", roles=[LEARNER], custom=TEST)
    assert lms.platform.jwks_fetches == 2


def test_a_later_launch_brings_the_name_up_to_date_and_the_email_once_it_is_free(lms: Lms, api: Api) -> None:
    lms.signed_in(sub="teacher-1", roles=[INSTRUCTOR], custom=TEST)
    taken = api.signup("learner-1@lms.example.edu")
    first = lms.signed_in(sub="learner-1", roles=[LEARNER], custom=TEST)
    assert first["user"]["email"].endswith("@lti.invalid")
    assert taken.get("/me").json()["email"] == "learner-1@lms.example.edu"  # still the other account's
    renamed = lms.signed_in(sub="learner-1", roles=[LEARNER], custom=TEST, name="Ada Lovelace",
                            email="ada@lms.example.edu")
    assert renamed["user"]["user_id"] == first["user"]["user_id"]
    assert renamed["user"]["display_name"] == "Ada Lovelace" and renamed["user"]["email"] == "ada@lms.example.edu"
