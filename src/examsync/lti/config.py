"""The tool's configuration, as an LMS administrator pastes it: its URLs, and the JSON Canvas accepts.

Every URL is absolute, built from EXAMSYNC_PUBLIC_URL (docs/settings.md).
"""

from __future__ import annotations

from typing import Any

TITLE = "examsync"
DESCRIPTION = "Online tests that never lose an answer: students sit them in the course, scores go to the gradebook."
# What the tool asks for: posting scores and reading line items (AGS), reading the course roster (NRPS).
SCOPES = [
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
    "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
]
LOGIN_PATH = "/lti/login"
LAUNCH_PATH = "/lti/launch"
JWKS_PATH = "/lti/jwks"


def urls(public_url: str) -> dict[str, str]:
    base = public_url.rstrip("/")
    return {"oidc_initiation_url": base + LOGIN_PATH, "target_link_uri": base + LAUNCH_PATH,
            "jwks_uri": base + JWKS_PATH, "deep_linking_url": base + LAUNCH_PATH}


def tool_config(public_url: str) -> dict[str, Any]:
    """The URLs each LMS asks for, with Canvas's developer key JSON (its "Paste JSON" form) under `canvas`."""
    u = urls(public_url)
    domain = public_url.split("://", 1)[-1].split("/", 1)[0]
    canvas = {
        "title": TITLE,
        "description": DESCRIPTION,
        "oidc_initiation_url": u["oidc_initiation_url"],
        "target_link_uri": u["target_link_uri"],
        "public_jwk_url": u["jwks_uri"],
        "scopes": SCOPES,
        "extensions": [{
            "domain": domain,
            "tool_id": "examsync",
            "platform": "canvas.instructure.com",
            "privacy_level": "public",
            "settings": {
                "text": TITLE,
                "placements": [
                    {"placement": "assignment_selection", "message_type": "LtiDeepLinkingRequest",
                     "target_link_uri": u["deep_linking_url"]},
                    {"placement": "link_selection", "message_type": "LtiDeepLinkingRequest",
                     "target_link_uri": u["deep_linking_url"]},
                ],
            },
        }],
        "custom_fields": {},
    }
    return {**u, "redirect_uris": [u["target_link_uri"]], **{k: canvas[k] for k in ("title", "description",
            "public_jwk_url", "scopes", "extensions", "custom_fields")}, "canvas": canvas}
