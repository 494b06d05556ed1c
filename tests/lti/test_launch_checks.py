"""Every launch check fails closed, each on its own: the launch is refused with a 4xx page naming the check, and
nobody is signed in. One good launch first proves the setup, so each refusal is the check's doing alone."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from tests.conftest import Api
from tests.lti.conftest import Lms, refusal
from tests.lti.platform import INSTRUCTOR, LEARNER, LTI, Key

TEST = {"examsync_test": "mini-diagnostic"}


@pytest.fixture
def course(lms: Lms) -> Lms:
    lms.signed_in(sub="teacher-1", roles=[INSTRUCTOR], custom=TEST)
    return lms


def launch_with(lms: Lms, **claims: Any) -> Any:
    return lms.launch(sub="learner-1", roles=[LEARNER], custom=TEST, **claims)


@pytest.mark.parametrize("claims, reason", [
    ({"iss": "https://other-lms.example.edu"}, "issuer"),
    ({"aud": "another-tool"}, "audience"),
    ({LTI + "deployment_id": "not-registered"}, "deployment"),
    ({LTI + "version": "1.1"}, "version"),
    ({"message_type": "LtiSubmissionReviewRequest"}, "message_type"),
    ({"resource_link_id": ""}, "resource_link"),
], ids=["issuer", "audience", "deployment", "version", "message_type", "resource_link"])
def test_a_launch_with_a_wrong_claim_is_refused(course: Lms, claims: dict[str, Any], reason: str) -> None:
    assert refusal(launch_with(course, **claims)) == reason


def test_an_audience_list_needs_this_tool_as_its_authorized_party(course: Lms) -> None:
    both = [course.platform.client_id, "another-tool"]
    assert refusal(launch_with(course, aud=both)) == "audience"
    assert refusal(launch_with(course, aud=both, azp="another-tool")) == "audience"
    assert launch_with(course, aud=both, azp=course.platform.client_id).status_code == 303


def test_an_expired_id_token_is_refused_and_a_little_clock_skew_is_not(course: Lms, api: Api) -> None:
    now = api.clock() / 1000
    assert launch_with(course, now=now - 330).status_code == 303  # expired 30 s ago: within the leeway
    assert refusal(launch_with(course, now=now - 400)) == "exp"
    assert refusal(launch_with(course, now=now + 300)) == "iat"  # issued in the future


def test_a_replayed_launch_is_refused(course: Lms) -> None:
    auth = course.login()
    id_token = course.platform.id_token(auth["nonce"], sub="learner-1", custom=TEST)
    assert course.post(id_token, auth["state"]).status_code == 303
    assert refusal(course.post(id_token, auth["state"])) == "state"  # the same form posted again
    fresh = course.login()
    assert refusal(course.post(id_token, fresh["state"])) == "nonce"  # the old token with a new login's state


def test_an_unknown_or_missing_state_is_refused(course: Lms) -> None:
    auth = course.login()
    id_token = course.platform.id_token(auth["nonce"], sub="learner-1", custom=TEST)
    assert refusal(course.post(id_token, "a-state-examsync-never-issued")) == "state"
    assert refusal(course.post(id_token, "")) == "state"


def test_a_login_state_expires(course: Lms, api: Api) -> None:
    auth = course.login()
    api.clock.advance(11 * 60)
    id_token = course.platform.id_token(auth["nonce"], sub="learner-1", custom=TEST, now=api.clock() / 1000)
    assert refusal(course.post(id_token, auth["state"])) == "state"


def test_a_token_signed_with_a_key_the_platform_does_not_publish_is_refused(course: Lms) -> None:
    auth = course.login()
    stranger = Key.new()
    forged = course.platform.sign(course.platform.claims(auth["nonce"], custom=TEST), key=stranger)
    fetches = course.platform.jwks_fetches
    assert refusal(course.post(forged, auth["state"])) == "kid"
    assert course.platform.jwks_fetches == fetches + 1  # looked again once, then refused


def test_a_known_kid_with_another_keys_signature_is_refused(course: Lms) -> None:
    auth = course.login()
    forged = course.platform.sign(course.platform.claims(auth["nonce"], custom=TEST), key=Key.new(),
                                  kid=course.platform.keys[0].kid)
    assert refusal(course.post(forged, auth["state"])) == "signature"


@pytest.mark.parametrize("alg", ["HS256", "none", "RS512"])
def test_only_rs256_is_accepted(course: Lms, alg: str) -> None:
    auth = course.login()
    claims = course.platform.claims(auth["nonce"], custom=TEST)
    key = course.platform.keys[0]
    if alg == "HS256":  # the classic confusion: the platform's public key used as an HMAC secret
        public_pem = key.private.public_key().public_bytes(serialization.Encoding.PEM,
                                                           serialization.PublicFormat.SubjectPublicKeyInfo)
        token = _hand_signed(claims, {"alg": "HS256", "kid": key.kid}, public_pem)
    elif alg == "none":
        token = _hand_signed(claims, {"alg": "none", "kid": key.kid}, None)
    else:
        token = jwt.encode(claims, key.pem, algorithm="RS512", headers={"kid": key.kid})
    assert refusal(course.post(token, auth["state"])) == "alg"


def test_tampered_claims_break_the_signature(course: Lms) -> None:
    auth = course.login()
    token = course.platform.id_token(auth["nonce"], sub="learner-1", custom=TEST)
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims[LTI + "roles"] = [INSTRUCTOR]
    tampered = f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"
    assert refusal(course.post(tampered, auth["state"])) == "signature"


def test_a_learner_claiming_instructor_through_a_custom_claim_stays_a_student(course: Lms) -> None:
    signed_in = course.signed_in(sub="learner-1", roles=[LEARNER],
                                 custom={**TEST, "roles": INSTRUCTOR, "role": "Instructor",
                                         LTI + "roles": INSTRUCTOR})
    assert signed_in["user"]["role"] == "student"
    assert signed_in["landing"].startswith("#/session/")


def test_a_deep_linking_request_from_a_learner_is_refused(course: Lms) -> None:
    assert refusal(course.launch(sub="learner-1", roles=[LEARNER], message_type="LtiDeepLinkingRequest")) == "role"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hand_signed(claims: dict[str, Any], header: dict[str, Any], secret: bytes | None) -> str:
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = b"" if secret is None else hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"
