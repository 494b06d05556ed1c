"""An async Python client for examsync, with a durable offline queue of ops (docs/sdk.md)."""

from examsync.extras import require

require("client", user="examsync.client")

from examsync.client.client import Client
from examsync.client.errors import (
    ApiError,
    AuthenticationError,
    ConflictError,
    ExamsyncError,
    InvalidRequestError,
    NetworkError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    QueueFileError,
    RateLimitedError,
    ServerError,
)
from examsync.client.live import LiveMessage
from examsync.client.models import (
    Choice,
    HistoryEntry,
    LiveReady,
    LiveState,
    Question,
    Receipt,
    SectionState,
    SessionState,
    SyncReport,
)

__all__ = [
    "ApiError", "AuthenticationError", "Choice", "Client", "ConflictError", "ExamsyncError", "HistoryEntry",
    "InvalidRequestError", "LiveMessage", "LiveReady", "LiveState", "NetworkError", "NotFoundError",
    "PayloadTooLargeError", "PermissionDeniedError", "Question", "QueueFileError", "RateLimitedError", "Receipt",
    "SectionState", "ServerError", "SessionState", "SyncReport",
]
