"""The service calls AGS and NRPS are built from, against the stand-in platform's real HTTP endpoints: a service
access token by a JWT assertion the tool signs, and one score posted to a line item."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient

from examsync.lti.advantage import LtiServiceError, SCORE_SCOPE, post_score, score, scores_url, service_token
from examsync.lti.keys import ToolKeys
from tests.conftest import Api
from tests.lti.platform import Platform


def test_a_service_token_is_asked_for_with_an_assertion_signed_by_the_tools_key(
        client: TestClient, api: Api, platform: Platform) -> None:
    keys = ToolKeys(client.app.state.database, api.clock)  # type: ignore[attr-defined]
    with httpx.Client() as http:
        answer = service_token(client_id=platform.client_id, auth_token_url=f"{platform.base}/token",
                               scopes=[SCORE_SCOPE], tool_keys=keys, client=http, now_s=api.clock() // 1000)
    assert answer["access_token"] == "platform-token"
    [request] = platform.received
    form = {k: v[0] for k, v in parse_qs(request["body"]).items()}
    assert form["grant_type"] == "client_credentials" and form["scope"] == SCORE_SCOPE
    assert form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    published = {k["kid"]: jwt.PyJWK(k).key for k in client.get("/lti/jwks").json()["keys"]}
    assertion = form["client_assertion"]
    claims = jwt.decode(assertion, published[jwt.get_unverified_header(assertion)["kid"]], algorithms=["RS256"],
                        audience=f"{platform.base}/token")
    assert claims["iss"] == claims["sub"] == platform.client_id and claims["jti"]


def test_a_score_is_posted_to_the_line_items_scores_endpoint(platform: Platform) -> None:
    body = score(user_sub="learner-1", score_given=7.5, score_maximum=10, activity_progress="Completed",
                 grading_progress="FullyGraded", timestamp_ms=1_796_000_000_123)
    with httpx.Client() as http:
        post_score(lineitem_url=f"{platform.base}/lineitems/9?type=x", body=body, access_token="platform-token",
                   client=http)
    [request] = platform.received
    assert request["path"] == "/lineitems/9/scores?type=x"
    assert request["headers"]["Authorization"] == "Bearer platform-token"
    assert request["headers"]["Content-Type"] == "application/vnd.ims.lis.v1.score+json"
    assert json.loads(request["body"]) == {
        "userId": "learner-1", "scoreGiven": 7.5, "scoreMaximum": 10, "activityProgress": "Completed",
        "gradingProgress": "FullyGraded", "timestamp": "2026-11-30T00:53:20.123+00:00"}


def test_an_unreachable_platform_is_a_service_error() -> None:
    with httpx.Client() as http, pytest.raises(LtiServiceError):
        post_score(lineitem_url="http://127.0.0.1:9/lineitems/1", body={}, access_token="t", client=http)
    assert scores_url("https://lms.example.edu/api/lineitems/4/") == "https://lms.example.edu/api/lineitems/4/scores"
