"""LTI Advantage service calls, the small pieces grade passback (AGS) and roster sync (NRPS) are built from:
an access token from the platform (OAuth 2 client credentials with a JWT assertion signed by the tool's key,
RFC 7523 as LTI Security 1.0 section 4.1 asks), posting one score to a line item (AGS 2.0, section 3.4), creating a
line item (section 3.2) and reading a course's members page by page (NRPS 2.0).

Failures raise `LtiServiceError`: the platform is down or said no. They are never a user's fault, so they are not
domain errors; a caller that queues work retries them later.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from examsync.lti.keys import ToolKeys

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCORE_MEDIA_TYPE = "application/vnd.ims.lis.v1.score+json"


class LtiServiceError(Exception):
    """`status`: the platform's HTTP status (None: not reached); `retry_after`: seconds it asked to wait (429, 503)."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after

    @property
    def permanent(self) -> bool:
        """The platform refused for good: a 4xx other than timeout and too many requests (those pass)."""
        return self.status is not None and 400 <= self.status < 500 and self.status not in (408, 429)


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
                              status=response.status_code,
                              retry_after=_retry_after(response.headers.get("Retry-After")))
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
    _check(response, "the platform refused the score")


LINEITEM_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
LINEITEM_MEDIA_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
MEMBERSHIPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
MEMBERSHIPS_MEDIA_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
MAX_MEMBERSHIP_PAGES = 1000  # a platform whose `next` links never end is not followed for ever


def create_line_item(*, lineitems_url: str, label: str, score_maximum: float, resource_link_id: str,
                     access_token: str, client: httpx.Client) -> str:
    """Create the resource link's line item in the course's line items container (AGS 2.0, section 3.2); its URL."""
    try:
        response = client.post(lineitems_url, content=json.dumps({
            "scoreMaximum": score_maximum, "label": label or "examsync", "resourceLinkId": resource_link_id}),
            headers={"Authorization": f"Bearer {access_token}", "Content-Type": LINEITEM_MEDIA_TYPE,
                     "Accept": LINEITEM_MEDIA_TYPE})
    except httpx.HTTPError as error:
        raise LtiServiceError(f"the platform's line items endpoint cannot be reached: {error}") from None
    _check(response, "the platform refused to create the line item")
    try:
        url = response.json().get("id")
    except (ValueError, AttributeError):
        url = None
    if not isinstance(url, str) or not url:
        raise LtiServiceError("the platform created a line item without telling its id", status=response.status_code)
    return url


def memberships(*, memberships_url: str, access_token: str, client: httpx.Client) -> list[dict[str, Any]]:
    """Every member of the course (NRPS 2.0), following the `Link: <...>; rel="next"` pages to the last one."""
    members: list[dict[str, Any]] = []
    url: str | None = memberships_url
    for _ in range(MAX_MEMBERSHIP_PAGES):
        if url is None:
            return members
        try:
            response = client.get(url, headers={"Authorization": f"Bearer {access_token}",
                                                 "Accept": MEMBERSHIPS_MEDIA_TYPE})
        except httpx.HTTPError as error:
            raise LtiServiceError(f"the platform's memberships endpoint cannot be reached: {error}") from None
        _check(response, "the platform refused the membership list")
        try:
            page = response.json()
        except ValueError:
            page = None
        if not isinstance(page, dict) or not isinstance(page.get("members"), list):
            raise LtiServiceError("the platform's membership list has no members", status=response.status_code)
        members.extend(m for m in page["members"] if isinstance(m, dict))
        url = response.links.get("next", {}).get("url")
    raise LtiServiceError(f"the platform's membership list goes on for more than {MAX_MEMBERSHIP_PAGES} pages")


def _check(response: httpx.Response, refused: str) -> None:
    if 200 <= response.status_code < 300:
        return
    raise LtiServiceError(f"{refused} ({response.status_code}): {response.text[:200]}", status=response.status_code,
                          retry_after=_retry_after(response.headers.get("Retry-After")))


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (RFC 9110: delay-seconds; an HTTP date is read too)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - datetime.now(timezone.utc).timestamp())
    except (TypeError, ValueError):
        return None
