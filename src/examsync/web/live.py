"""The live WebSocket endpoints (protocol: docs/api.md, "Live updates").

`/api/v1/sessions/{id}/live?after_seq=N` — a student's device: first every
event after N read from the database, then live events, each exactly once and
in `seq` order; ops and heartbeats can be sent over the same socket.

`/api/v1/tests/{id}/live` — a teacher or admin: every session of the test,
with who is connected, progress and time remaining.

Limits (docs/api.md, "Live updates"): at most `live_max_connections_per_user`
sockets per user (one more is closed with 4409), messages at most
`max_body_bytes` long (a longer one is answered `body_too_large`), at most
`live_messages_per_second` messages per socket (a faster client is closed with
4429), and ops count against the user's op rate like `POST …/ops`.

The account is read again while a socket is open (another process, such as the
CLI, may delete or demote it): at most every `ACCOUNT_CHECK_MS` when a message
arrives or an event is pushed, on an idle socket as often, and before every push
of the staff feed. A deleted or disabled account's socket is closed with 4401;
a feed or a session socket the account may no longer watch, with 4403 or 4404
as its connect would have been refused. An admin's change to an account
(`Live.account_changed`) has its sockets read it again at once, on every
instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool

from examsync.accounts import Accounts
from examsync.domain.errors import DomainError, NotFoundError
from examsync.live.hub import Device, Live, Watcher
from examsync.domain.events import SessionChange
from examsync.domain.staff_ops import student_entry
from examsync.services import SessionService
from examsync.store.database import Actor
from examsync.settings import Settings
from examsync.web import schemas
from examsync.web.limits import Limits, RateLimiter
from examsync.web.protocol import (
    CLOSE_FORBIDDEN,
    CLOSE_INTERNAL_ERROR,
    CLOSE_NOT_FOUND,
    CLOSE_TOO_MANY_CONNECTIONS,
    CLOSE_TOO_MANY_MESSAGES,
    CLOSE_TOO_SLOW,
    CLOSE_UNAUTHORIZED,
    domain_error_frame,
    error_frame,
    validate_batch,
)

ACCOUNT_CHECK_MS = 30_000
MAX_QUEUE_REPORT = 1_000_000

log = logging.getLogger("examsync.live")
API = "/api/v1"
HISTORY_PAGE = 500


def live_routes(service: SessionService, accounts: Accounts, live: Live, limits: Limits | None = None, *,
                max_message_bytes: int = 1_048_576) -> APIRouter:
    router = APIRouter()
    limits = limits or Limits.from_settings(Settings(), service.clock)

    async def authenticate(websocket: WebSocket) -> Actor | None:
        header = websocket.headers.get("authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else websocket.query_params.get("token")
        if not token:
            await refuse(websocket, CLOSE_UNAUTHORIZED, "send a bearer token")
            return None
        try:
            return await run_in_threadpool(accounts.authenticate, token)
        except DomainError as error:
            await refuse(websocket, CLOSE_UNAUTHORIZED, error.message)
            return None

    async def serve(websocket: WebSocket, actor: Actor, connection: Any,
                    run: Callable[[Any], Awaitable[None]]) -> None:
        """Hold one of the user's live connection slots while the connection runs."""
        if not limits.live_connections.acquire(actor.user_id):
            await refuse(websocket, CLOSE_TOO_MANY_CONNECTIONS, "too many live connections open for this user")
            return
        try:
            await websocket.accept()
            connection.limit(limits, max_message_bytes)
            await run(connection)
        finally:
            limits.live_connections.release(actor.user_id)

    @router.websocket(f"{API}/sessions/{{session_id}}/live")
    async def session_live(websocket: WebSocket, session_id: str, after_seq: int = 0) -> None:
        started = time.perf_counter()
        actor = await authenticate(websocket)
        if actor is None:
            return
        try:
            state = await run_in_threadpool(service.live_state, actor, session_id)
            overview = await run_in_threadpool(service.owner_and_test, actor, session_id)
        except NotFoundError:
            await refuse(websocket, CLOSE_NOT_FOUND, "no such session")
            return
        await serve(websocket, actor, _DeviceConnection(
            websocket, service, live, actor, accounts.role_of, session_id, min(max(0, after_seq), schemas.MAX_SEQ),
            started), lambda connection: connection.run(state, overview))

    @router.websocket(f"{API}/tests/{{test_id}}/live")
    async def test_live(websocket: WebSocket, test_id: str) -> None:
        actor = await authenticate(websocket)
        if actor is None:
            return
        if not actor.is_staff:
            await refuse(websocket, CLOSE_FORBIDDEN, "only teachers and admins can watch a test")
            return
        try:
            sessions = await run_in_threadpool(service.overview, actor, test_id)
        except NotFoundError:
            await refuse(websocket, CLOSE_NOT_FOUND, "no such test")
            return
        await serve(websocket, actor, _WatcherConnection(websocket, service, live, actor, accounts.role_of, test_id),
                    lambda connection: connection.run(sessions))

    return router


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


