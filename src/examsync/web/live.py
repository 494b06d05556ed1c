"""The live WebSocket endpoints (protocol: docs/api.md, "Live updates"), and the staff feed's connection.

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

What both sockets share is in `live_connection.py`; a student's device's connection in `live_device.py`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, WebSocket
from fastapi.concurrency import run_in_threadpool

from examsync.accounts import Accounts
from examsync.domain.errors import DomainError, NotFoundError
from examsync.live.hub import Live, Watcher
from examsync.services import SessionService
from examsync.store.database import Actor
from examsync.settings import Settings
from examsync.web import schemas
from examsync.web.limits import Limits
from examsync.web.live_connection import _Connection, refuse
from examsync.web.live_device import _DeviceConnection
from examsync.web.protocol import (
    CLOSE_FORBIDDEN,
    CLOSE_NOT_FOUND,
    CLOSE_TOO_MANY_CONNECTIONS,
    CLOSE_UNAUTHORIZED,
)

API = "/api/v1"


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

