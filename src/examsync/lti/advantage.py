"""LTI Advantage service calls, the small pieces grade passback (AGS) and roster sync (NRPS) are built from:
an access token from the platform (OAuth 2 client credentials with a JWT assertion signed by the tool's key,
RFC 7523 as LTI Security 1.0 section 4.1 asks), and posting one score to a line item (AGS 2.0, section 3.4).

Failures raise `LtiServiceError`: the platform is down or said no. They are never a user's fault, so they are not
domain errors; a caller that queues work retries them later.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from examsync.lti.keys import ToolKeys

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCORE_MEDIA_TYPE = "application/vnd.ims.lis.v1.score+json"


class LtiServiceError(Exception):
    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def service_token(*, client_id: str, auth_token_url: str, scopes: list[str], tool_keys: ToolKeys,
                  client: httpx.Client, now_s: int) -> dict[str, Any]:
    """The platform's answer to a client credentials grant for these scopes: {"access_token", "expires_in", ...}."""
    assertion = tool_keys.sign({"iss": client_id, "sub": client_id, "aud": auth_token_url, "iat": now_s,
                                "exp": now_s + 300, "jti": secrets.token_urlsafe(16)})
    try:
        response = client.post(auth_token_url, data={
            "grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion, "scope": " ".join(scopes)}, headers={"Accept": "application/json"})
    except httpx.HTTPError as error:
        raise LtiServiceError(f"the platform's token endpoint cannot be reached: {error}") from None
    if response.status_code != 200:
        raise LtiServiceError(f"the platform's token endpoint answered {response.status_code}: {response.text[:200]}",
                              status=response.status_code)
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or not isinstance(answer.get("access_token"), str):
        raise LtiServiceError("the platform's token endpoint answered without an access_token",
                              status=response.status_code)
    return answer


def score(*, user_sub: str, score_given: float | None, score_maximum: float, activity_progress: str,
          grading_progress: str, timestamp_ms: int) -> dict[str, Any]:
    """An AGS score; `score_given` None while nothing is graded yet (the platform then shows no score)."""
    body: dict[str, Any] = {
        "userId": user_sub, "activityProgress": activity_progress, "gradingProgress": grading_progress,
        "timestamp": datetime.fromtimestamp(timestamp_ms / 1000, tz=timezone.utc).isoformat(timespec="milliseconds"),
    }
    if score_given is not None:
        body.update(scoreGiven=score_given, scoreMaximum=score_maximum)
    return body


def scores_url(lineitem_url: str) -> str:
    """The line item's scores endpoint: `/scores` added to its path, its query kept (AGS 2.0, section 3.4.1)."""
    parts = urlsplit(lineitem_url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/") + "/scores", parts.query, ""))


def post_score(*, lineitem_url: str, body: dict[str, Any], access_token: str, client: httpx.Client) -> None:
    try:
        response = client.post(scores_url(lineitem_url), json=body, headers={
            "Authorization": f"Bearer {access_token}", "Content-Type": SCORE_MEDIA_TYPE})
    except httpx.HTTPError as error:
        raise LtiServiceError(f"the platform's scores endpoint cannot be reached: {error}") from None
    if not 200 <= response.status_code < 300:
        raise LtiServiceError(f"the platform refused the score ({response.status_code}): {response.text[:200]}",
                              status=response.status_code)