class _DeviceConnection(_Connection):
    kind = "session"

    def __init__(self, websocket: WebSocket, service: SessionService, live: Live, actor: Actor,
                 role_of: Callable[[str], str | None], session_id: str, after_seq: int, started: float) -> None:
        super().__init__(websocket, service, live, actor, role_of)
        self.session_id = session_id
        self.owner_id = ""
        self.delivered = after_seq
        self.acked = after_seq
        self.ack_received = asyncio.Event()
        self.initial_state: dict[str, Any] = {}
        self.device: Device | None = None
        self.started = started  # when the device's request arrived: its resume is timed from here
        # The reply to the latest ops message: each reply waits for the one before it, so a device's
        # batches are committed and answered in the order it sent them while several are in flight.
        self.last_reply: asyncio.Task[None] | None = None

    async def run(self, state: dict[str, Any], owner: tuple[str, str]) -> None:
        user_id, test_id = owner
        self.owner_id = user_id
        device = self.device = Device(self.session_id, test_id, user_id, self.mailbox)
        # Listen before reading the backlog, so nothing committed in between is missed;
        # anything seen twice is dropped by its seq.
        self.live.attach(device)
        self.initial_state = state
        try:
            await self._serve()
        finally:
            self.live.detach(device)
            if self.last_reply is not None:  # ops already handed over still commit; only their reply is lost
                self.last_reply.cancel()

    def refusal_for(self, role: str | None) -> tuple[int, str] | None:
        if role is None:
            return CLOSE_UNAUTHORIZED, "this account no longer exists or is disabled"
        if self.actor.user_id != self.owner_id and not Actor(self.actor.user_id, role).is_staff:
            return CLOSE_NOT_FOUND, "no such session"
        return None

    async def catch_up(self, until: int | None = None) -> None:
        """Send every event after the last one delivered, from the database."""
        while until is None or self.delivered < until:
            page = await run_in_threadpool(self.service.history, self.actor, self.session_id, self.delivered,
                                           HISTORY_PAGE)
            for entry in page:
                await self.send_event(entry)
            if len(page) < HISTORY_PAGE:  # also ends the wait if the database has less than `until`
                return

    async def send_event(self, entry: dict[str, Any]) -> None:
        if entry["seq"] != self.delivered + 1:
            return
        if not self.actor.is_staff:
            entry = student_entry(entry)  # a staff note is pushed to the student's devices without its text
        # Flow control: at most `window` events in flight beyond the client's last ack.
        # Transports buffer writes without limit, so this is what bounds a stalled client.
        while self.delivered - self.acked >= self.live.window:
            self.ack_received.clear()
            await self.ack_received.wait()
        await self.send({"type": "event", **entry})
        self.delivered = entry["seq"]

    async def send_forever(self) -> None:
        # The backlog first (acks may be needed for it, so the receiver is already running).
        await self.catch_up()
        await self.send({"type": "state", **self.initial_state})
        self.live.metrics.resume_seconds.labels("socket").observe(time.perf_counter() - self.started)
        await self.send({"type": "ready", "last_seq": self.delivered})
        while True:
            kind, item = await self.mailbox.next()
            if await self.account_changed():
                return
            if kind == "change":
                change: SessionChange = item
                for entry in change.entries:
                    if entry.seq > self.delivered + 1:
                        await self.catch_up(until=entry.seq - 1)
                    await self.send_event(entry.as_dict())
                if change.state["last_seq"] > self.delivered:
                    await self.catch_up(until=change.state["last_seq"])
                await self.send({"type": "state", **change.state})
            elif kind == "poke" and item > self.delivered:
                await self.catch_up(until=item)
                state = await run_in_threadpool(self.service.live_state, self.actor, self.session_id)
                await self.send({"type": "state", **state})

    async def handle(self, request: dict[str, Any]) -> None:
        received = time.perf_counter()
        kind = request.get("type")
        if kind == "ack":
            seq = request.get("seq")
            if isinstance(seq, int) and self.acked < seq <= self.delivered:
                self.acked = seq
                self.ack_received.set()
            return
        if kind == "queue":  # how many ops the device holds unsent, for the proctor roster
            count = request.get("count")
            if type(count) is not int or not 0 <= count <= MAX_QUEUE_REPORT:
                await self.send(error_frame("invalid_request", f"count must be an integer from 0 to {MAX_QUEUE_REPORT}",
                                            request_id=request.get("id")))
            elif self.device is not None:
                self.live.report_queue(self.device, count)
            return
        if kind not in ("ops", "heartbeat"):
            return await super().handle(request)
        batch = request if kind == "ops" else {
            **request, "ops": [{"op_id": str(uuid.uuid4()), "type": "heartbeat",
                                "client_time": request.get("client_time", 0)}]}
        try:
            ops, device_id, sent_at = validate_batch(batch)
            if self.limits is not None:
                self.limits.check_ops(self.actor.user_id, len(ops), self.service.max_ops_per_batch)
        except DomainError as error:
            outcome: Any = error
        else:
            # Handed to the writer now, in arrival order; the next message is read while this one commits.
            outcome = asyncio.ensure_future(self.service.apply_ops_async(
                self.actor, self.session_id, ops, device_id=device_id, sent_at=sent_at, transport="socket"))
        self.last_reply = asyncio.create_task(
            self._reply_in_order(self.last_reply, request.get("id"), kind, received, outcome))

    async def _reply_in_order(self, previous: "asyncio.Task[None] | None", request_id: Any, kind: str,
                              received: float, outcome: "asyncio.Future[dict[str, Any]] | DomainError") -> None:
        if previous is not None:
            await asyncio.gather(previous, return_exceptions=True)
        try:
            if isinstance(outcome, DomainError):
                raise outcome
            result = await outcome
        except DomainError as error:
            await self.send(domain_error_frame(error, request_id))
            return
        except Exception:
            # As an HTTP 500: the client keeps its ops, reconnects and sends them again (exactly once).
            log.exception("applying ops from a live socket failed")
            with contextlib.suppress(Exception):
                await self.websocket.close(CLOSE_INTERNAL_ERROR, "internal error; reconnect and send again")
            return
        if kind == "ops":
            # Counted before the answer leaves, so a client that has its answer sees it counted.
            self.live.metrics.ack_seconds.labels("socket").observe(time.perf_counter() - received)
        await self.send({"type": "ack" if kind == "ops" else "heartbeat", "id": request_id, **result})


