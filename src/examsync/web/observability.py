"""The two outermost layers of every request: its id and access line, and its metrics.

Both are plain ASGI middleware, so they also see the answers given before routing (a body over the size
limit, a NUL in the URL, an unknown path).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.routing import Mount

from examsync.logs import accept_request_id, request_id
from examsync.metrics import AppMetrics, http_method

API = "/api/v1"
OPS_ROUTE = f"{API}/sessions/{{session_id}}/ops"
RESUME_ROUTE = f"{API}/sessions/{{session_id}}"
# Probes and scrapes come every few seconds; their access lines are kept for debug level.
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

access_log = logging.getLogger("examsync.access")


class RequestIds:
    """Give each request and live socket an id, echo it in `X-Request-ID`, and write its access line.

    The id is the client's `X-Request-ID` when it is a short safe token, else a new one; every line logged
    while the request is served carries it. The access line names the path without its query string, which
    may hold the live socket's token.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        offered = next((value for name, value in scope.get("headers") or [] if name == b"x-request-id"), None)
        current = accept_request_id(offered.decode("latin-1") if offered is not None else None)
        # Never reset: an unhandled error is logged further out (Starlette's outermost layer), and that line needs
        # the id too. Each request and socket is served in a task of its own, so the id goes no further.
        request_id.set(current)
        started = time.perf_counter()
        # The HTTP status, or the close code of whichever side closed a socket first.
        outcome: dict[str, int] = {}

        async def send_with_id(message: Any) -> None:
            if message["type"] == "http.response.start":
                outcome["status"] = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", current.encode())]
            elif message["type"] == "websocket.close":
                outcome.setdefault("status", message.get("code", 1000))
            await send(message)

        async def receive_noting_disconnect() -> Any:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                outcome.setdefault("status", message.get("code", 1000))
            return message

        try:
            await self.app(scope, receive_noting_disconnect, send_with_id)
        finally:
            # An unhandled error propagates past this layer and is answered 500 further out.
            status = outcome.get("status", 500 if scope["type"] == "http" else 1011)
            self._log(scope, status, started)

    @staticmethod
    def _log(scope: Any, status: int, started: float) -> None:
        method = "WEBSOCKET" if scope["type"] == "websocket" else scope["method"]
        path = scope.get("path", "")
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        level = logging.DEBUG if path in QUIET_PATHS else logging.INFO
        access_log.log(level, "%s %s %s %.1fms", method, path, status, duration_ms,
                       extra={"method": method, "path": path, "status": status, "duration_ms": duration_ms})


class RequestMetrics:
    """Time every HTTP request by route template and status; time op batches and resumes; count replays.

    Labels name the route's template (`/api/v1/sessions/{session_id}`), never the raw path, so there is one
    series per route, not one per session.
    """

    def __init__(self, app: Any, metrics: AppMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = {"code": 500}
        async def send_status(message: Any) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            seconds = time.perf_counter() - started
            route = route_template(scope)
            method = http_method(scope["method"])
            self.metrics.http_seconds.labels(method, route, str(status["code"])).observe(seconds)
            if status["code"] == 200 and method == "POST" and route == OPS_ROUTE:
                self.metrics.ack_seconds.labels("http").observe(seconds)
            elif status["code"] == 200 and method == "GET" and route == RESUME_ROUTE:
                self.metrics.resume_seconds.labels("http").observe(seconds)


def route_template(scope: Any) -> str:
    """The template of the route that answered (FastAPI puts it in the scope), or the mount's path."""
    route = scope.get("route")
    if route is not None:
        return str(route.path)
    endpoint = scope.get("endpoint")
    for candidate in getattr(scope.get("app"), "routes", ()):
        if isinstance(candidate, Mount) and candidate.app is endpoint:
            return candidate.path
    return "unmatched"
