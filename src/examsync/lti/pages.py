"""The few server-rendered LTI pages: a refusal that says why, the deep linking picker, and the form that returns the
picker's answer to the platform. Every value is escaped; no inline script (the page's own CSP forbids it)."""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import urlsplit

from fastapi.responses import HTMLResponse

STYLE = '<link rel="stylesheet" href="/static/css/app.css">'


def csp(form_action: str = "'self'", frame_ancestors: str | None = None) -> str:
    return ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
            f"base-uri 'none'; form-action {form_action}; frame-ancestors {frame_ancestors or 'none'}")


def _page(title: str, body: str, status: int, frame_ancestors: str | None, *,
          form_action: str = "'self'") -> HTMLResponse:
    html = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)} · examsync</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">{STYLE}</head>'
            f'<body><main class="main lti-page">{body}</main></body></html>')
    # Its own policy: the security headers leave a page's policy as it is (web/app.py SecurityHeaders).
    return HTMLResponse(html, status_code=status,
                        headers={"Content-Security-Policy": csp(form_action, frame_ancestors)})


def refused(status: int, code: str, message: str, reason: str | None, frame_ancestors: str | None) -> HTMLResponse:
    detail = f'<p>Check: <code data-reason="{escape(reason)}">{escape(reason)}</code></p>' if reason else ""
    return _page("Launch refused", f'<h1>examsync cannot open this launch</h1><p class="lti-error" data-code='
                 f'"{escape(code)}">{escape(message)}</p>{detail}<p>Start again from your course. If it keeps '
                 "failing, show this page to the school's LMS administrator.</p>", status, frame_ancestors)


def picker(request: dict[str, Any], frame_ancestors: str | None) -> HTMLResponse:
    options = "".join(f'<option value="{escape(t["id"])}">{escape(t["title"])}</option>' for t in request["tests"])
    body = (
        "<h1>Add an examsync test</h1>"
        f'<form method="post" action="/lti/deep-link/{escape(request["id"])}" class="lti-picker">'
        f'<p><label for="test_id">Test</label> <select id="test_id" name="test_id" required>{options}</select></p>'
        '<p><label for="examsync_max_attempts">Attempts (empty: unlimited)</label> '
        '<input id="examsync_max_attempts" name="examsync_max_attempts" type="number" min="1" max="100"></p>'
        '<p><label for="examsync_time_multiplier">Time (1 = as the test says)</label> '
        '<input id="examsync_time_multiplier" name="examsync_time_multiplier" type="number" step="0.25" min="0.5" '
        'max="10"></p>'
        # The window in the instructor's own time zone: lti-picker.js turns each local time into the milliseconds since
        # 1970 the hidden field sends (without script the test opens now and never closes).
        '<p><label for="opens_local">Opens (empty: now)</label> '
        '<input id="opens_local" type="datetime-local" data-ms-field="examsync_opens_at">'
        '<input type="hidden" name="examsync_opens_at"></p>'
        '<p><label for="closes_local">Closes (empty: never)</label> '
        '<input id="closes_local" type="datetime-local" data-ms-field="examsync_closes_at">'
        '<input type="hidden" name="examsync_closes_at"></p>'
        '<p><button type="submit" class="button button-primary">Add to the course</button></p></form>'
        '<script type="module" src="/static/js/lti-picker.js"></script>')
    return _page("Add a test", body, 200, frame_ancestors)


def return_to_platform(return_url: str, jwt: str, frame_ancestors: str | None) -> HTMLResponse:
    """A form that posts the signed answer to the platform, submitted by /static/js/lti-return.js (or by hand)."""
    parts = urlsplit(return_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    body = (f'<form method="post" action="{escape(return_url)}" data-autosubmit>'
            f'<input type="hidden" name="JWT" value="{escape(jwt)}">'
            '<p>Returning to your course…</p><button type="submit" class="button">Continue</button></form>'
            '<script type="module" src="/static/js/lti-return.js"></script>')
    return _page("Returning", body, 200, frame_ancestors, form_action=f"'self' {origin}")