class _WatcherConnection(_Connection):
    kind = "test"

    def __init__(self, websocket: WebSocket, service: SessionService, live: Live, actor: Actor,
                 role_of: Callable[[str], str | None], test_id: str) -> None:
        super().__init__(websocket, service, live, actor, role_of)
        self.test_id = test_id

    def refusal_for(self, role: str | None) -> tuple[int, str] | None:
        if role is None:
            return CLOSE_UNAUTHORIZED, "this account no longer exists or is disabled"
        if not Actor(self.actor.user_id, role).is_staff:
            return CLOSE_FORBIDDEN, "this account may no longer watch a test"
        return None

    async def run(self, sessions: list[dict[str, Any]]) -> None:
        watcher = Watcher(self.test_id, self.mailbox)
        self.live.watch(watcher)
        try:
            await self.send({"type": "sessions", "sessions": [self._with_presence(s) for s in sessions]})
            await self._serve()
        finally:
            self.live.unwatch(watcher)

    def _with_presence(self, summary: dict[str, Any]) -> dict[str, Any]:
        return {**summary, "connected_devices": self.live.connected(summary["id"])}

    async def send_forever(self) -> None:
        while True:
            kind, item = await self.mailbox.next()
            if await self.account_changed(every_time=True):  # what it pushes is other students' work
                return
            session_id = item.session_id if kind == "change" else item
            rows = await run_in_threadpool(self.service.overview, self.actor, self.test_id, session_id)
            for row in rows:
                await self.send({"type": "session", **self._with_presence(row)})


def _request_id(message: str) -> Any:
    """The `id` of an oversized message, if it is JSON with one, so the client can match the refusal."""
    try:
        request = json.loads(message)
    except (ValueError, RecursionError):
        return None
    return request.get("id") if isinstance(request, dict) else None

