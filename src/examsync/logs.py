"""What the server's log lines look like and what they never contain.

One line per record, as a JSON object (`EXAMSYNC_LOG_FORMAT=json`) or as text, each carrying the id of the
request it was written for. The id lives in a context variable: set once per request by the web layer, it
follows the request into the worker threads `run_in_threadpool` starts, which copy the context. No token,
password or Authorization header reaches a line, whichever logger wrote it (docs/operations.md, "Logs").
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any, TextIO

from examsync.settings import Settings

request_id: ContextVar[str | None] = ContextVar("examsync_request_id", default=None)

SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("auto", "json", "text")
# Attributes an access line adds to its record (`extra=`), written as fields of their own.
ACCESS_FIELDS = ("method", "path", "status", "duration_ms")


def accept_request_id(offered: str | None) -> str:
    """The client's `X-Request-ID` if it is a short token of safe characters, else a new id."""
    if offered is not None and SANE_REQUEST_ID.fullmatch(offered):
        return offered
    return uuid.uuid4().hex


class RedactSecrets(logging.Filter):
    """No token or password reaches a log, whichever logger wrote the line.

    Browsers pass the live socket's token in the query string (`token=…`); headers (`Bearer …`) and JSON bodies
    (`"password": "…"`, `"access_token": "…"`) could reach a debug log of some library. The record's message is
    formatted, redacted and frozen, so no argument carries the secret past this filter.
    """

    PATTERNS = [
        (re.compile(r"((?:token|password)=)[^&\s\"']+", re.IGNORECASE), r"\1[redacted]"),
        # A header line of any scheme, as HTTP client libraries print it in their debug logs.
        (re.compile(r"(authorization:\s*)[^\r\n]+", re.IGNORECASE), r"\1[redacted]"),
        (re.compile(r"((?:bearer|basic)\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE), r"\1[redacted]"),
        (re.compile(r"""(["']?(?:password|access_token|secret_key|token)["']?\s*[:=]\s*)(["'])(?:\\.|(?!\2).)*\2""",
                    re.IGNORECASE), r"\1\2[redacted]\2"),
        # A JWT anywhere: three base64url parts, the first one a JSON header ("eyJ…").
        (re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), "[redacted-jwt]"),
    ]

    @classmethod
    def redact(cls, text: str) -> str:
        for pattern, replacement in cls.PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is left to the logging module's own error handling
            return True
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


class RequestIdFilter(logging.Filter):
    """Stamp each record with the id of the request being served (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class _RedactedTracebacks(logging.Formatter):
    # An exception's text (a failed query's parameters, a header in an error message) is redacted like a message.
    def formatException(self, ei: Any) -> str:
        return RedactSecrets.redact(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return RedactSecrets.redact(super().formatStack(stack_info))


class JsonFormatter(_RedactedTracebacks):
    """One JSON object per line: time, level, logger, message, request_id, and an access line's fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for name in ACCESS_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = RedactSecrets.redact(value) if isinstance(value, str) else value
        if record.exc_info:
            record.exc_text = record.exc_text or self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(_RedactedTracebacks):
    """`time level logger [request id] message`, for reading at a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(request_label)s%(message)s")

    def format(self, record: logging.LogRecord) -> str:
        current = getattr(record, "request_id", None)
        record.request_label = f"[{current}] " if current else ""
        return super().format(record)


def logging_config(settings: Settings, stream: TextIO | None = None) -> dict[str, Any]:
    """A `logging.config.dictConfig` for the server and uvicorn: every line through one handler on stderr.

    `EXAMSYNC_LOG_FORMAT=auto` writes text when `stream` (default stderr) is a terminal and JSON otherwise.
    """
    level = _choice("EXAMSYNC_LOG_LEVEL", settings.log_level, LEVELS).upper()
    chosen = _choice("EXAMSYNC_LOG_FORMAT", settings.log_format, FORMATS)
    if chosen == "auto":
        chosen = "text" if (stream or sys.stderr).isatty() else "json"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": "examsync.logs.RequestIdFilter"},
            "redact": {"()": "examsync.logs.RedactSecrets"},
        },
        "formatters": {"line": {"()": f"examsync.logs.{'JsonFormatter' if chosen == 'json' else 'TextFormatter'}"}},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "line",
                       "filters": ["request_id", "redact"]},
        },
        "root": {"level": level, "handlers": ["stderr"]},
        # uvicorn's loggers lose their own handlers and write through the one above.
        "loggers": {name: {"level": level, "handlers": [], "propagate": True}
                    for name in ("uvicorn", "uvicorn.error", "uvicorn.access")},
    }


def redact_tokens_in_server_logs() -> None:
    """Install the redaction on the server's loggers and on every handler of the root logger.

    `examsync serve` configures its handler with it already; this covers an app served some other way.
    """
    targets: list[logging.Filterer] = [logging.getLogger(name) for name in (
        "uvicorn.error", "uvicorn.access", "uvicorn", "examsync", "websockets", "sqlalchemy")]
    for logger in [logging.getLogger(), *[t for t in targets if isinstance(t, logging.Logger)]]:
        targets.extend(logger.handlers)
    for target in targets:
        if not any(isinstance(f, RedactSecrets) for f in target.filters):
            target.addFilter(RedactSecrets())


def _choice(variable: str, value: str, allowed: tuple[str, ...]) -> str:
    if value.lower() not in allowed:
        raise SystemExit(f"{variable}={value!r} is not one of {', '.join(allowed)}")
    return value.lower()
