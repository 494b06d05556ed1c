"""LTI 1.3 launch rules: what a verified id_token's claims must hold, and what they mean here.

Plain Python on a dict of claims whose signature, issuer, audience and times were already checked
(`examsync.lti.tokens`); nothing here does I/O. Each refusal is an `LtiLaunchError` whose `reason` names the check
that failed, so the page that says why, the log and the tests agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from examsync.domain.content import Test
from examsync.domain.errors import InvalidRequestError, LtiLaunchError

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/"
MESSAGE_TYPE = LTI + "message_type"
VERSION = LTI + "version"
DEPLOYMENT_ID = LTI + "deployment_id"
TARGET_LINK_URI = LTI + "target_link_uri"
RESOURCE_LINK = LTI + "resource_link"
ROLES = LTI + "roles"
CONTEXT = LTI + "context"
CUSTOM = LTI + "custom"
DEEP_LINKING_SETTINGS = DL + "deep_linking_settings"
DEEP_LINKING_DATA = DL + "data"
CONTENT_ITEMS = DL + "content_items"
ENDPOINT = AGS + "endpoint"
NAMES_ROLE_SERVICE = NRPS + "namesroleservice"

RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"
DEEP_LINKING_REQUEST = "LtiDeepLinkingRequest"
DEEP_LINKING_RESPONSE = "LtiDeepLinkingResponse"
MESSAGE_TYPES = (RESOURCE_LINK_REQUEST, DEEP_LINKING_REQUEST)
CUSTOM_TEST = "examsync_test"

# The role vocabularies of LTI 1.3 (core appendix A): context roles (membership), institution and system roles, with
# the short forms platforms also send. Only the last path segment and fragment matter here.
_TEACHING = {"Instructor", "TeachingAssistant"}  # with every sub-role: membership/Instructor#Grader, ...
_ADMIN = {"Administrator", "SysAdmin"}


def _role_parts(uri: str) -> tuple[str, str]:
    """('Instructor', 'TeachingAssistant') for ...membership/Instructor#TeachingAssistant; ('Learner', '')."""
    head, _, fragment = uri.partition("#")
    name = head.rstrip("/").rsplit("/", 1)[-1]
    if name in ("membership", "institution", "system", "person"):  # .../lis/v2/membership#Instructor
        return fragment, ""
    return name, fragment


def examsync_role(roles: Any) -> str:
    """The examsync role the LTI roles claim gives: admin over teacher over student; unknown or missing: student.

    Only the roles claim decides; a custom parameter never does (a Learner cannot claim Instructor through it).
    """
    if not isinstance(roles, list):
        return "student"
    names = [_role_parts(r) for r in roles if isinstance(r, str)]
    if any(name in _ADMIN for name, _ in names):
        return "admin"
    if any(name in _TEACHING for name, _ in names):
        return "teacher"
    return "student"


@dataclass(frozen=True)
class Launch:
    """What a checked launch says, in examsync's terms."""

    message_type: str
    deployment_id: str
    sub: str
    role: str
    name: str
    email: str
    context_id: str | None
    context_title: str
    resource_link_id: str | None
    resource_link_title: str
    test_reference: str | None
    custom: dict[str, str]
    lineitem_url: str | None
    lineitems_url: str | None
    memberships_url: str | None
    deep_linking: dict[str, Any] | None
    ags_scopes: tuple[str, ...] = ()  # the AGS scopes the platform granted (its endpoint claim's `scope`)


def _text(value: Any, limit: int = 255) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


