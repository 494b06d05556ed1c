"""examsync launched by an independent LTI platform implementation, `lti1p3platform` (not by our own stand-in's
message builders): its login initiation URL, its handling of examsync's redirect (the preflight), its signed
id_token, and its validation of examsync's deep linking answer against the keys examsync publishes."""

from __future__ import annotations

import re
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.oidc_login import OIDCLoginAbstract
from lti1p3platform.registration import Registration
from lti1p3platform.request import Request

from tests.conftest import Api
from tests.lti.conftest import Lms
from tests.lti.platform import query_of

INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
TOOL = "http://testserver"


class PlatformConf(LTI1P3PlatformConfAbstract):
    def init_platform_config(self, **kwargs: Any) -> None:
        self._registration = kwargs["registration"]

    def get_registration_by_params(self, **kwargs: Any) -> Registration:
        return self._registration  # type: ignore[return-value]


class Login(OIDCLoginAbstract):
    def set_lti_message_hint(self, **kwargs: Any) -> None:
        self._lti_message_hint = kwargs["hint"]

    def get_redirect(self, url: str) -> str:
        return url


class Preflight(Request):
    """The browser arriving at the platform's auth URL with examsync's query."""

    def build_metadata(self, request: Any) -> Any:
        return {"method": "GET", "form_data": {}, "get_data": request, "headers": {}, "content_type": None,
                "path": "/auth", "json": None}


class Launch(LTIAdvantageMessageLaunchAbstract):
    def render_launch_form(self, launch_data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return launch_data


def registration(lms: Lms) -> Registration:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return (Registration().set_iss(lms.platform.issuer).set_client_id(lms.platform.client_id)
            .set_deployment_id(lms.platform.deployment_id).set_oidc_login_url(f"{TOOL}/lti/login")
            .set_launch_url(f"{TOOL}/lti/launch").set_deeplink_launch_url(f"{TOOL}/lti/launch")
            .set_platform_private_key(private).set_platform_public_key(public))


def launch_from_library(lms: Lms, conf: PlatformConf, *, user: str, roles: list[str],
                        custom: dict[str, str] | None = None, deep_link: bool = False) -> Any:
    """The library's login initiation to examsync, examsync's redirect back, the library's signed launch POSTed."""
    login = Login(None, conf)
    login.set_lti_message_hint(hint="link-1")
    login_url = login.initiate_login(user)
    redirect = lms.client.get(login_url.removeprefix(TOOL), follow_redirects=False)
    assert redirect.status_code == 302, redirect.text
    launch = Launch(Preflight(query_of(redirect.headers["location"])), conf)
    launch.set_user_data(user, roles, full_name=f"Name of {user}", email_address=f"{user}@lms.example.edu")
    launch.set_resource_link_claim("link-1", title="Unit test")
    launch.set_launch_context_claim("course-1", context_title="Physics 101")
    if custom:
        launch.set_custom_parameters_claim(custom)
    if deep_link:
        launch.set_dl(f"{lms.platform.base}/deep-link-return", accept_types={"ltiResourceLink"},
                      extra_data={"data": "opaque"})
    form = launch.lti_launch()
    assert form["launch_url"] == f"{TOOL}/lti/launch"
    return lms.client.post("/lti/launch", data={"id_token": form["id_token"], "state": form["state"]},
                           follow_redirects=False)


def test_an_independent_platform_launches_an_instructor_and_a_learner(lms: Lms, api: Api) -> None:
    reg = registration(lms)
    lms.platform.published = {"keys": reg.get_jwks()}  # the library's own JWKS, served at the registered URL
    conf = PlatformConf(registration=reg)
    custom = {"examsync_test": "mini-diagnostic"}

    teacher = launch_from_library(lms, conf, user="teacher-1", roles=[INSTRUCTOR], custom=custom)
    assert teacher.status_code == 303, teacher.text
    learner = launch_from_library(lms, conf, user="learner-1", roles=[LEARNER], custom=custom)
    assert learner.status_code == 303, learner.text
    redeemed = lms.client.post("/api/v1/lti/handoff",
                               json={"code": learner.headers["location"].removeprefix("/#/lti/")}).json()
    assert redeemed["landing"].startswith("#/session/") and redeemed["user"]["role"] == "student"


def test_the_independent_platform_accepts_examsyncs_deep_linking_answer(lms: Lms, api: Api) -> None:
    reg = registration(lms)
    lms.platform.published = {"keys": reg.get_jwks()}
    conf = PlatformConf(registration=reg)
    picker = launch_from_library(lms, conf, user="teacher-1", roles=[INSTRUCTOR], deep_link=True)
    assert picker.status_code == 200, picker.text
    action = re.search(r'<form method="post" action="([^"]+)"', picker.text)
    assert action
    answered = lms.client.post(action.group(1), data={"test_id": api.signup().test_id("mini-diagnostic")})
    token = re.search(r'name="JWT" value="([^"]+)"', answered.text)
    assert token
    reg.set_tool_key_set(lms.client.get("/lti/jwks").json())  # what the platform fetches from jwks_uri
    items = conf.validate_deeplinking_resp({"JWT": token.group(1)})
    assert [(i["type"], i["custom"]["examsync_test"]) for i in items] == [("ltiResourceLink", "mini-diagnostic")]
