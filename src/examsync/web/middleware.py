"""ASGI middleware of the HTTP API: body size limit, NUL in a URL, security headers on every response."""

from __future__ import annotations

from typing import Any

from fastapi.concurrency import run_in_threadpool

from examsync.lti.framing import Framing
from examsync.web import errors
from examsync.web.protocol import CLOSE_NOT_FOUND

API = "/api/v1"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


class BodyLimit:
    """Refuse request bodies over the limit before any of it reaches the app (and before it is all buffered).

    The body is read here, at most `max_bytes` of it, then handed on: a body over the limit is answered 413
    `body_too_large` whether it declared its length or came in chunks.

    Many clients send the whole body before reading the answer; closing on a body still arriving would
    reach them as a connection reset, not as the 413. So the rest of the body is read and dropped first, up
    to `DRAIN_FACTOR` times the limit (past that the answer goes out anyway, and the connection is closed).
    A client that asked `Expect: 100-continue` has not sent its body yet and is answered at once.
    """

    DRAIN_FACTOR = 64

    def __init__(self, app: Any, max_bytes: int, larger: dict[str, int] | None = None) -> None:
        self.app, self.default_max_bytes = app, max_bytes
        self.larger = larger or {}  # path -> its own limit (uploads)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        max_bytes = self.larger.get(scope.get("path", ""), self.default_max_bytes)
        return await self._limited(scope, receive, send, max_bytes)

    async def _limited(self, scope: Any, receive: Any, send: Any, max_bytes: int) -> None:
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            waiting = headers.get(b"expect", b"").lower() == b"100-continue"
            drained = not waiting and await self._drain(receive, 0, max_bytes)
            return await self._refuse(scope, receive, send, max_bytes, keep_alive=drained)
        messages: list[Any] = []
        seen = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break  # the client went away; let the app see it
            seen += len(message.get("body", b""))
            if seen > max_bytes:
                drained = not message.get("more_body", False) or await self._drain(receive, seen, max_bytes)
                return await self._refuse(scope, receive, send, max_bytes, keep_alive=drained)
            if not message.get("more_body", False):
                break

        async def replay() -> Any:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _drain(self, receive: Any, seen: int, max_bytes: int) -> bool:
        """Read and drop the rest of the body, as much as `DRAIN_FACTOR` times the limit in all: is it all read?"""
        while seen <= max_bytes * self.DRAIN_FACTOR:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                return message["type"] == "http.request"
            seen += len(message.get("body", b""))
        return False

    async def _refuse(self, scope: Any, receive: Any, send: Any, max_bytes: int, *, keep_alive: bool) -> None:
        response = errors.error_response(
            "body_too_large", f"the request body is larger than {max_bytes} bytes", limit=max_bytes
        )
        if not keep_alive:  # the rest of the body is not read: the connection cannot carry another request
            response.headers["Connection"] = "close"
        await response(scope, receive, send)


class NulInUrl:
    """A NUL character in the path or query names nothing (and no database can store it): 404, or 4404."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket") and (
            "\x00" in scope.get("path", "") or b"%00" in scope.get("query_string", b"")
            or b"\x00" in scope.get("query_string", b"")
        ):
            if scope["type"] == "websocket":
                await receive()  # websocket.connect
                await send({"type": "websocket.accept"})
                await send({"type": "websocket.close", "code": CLOSE_NOT_FOUND, "reason": "not found"})
                return None
            return await errors.error_response("not_found", "no such resource")(scope, receive, send)
        return await self.app(scope, receive, send)


class SecurityHeaders:
    """Headers every response carries: no inline script, no framing, no sniffing, no referrer; over HTTPS also
    HSTS, so a browser that has been here once never again tries plain HTTP, where its token could be read.

    For LTI (docs/lti.md#framing) the web app's shell and the LTI pages may be framed by the registered platforms
    once one is registered (`Framing`): their policy then names those ancestors and X-Frame-Options is left out
    (it cannot name them). An LTI page that sets its own policy (its form posts to the platform) keeps it.
    """

    HEADERS = [
        (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
    ]

    # API answers hold a student's work: never kept in a browser's or a proxy's cache (shared computers).
    NO_STORE = (b"cache-control", b"no-store")
    STRICT_TRANSPORT_SECURITY = (b"strict-transport-security", b"max-age=31536000")

    def __init__(self, app: Any, framing: Framing | None = None) -> None:
        self.app, self.framing = app, framing

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        framable = self.framing is not None and (path == "/" or path.startswith("/lti/"))
        ancestors = await run_in_threadpool(self.framing.ancestors) if framable and self.framing else None
        own = self.HEADERS if ancestors is None else [
            (b"content-security-policy", CONTENT_SECURITY_POLICY.replace(
                "frame-ancestors 'none'", f"frame-ancestors {ancestors}").encode()),
            *[h for h in self.HEADERS if h[0] not in (b"x-frame-options", b"content-security-policy")]]
        # A test's images are immutable (content-addressed names) and hold no student's work: they keep their own
        # Cache-Control (web/content_routes.py).
        private = (path.startswith(f"{API}/") and not path.startswith(f"{API}/docs")
                   and not (path.startswith(f"{API}/tests/") and "/assets/" in path))
        # https: served with TLS, or a trusted proxy said so (X-Forwarded-Proto, see create_app).
        secure = scope.get("scheme") == "https"

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if not (private and h[0].lower() == b"cache-control")]
                policy_set = framable and any(h[0].lower() == b"content-security-policy" for h in headers)
                added = [h for h in own if not (policy_set and h[0] in (b"content-security-policy",
                                                                         b"x-frame-options"))]
                message["headers"] = [*headers, *added, *([self.NO_STORE] if private else []),
                                      *([self.STRICT_TRANSPORT_SECURITY] if secure else [])]
            await send(message)

        await self.app(scope, receive, with_headers)

