"""What HTTP and the live socket share: the rules of an op batch, the shape of an error, and the close codes.

An error is answered over HTTP as `{"error": {...}}` with the status of its code (errors.STATUS_BY_CODE), and
over the socket as `{"type": "error", "id": ..., "status": ..., "error": {...}}` with the same status in the
frame, so a client settles or retries a refused batch alike on both (docs/api.md, "Live updates").
"""

from __future__ import annotations

from typing import Any, NamedTuple

from pydantic import ValidationError

from examsync.domain.errors import DomainError, InvalidRequestError
from examsync.web import ops_schemas
from examsync.web.errors import STATUS_BY_CODE, error_body, error_data, validation_problems


class Close(NamedTuple):
    code: int
    meaning: str


# The WebSocket close codes of the live endpoints, documented in docs/api.md and copied in static/js/live.js
# (tests/test_js_close_codes.py keeps the copy equal).
CLOSE_CODES: dict[str, Close] = {
    "unauthorized": Close(4401, "no token, or not a valid one; later: the account was deleted"),
    "forbidden": Close(4403, "a student opened a staff feed; later: the account is no longer staff"),
    "not_found": Close(4404, "no such session, test or assignment, or not one the account may watch"),
    "too_many_connections": Close(4409, "the user has as many live sockets open as allowed"),
    "too_many_messages": Close(4429, "the client sent more messages per second than allowed"),
    "too_slow": Close(4008, "the client fell too far behind; reconnect with after_seq"),
    "internal_error": Close(1011, "the server failed to apply a batch; reconnect and send it again"),
}
CLOSE_UNAUTHORIZED = CLOSE_CODES["unauthorized"].code
CLOSE_FORBIDDEN = CLOSE_CODES["forbidden"].code
CLOSE_NOT_FOUND = CLOSE_CODES["not_found"].code
CLOSE_TOO_MANY_CONNECTIONS = CLOSE_CODES["too_many_connections"].code
CLOSE_TOO_MANY_MESSAGES = CLOSE_CODES["too_many_messages"].code
CLOSE_TOO_SLOW = CLOSE_CODES["too_slow"].code
CLOSE_INTERNAL_ERROR = CLOSE_CODES["internal_error"].code

BATCH_FIELDS = ("ops", "device_id", "sent_at")


def validate_batch(batch: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None, int | None]:
    """The cleaned ops, device_id and sent_at of a batch, by the rules of `POST …/ops` (ops_schemas.OpsIn);
    InvalidRequestError (422 invalid_request) for a batch that breaks them, with the message HTTP gives."""
    try:
        valid = ops_schemas.OpsIn.model_validate({name: batch[name] for name in BATCH_FIELDS if name in batch})
    except ValidationError as error:
        message, problems = validation_problems(error.errors())
        raise InvalidRequestError(message, problems=problems) from None
    return valid.ops, valid.device_id, valid.sent_at


def error_frame(code: str, message: str, *, request_id: Any = None, **data: Any) -> dict[str, Any]:
    """The socket's answer to a request refused with `code`: the HTTP error body, with the HTTP status."""
    return {"type": "error", "id": request_id, "status": STATUS_BY_CODE[code], **error_body(code, message, **data)}


def domain_error_frame(error: DomainError, request_id: Any = None) -> dict[str, Any]:
    return error_frame(error.code, error.message, request_id=request_id, **error_data(error))
