"""Markup allowed in content (stems, choices, explanations): a short allow-list, cleaned with nh3 on import."""

from __future__ import annotations

import re

import nh3

# Limited markup in stems and choices: emphasis, lists, tables, maths as text,
# images from the server only. Everything else is stripped.
ALLOWED_TAGS = {"p", "br", "em", "strong", "b", "i", "u", "sub", "sup", "code", "pre", "ul", "ol", "li",
                "table", "thead", "tbody", "tr", "th", "td", "caption", "blockquote", "span", "img"}
ALLOWED_ATTRIBUTES = {"img": {"src", "alt", "width", "height"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan", "scope"}}


# An image's source must be a path on this server: "/media/x.png" or "x.png", never another host
# ("//host/x.png", or "/\\host/x.png", which browsers read as "//host/x.png").
_SERVER_PATH = re.compile(r"^(?:/(?![/\\])|(?![/\\]))[^\s\\]*$")


def _only_server_images(element: str, attribute: str, value: str) -> str | None:
    if element == "img" and attribute == "src" and not _SERVER_PATH.match(value):
        return None
    return value


def sanitize_html(fragment: str) -> str:
    """Limited markup (ALLOWED_TAGS), no script, no event handlers, no URL with a scheme, images from this server."""
    return nh3.clean(
        fragment, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=set(),
        link_rel=None, strip_comments=True, attribute_filter=_only_server_images,
    )
