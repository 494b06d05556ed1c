"""One table from error code to HTTP status, and one JSON shape for every error:

    {"error": {"code": "time_expired", "message": "...", ...data}}

Whose fault: a 4xx means the request must change (a client sends a new op
with a new op_id); a 5xx or a network error means retry the same request
with the same op_ids. docs/errors.md lists every code (a test checks it).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from examsync.domain.errors import DomainError

log = logging.getLogger("examsync.web")

STATUS_BY_CODE: dict[str, int] = {
    "invalid_request": 422,
    "invalid_op": 422,
    "invalid_answer": 422,
    "invalid_time_option": 422,
    "weak_password": 422,
    "unknown_question": 422,
    "unknown_section": 422,
    "unknown_choice": 422,
    "answer_too_long": 422,
    "note_too_long": 422,
    "invalid_content": 422,
    "op_id_reused": 409,
    "time_expired": 409,
    "section_submitted": 409,
    "section_not_open": 409,
    "session_completed": 409,
    "session_paused": 409,
    "already_paused": 409,
    "not_paused": 409,
    "section_not_submitted": 409,
    "already_reopened": 409,
    "section_in_progress": 409,
    "not_marked_by_staff": 409,
    "points_out_of_range": 422,
    "marks_already_released": 409,
    "test_owned_by_another": 409,
    "share_target_not_staff": 422,
    "email_taken": 409,
    "draft_conflict": 409,
    "assignment_not_open": 409,
    "assignment_closed": 409,
    "attempts_exhausted": 409,
    "assignment_required": 409,
    "last_admin": 409,
    "lti_platform_exists": 409,
    "lti_launch_refused": 400,
    "lti_roster_unavailable": 409,
    "lti_platform_failed": 502,
    "not_authenticated": 401,
    "invalid_token": 401,
    "token_expired": 401,
    "invalid_credentials": 401,
    # 401, not 403: clients keep unsent ops through a 401 until the next sign-in (docs/errors.md).
    "account_disabled": 401,
    "forbidden": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "too_many_ops": 413,
    "body_too_large": 413,
    "rate_limited": 429,
    "too_many_login_attempts": 429,
    "too_many_join_attempts": 429,
    "internal_error": 500,
    "not_ready": 503,
}

# Codes that appear only as an op's result inside a 200 batch response.
OP_RESULT_CODES = ("op_id_reused",)


def error_body(code: str, message: str, **data: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **data}}


def error_data(error: DomainError) -> dict[str, Any]:
    """What a domain error tells the client besides its code and message: its plain values only."""
    return {k: v for k, v in error.data.items() if isinstance(v, (str, int, float, bool)) or v is None}


def validation_problems(errors: Any) -> tuple[str, list[dict[str, str]]]:
    """The message and the per-field problems of a request pydantic refused (invalid_request)."""
    problems = [
        {"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"), "problem": e.get("msg", "")}
        for e in errors
    ]
    first = problems[0] if problems else {"field": "", "problem": "invalid"}
    return f"{first['field'] or 'request'}: {first['problem']}", problems


def error_response(code: str, message: str, **data: Any) -> JSONResponse:
    headers: dict[str, str] = {}
    if STATUS_BY_CODE[code] == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(data.get("retry_after"), int):
        headers["Retry-After"] = str(data["retry_after"])
    return JSONResponse(error_body(code, message, **data), status_code=STATUS_BY_CODE[code], headers=headers or None)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def on_domain_error(_request: Request, error: DomainError) -> JSONResponse:
        return error_response(error.code, error.message, **error_data(error))

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(_request: Request, error: RequestValidationError) -> JSONResponse:
        message, problems = validation_problems(error.errors())
        return JSONResponse(error_body("invalid_request", message, problems=problems), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 401: "not_authenticated", 403: "forbidden"}.get(
            error.status_code, "invalid_request"
        )
        # Every code has one status: a body that cannot be parsed (FastAPI's 400) is an invalid_request, 422.
        status = STATUS_BY_CODE[code] if code == "invalid_request" else error.status_code
        headers = dict(getattr(error, "headers", None) or {})
        if status == 405:
            # Starlette names only the first route of the path; several routes may share it (GET and POST).
            headers["Allow"] = ", ".join(sorted(_allowed_methods(request.app.routes, request.scope)))
        return JSONResponse(error_body(code, str(error.detail)), status_code=status, headers=headers or None)

    @app.exception_handler(DBAPIError)
    async def on_database_error(_request: Request, error: DBAPIError) -> JSONResponse:
        if not database_unreachable(error):
            return await on_unexpected(_request, error)
        # While the database restarts every request fails this way: one line each, not a traceback
        # (formatting hundreds of those would hold up the event loop just when the database is back).
        log.warning("the database cannot be reached: %s", str(error.orig).strip().splitlines()[0] if error.orig else error)
        return error_response("not_ready", "the database cannot be reached; retry the same request")

    @app.exception_handler(Exception)
    async def on_unexpected(_request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=error)
        return error_response("internal_error", "something went wrong on the server; retry the same request")


def database_unreachable(error: DBAPIError) -> bool:
    """The connection could not be made (no statement was sent) or died under a statement."""
    return error.connection_invalidated or error.statement is None


def _allowed_methods(routes: Any, scope: Any) -> set[str]:
    """Every method some route of this path answers."""
    methods: set[str] = set()
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            methods |= _allowed_methods(inner.routes, scope)
            continue
        if getattr(route, "methods", None) and route.matches(scope)[0] != Match.NONE:
            methods |= set(route.methods)
    return methods
