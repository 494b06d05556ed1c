"""What both live sockets share (web/live.py): one sender, one receiver and a bounded mailbox per socket, the
message limits, and the account read again while the socket is open (the rules are in live.py's docstring)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool

from examsync.live.hub import Live
from examsync.services import SessionService
from examsync.store.database import Actor
from examsync.web.limits import Limits, RateLimiter
from examsync.web.protocol import CLOSE_TOO_MANY_MESSAGES, CLOSE_TOO_SLOW, error_frame

ACCOUNT_CHECK_MS = 30_000

log = logging.getLogger("examsync.live")


async def refuse(websocket: WebSocket, code: int, reason: str) -> None:
    """Accept, then close with a code: a close before accepting reaches browsers only as a failed handshake."""
    await websocket.accept()
    await websocket.close(code, reason[:120])


class _Connection(ABC):
    """Shared by both endpoints: one sender, one receiver, a bounded mailbox."""

    kind: str  # as the metrics name it: "session" (a student's device) or "test" (a staff watcher)

    def __init__(self, websocket: WebSocket, service: SessionService, live: Live, actor: Actor,
                 role_of: Callable[[str], str | None]) -> None:
        self.websocket, self.service, self.live, self.actor = websocket, service, live, actor
        self.role_of = role_of
        self.account_checked_at = service.clock()
        self.account_refusal: tuple[int, str] | None = None
        self.account_poked = asyncio.Event()  # set when an admin changes the account: read it now
        self.send_lock = asyncio.Lock()
        self.sender: asyncio.Task[None] | None = None
        self.mailbox = live.mailbox(self._overflowed)
        self.too_slow = False
        self.limits: Limits | None = None
        self.messages: RateLimiter | None = None
        self.max_message_bytes = 1_048_576
        self.too_fast = False

    def limit(self, limits: Limits, max_message_bytes: int) -> None:
        self.limits, self.max_message_bytes = limits, max_message_bytes
        self.messages = limits.live_message_limiter()

    def _overflowed(self) -> None:
        # The client is not reading: stop buffering for it. It resumes by after_seq.
        self.too_slow = True
        self.live.metrics.live_overflows.labels(self.kind).inc()
        log.warning("a live client fell %d messages behind; disconnecting it", self.mailbox.limit)
        if self.sender is not None:
            self.sender.cancel()

    async def send(self, message: dict[str, Any]) -> None:
        async with self.send_lock:
            await self.websocket.send_text(json.dumps(message, separators=(",", ":")))

    @abstractmethod
    def refusal_for(self, role: str | None) -> tuple[int, str] | None:
        """The close code and reason for an account now in this role (None: deleted), or None to stay open."""

    async def account_changed(self, *, every_time: bool = False) -> bool:
        """Read the account again (at most every ACCOUNT_CHECK_MS unless `every_time`): must the socket close?"""
        now = self.service.clock()
        if not every_time and now - self.account_checked_at < ACCOUNT_CHECK_MS:
            return False
        self.account_checked_at = now
        try:
            role = await run_in_threadpool(self.role_of, self.actor.user_id)
        except Exception:  # a database hiccup closes no one; the next check reads it again
            log.warning("reading the account of a live socket failed", exc_info=True)
            return False
        self.account_refusal = self.refusal_for(role)
        return self.account_refusal is not None

    async def check_account_forever(self) -> None:
        """An idle socket hears of its account's change too: at once when told of it, else every ACCOUNT_CHECK_MS."""
        while True:
            poked = self.account_poked.is_set()
            self.account_poked.clear()
            if await self.account_changed(every_time=poked):
                return
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.account_poked.wait(), ACCOUNT_CHECK_MS / 1000)

    async def _serve(self) -> None:
        self.live.follow_account(self.actor.user_id, self.account_poked.set)
        try:
            await self._serve_until_done()
        finally:
            self.live.unfollow_account(self.actor.user_id, self.account_poked.set)

    async def _serve_until_done(self) -> None:
        self.sender = asyncio.create_task(self.send_forever())
        receiver = asyncio.create_task(self.receive_forever())
        checker = asyncio.create_task(self.check_account_forever())
        done, pending = await asyncio.wait({self.sender, receiver, checker}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        for task in (*done, *pending):
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                task.result() if task in done else await task
        if self.account_refusal is not None:
            with contextlib.suppress(Exception):
                await self.websocket.close(*self.account_refusal)
        elif self.too_slow:
            # The server's WebSocket layer bounds this: a peer that does not answer the
            # close within its close timeout has its connection aborted.
            with contextlib.suppress(Exception):
                await self.websocket.close(CLOSE_TOO_SLOW, "too far behind; reconnect with after_seq")
        elif self.too_fast:
            with contextlib.suppress(Exception):
                await self.websocket.close(CLOSE_TOO_MANY_MESSAGES, "too many messages per second")

    @abstractmethod
    async def send_forever(self) -> None:
        """Send what the mailbox receives, in order."""

    async def receive_forever(self) -> None:
        while True:
            frame = await self.websocket.receive()
            if frame["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(frame.get("code", 1000), frame.get("reason"))
            message = frame.get("text")
            if self.messages is not None and self.messages.take("messages"):
                self.too_fast = True
                log.warning("a live client sent more than %d messages per second; disconnecting it",
                            self.messages.capacity)
                return
            if await self.account_changed():
                return
            if message is None:
                await self.send(error_frame("invalid_request", "send JSON in text frames, not binary ones"))
                continue
            if len(message) > self.max_message_bytes and len(message.encode()) > self.max_message_bytes:
                request_id = await run_in_threadpool(_request_id, message)
                await self.send(error_frame(
                    "body_too_large", f"a message is at most {self.max_message_bytes} bytes; send fewer ops at once",
                    request_id=request_id, limit=self.max_message_bytes))
                continue
            try:
                request = json.loads(message)
            except (json.JSONDecodeError, RecursionError):
                await self.send(error_frame("invalid_request", "not JSON"))
                continue
            if not isinstance(request, dict):
                await self.send(error_frame("invalid_request", "send JSON objects"))
                continue
            await self.handle(request)

    async def handle(self, request: dict[str, Any]) -> None:
        if request.get("type") == "ping":
            await self.send({"type": "pong", "id": request.get("id")})
            return
        await self.send(error_frame("invalid_request", "unknown message type", request_id=request.get("id")))



def _request_id(message: str) -> Any:
    """The `id` of an oversized message, if it is JSON with one, so the client can match the refusal."""
    try:
        request = json.loads(message)
    except (ValueError, RecursionError):
        return None
    return request.get("id") if isinstance(request, dict) else None