def read_launch(claims: dict[str, Any], *, deployments: set[str]) -> Launch:
    """Check the LTI claims of a verified id_token and read them; `deployments` are the platform's registered ones."""
    if claims.get(VERSION) != "1.3.0":
        raise LtiLaunchError("this launch is not LTI version 1.3.0", reason="version")
    message_type = claims.get(MESSAGE_TYPE)
    if message_type not in MESSAGE_TYPES:
        raise LtiLaunchError(f"examsync does not accept the message type {str(message_type)[:60]!r}",
                             reason="message_type")
    deployment_id = claims.get(DEPLOYMENT_ID)
    if not isinstance(deployment_id, str) or deployment_id not in deployments:
        raise LtiLaunchError("this deployment of the tool is not registered with examsync: an admin adds it with "
                             "`examsync lti add-platform --deployment-id`", reason="deployment")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub.strip() or len(sub) > 255:
        raise LtiLaunchError("the launch names no user (sub)", reason="sub")
    context = claims.get(CONTEXT) if isinstance(claims.get(CONTEXT), dict) else {}
    link = claims.get(RESOURCE_LINK) if isinstance(claims.get(RESOURCE_LINK), dict) else {}
    custom = claims.get(CUSTOM) if isinstance(claims.get(CUSTOM), dict) else {}
    endpoint = claims.get(ENDPOINT) if isinstance(claims.get(ENDPOINT), dict) else {}
    nrps = claims.get(NAMES_ROLE_SERVICE) if isinstance(claims.get(NAMES_ROLE_SERVICE), dict) else {}
    settings = claims.get(DEEP_LINKING_SETTINGS)
    resource_link_id = _text(link.get("id")) or None
    if message_type == RESOURCE_LINK_REQUEST and resource_link_id is None:
        raise LtiLaunchError("a resource link launch must name its resource link", reason="resource_link")
    if message_type == DEEP_LINKING_REQUEST:
        settings = check_deep_linking_settings(settings)
    return Launch(
        message_type=message_type, deployment_id=deployment_id, sub=sub, role=examsync_role(claims.get(ROLES)),
        name=person_name(claims), email=person_email(claims),
        context_id=_text(context.get("id")) or None, context_title=_text(context.get("title"), 200),
        resource_link_id=resource_link_id, resource_link_title=_text(link.get("title"), 300),
        test_reference=_text(custom.get(CUSTOM_TEST), 100) or None,
        custom={str(k)[:100]: str(v)[:1000] for k, v in custom.items()},
        lineitem_url=_text(endpoint.get("lineitem"), 2000) or None,
        lineitems_url=_text(endpoint.get("lineitems"), 2000) or None,
        memberships_url=_text(nrps.get("context_memberships_url"), 2000) or None,
        deep_linking=settings if message_type == DEEP_LINKING_REQUEST else None,
        ags_scopes=tuple(_text(scope, 200) for scope in endpoint.get("scope", []) if isinstance(scope, str))
        if isinstance(endpoint.get("scope"), list) else (),
    )


def person_name(claims: dict[str, Any]) -> str:
    """A person's name in a launch's claims or an NRPS member: `name`, else given and family names."""
    return _text(claims.get("name"), 200) or " ".join(
        p for p in (_text(claims.get("given_name"), 100), _text(claims.get("family_name"), 100)) if p)


def person_email(claims: dict[str, Any]) -> str:
    return _text(claims.get("email"), 320).lower()


def check_deep_linking_settings(settings: Any) -> dict[str, Any]:
    """A deep linking request's settings, if examsync can answer them: a return URL, and ltiResourceLink accepted."""
    if not isinstance(settings, dict) or not isinstance(settings.get("deep_link_return_url"), str):
        raise LtiLaunchError("the deep linking request has no deep_link_return_url", reason="deep_linking_settings")
    accepted = settings.get("accept_types")
    if not isinstance(accepted, list) or "ltiResourceLink" not in accepted:
        raise LtiLaunchError("the platform does not accept resource links here (accept_types)",
                             reason="deep_linking_settings")
    return settings


def deep_linking_response_claims(*, platform_issuer: str, client_id: str, deployment_id: str, data: str | None,
                                 items: list[dict[str, Any]], now_s: int, nonce: str) -> dict[str, Any]:
    """The claims of the tool's LtiDeepLinkingResponse (Deep Linking 2.0, section 4.2): the tool is the issuer."""
    claims: dict[str, Any] = {
        "iss": client_id, "aud": platform_issuer, "iat": now_s, "exp": now_s + 600, "nonce": nonce,
        MESSAGE_TYPE: DEEP_LINKING_RESPONSE, VERSION: "1.3.0", DEPLOYMENT_ID: deployment_id,
        CONTENT_ITEMS: items,
    }
    if data is not None:
        claims[DEEP_LINKING_DATA] = data
    return claims


# The options a deep link carries as custom values (strings), and the assignment setting each one is.
OPTION_KEYS = {"examsync_opens_at": "opens_at", "examsync_closes_at": "closes_at",
               "examsync_max_attempts": "max_attempts", "examsync_time_multiplier": "time_multiplier"}


def assignment_options(values: dict[str, str]) -> dict[str, Any]:
    """The assignment settings among these custom values (or picker fields); empty ones and others are left out."""
    options: dict[str, Any] = {}
    for key, name in OPTION_KEYS.items():
        value = str(values.get(key, "")).strip()
        if not value:
            continue
        try:
            options[name] = float(value) if name == "time_multiplier" else int(value)
        except ValueError:
            raise InvalidRequestError(f"{key} must be a number", field=key) from None
    return options


def score_maximum(test: Test) -> float:
    """A test's line item maximum: the points of all its questions."""
    return float(sum(q.points for section in test.sections for q in section.questions))


def resource_link_item(*, url: str, title: str, test_slug: str, score_maximum: float,
                       options: dict[str, str]) -> dict[str, Any]:
    """One ltiResourceLink content item for a test, with its line item and the chosen options as custom values."""
    return {
        "type": "ltiResourceLink", "title": title, "url": url,
        "custom": {CUSTOM_TEST: test_slug, **options},
        "lineItem": {"scoreMaximum": score_maximum, "label": title},
    }
