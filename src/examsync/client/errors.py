"""The client's exceptions, one class per kind of failure the server reports.

The server answers every failure as `{"error": {"code", "message", ...}}` with the HTTP status of its code
(docs/errors.md); `error_from_response` turns that into the class a caller can catch. `code` stays the
server's, so a caller can still branch on it.
"""

from __future__ import annotations

import math
from typing import Any

import httpx


class ExamsyncError(Exception):
    """Anything the client raises on purpose."""


class QueueFileError(ExamsyncError):
    """The queue file cannot be used: not an examsync queue, written by a newer version, or another student's."""


class NetworkError(ExamsyncError):
    """The server could not be reached, or did not answer in time. Retry the same request."""


class ApiError(ExamsyncError):
    """The server answered with an error."""

    def __init__(self, status: int, code: str, message: str, data: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code} ({status}): {message}")
        self.status = status
        self.code = code
        self.message = message
        self.data = data or {}


class InvalidRequestError(ApiError):
    """422 (or 400): the request does not match the API; sending it again gives the same answer."""


class AuthenticationError(ApiError):
    """401: no token, a bad or expired one, or wrong credentials. Sign in again."""


class PermissionDeniedError(ApiError):
    """403: the account's role may not do this."""


class NotFoundError(ApiError):
    """404: no such test, session or user (another student's session is reported the same way)."""


class ConflictError(ApiError):
    """409: the request conflicts with what exists (`email_taken`), or a heartbeat for a completed session."""


class PayloadTooLargeError(ApiError):
    """413: too many ops in one batch (`too_many_ops`) or a body over the server's limit (`body_too_large`)."""


class RateLimitedError(ApiError):
    """429: wait `retry_after` seconds, then send the same request again."""

    def __init__(self, status: int, code: str, message: str, data: dict[str, Any] | None = None,
                 retry_after: float = 1.0) -> None:
        super().__init__(status, code, message, data)
        self.retry_after = retry_after


class ServerError(ApiError):
    """5xx: the server failed; what it had not committed was rolled back. Retry the same request."""


_CLASS_BY_STATUS: dict[int, type[ApiError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: InvalidRequestError,
}


def error_from_response(response: httpx.Response) -> ApiError:
    """The exception for an error response, whatever its body (a proxy's HTML page included)."""
    status = response.status_code
    try:
        detail = response.json().get("error")
    except (ValueError, AttributeError):
        detail = None
    if not isinstance(detail, dict):
        detail = {}
    data = {k: v for k, v in detail.items() if k not in ("code", "message")}
    code = detail.get("code") if isinstance(detail.get("code"), str) else (
        "internal_error" if status >= 500 else "http_error")
    message = detail.get("message") if isinstance(detail.get("message"), str) else f"the server answered {status}"
    if status == 429:
        return RateLimitedError(status, code, message, data, retry_after=_retry_after(response, data))
    if status >= 500:
        return ServerError(status, code, message, data)
    return _CLASS_BY_STATUS.get(status, ApiError)(status, code, message, data)


def _retry_after(response: httpx.Response, data: dict[str, Any]) -> float:
    """Seconds to wait: the `Retry-After` header, else the body's `retry_after`, else one second."""
    for value in (response.headers.get("retry-after"), data.get("retry_after")):
        try:
            seconds = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
    return 1.0
