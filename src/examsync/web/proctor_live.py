"""The proctor roster over HTTP and live (protocol: docs/api.md, "Proctoring"). Annotations are evaluated at
once (no `from __future__ import annotations`): FastAPI reads them.

`GET /api/v1/assignments/{id}/roster` — one row per enrolled student, with presence.

`/api/v1/assignments/{id}/live?after_seq=N` — a teacher or admin: first the whole roster (or, resuming after a
`seq` of this instance's feed, the rows changed since), then each changed row as it changes, numbered in order
(live/roster.py). The socket shares the session socket's limits, close codes and message loop (web/live_connection.py);
the account is read again at most every `ACCOUNT_CHECK_MS`, as on the session socket, and a teacher who no
longer runs the class is closed with 4404.
"""


import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Response, WebSocket
from fastapi.concurrency import run_in_threadpool

from examsync.accounts import Accounts
from examsync.domain.errors import DomainError, ForbiddenError, NotFoundError
from examsync.live.hub import Live
from examsync.live.roster import RosterFeed
from examsync.services import SessionService
from examsync.services.roster import RosterService
from examsync.store.database import Actor
from examsync.web.auth import Auth
from examsync.web.limits import Limits
from examsync.web.live_connection import _Connection, refuse
from examsync.web.proctor_schemas import RosterRow
from examsync.web.protocol import (
    CLOSE_FORBIDDEN,
    CLOSE_NOT_FOUND,
    CLOSE_TOO_MANY_CONNECTIONS,
    CLOSE_UNAUTHORIZED,
)
from examsync.web.schemas import ErrorOut

API = "/api/v1"
# What `role_of` answers for a staff account that no longer runs the watched assignment's class.
NO_LONGER_ITS_STAFF = "-"


def proctor_routes(roster: RosterService, feed: RosterFeed, service: SessionService, accounts: Accounts, live: Live,
                   limits: Limits, auth: Auth, *, max_message_bytes: int = 1_048_576) -> APIRouter:
    router = APIRouter()

    @router.get(f"{API}/assignments/{{assignment_id}}/roster", response_model=list[RosterRow], tags=["proctoring"],
                responses={status: {"model": ErrorOut} for status in (401, 403, 404)})
    async def assignment_roster(assignment_id: str,
                                actor: auth.ActorDep) -> Response:
        """The assignment's students, one row each: their latest attempt, its progress and clock, and whether a
        device of theirs is connected now (teacher of the class, admin)."""
        rows = await run_in_threadpool(roster.rows, actor, assignment_id)
        # Rows the service built are sent as they are (the model documents them): validating 300 rows again
        # costs more than reading them.
        return Response(json.dumps([feed.with_presence(row) for row in rows], separators=(",", ":")),
                        media_type="application/json")

    @router.websocket(f"{API}/assignments/{{assignment_id}}/live")
    async def assignment_live(websocket: WebSocket, assignment_id: str, after_seq: int | None = None) -> None:
        header = websocket.headers.get("authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else websocket.query_params.get("token")
        if not token:
            await refuse(websocket, CLOSE_UNAUTHORIZED, "send a bearer token")
            return
        try:
            actor = await run_in_threadpool(accounts.authenticate, token)
        except DomainError as error:
            await refuse(websocket, CLOSE_UNAUTHORIZED, error.message)
            return
        try:
            watched = await run_in_threadpool(roster.watched, actor, assignment_id)
        except ForbiddenError:
            await refuse(websocket, CLOSE_FORBIDDEN, "only teachers and admins can proctor an assignment")
            return
        except NotFoundError:
            await refuse(websocket, CLOSE_NOT_FOUND, "no such assignment")
            return

        def role_of(user_id: str) -> str | None:
            role = accounts.role_of(user_id)
            if role is not None and Actor(user_id, role).is_staff:
                try:
                    roster.watched(Actor(user_id, role), assignment_id)
                except DomainError:
                    return NO_LONGER_ITS_STAFF
            return role

        if not limits.live_connections.acquire(actor.user_id):
            await refuse(websocket, CLOSE_TOO_MANY_CONNECTIONS, "too many live connections open for this user")
            return
        try:
            await websocket.accept()
            connection = _ProctorConnection(websocket, service, live, actor, role_of, feed, assignment_id)
            connection.limit(limits, max_message_bytes)
            await connection.run(watched, after_seq)
        finally:
            limits.live_connections.release(actor.user_id)

    return router


class _ProctorConnection(_Connection):
    kind = "assignment"

    def __init__(self, websocket: WebSocket, service: SessionService, live: Live, actor: Actor,
                 role_of: Callable[[str], str | None], feed: RosterFeed, assignment_id: str) -> None:
        super().__init__(websocket, service, live, actor, role_of)
        self.feed, self.assignment_id = feed, assignment_id

    def refusal_for(self, role: str | None) -> tuple[int, str] | None:
        if role is None:
            return CLOSE_UNAUTHORIZED, "this account no longer exists"
        if role == NO_LONGER_ITS_STAFF:
            return CLOSE_NOT_FOUND, "no such assignment"
        if not Actor(self.actor.user_id, role).is_staff:
            return CLOSE_FORBIDDEN, "this account may no longer proctor an assignment"
        return None

    async def run(self, watched: Any, after_seq: int | None) -> None:
        watcher = self.feed.join(self.actor, watched, self.assignment_id, self.mailbox, after_seq)
        try:
            await self._serve()
        finally:
            self.feed.leave(self.assignment_id, watcher)

    async def send_forever(self) -> None:
        while True:
            kind, item = await self.mailbox.next()
            if await self.account_changed():
                return
            if kind == "row":
                seq, row = item
                await self.send({"type": "roster_row", "seq": seq, "row": row})
            elif kind == "roster":
                rows, seq = item
                await self.send({"type": "roster", "rows": rows, "seq": seq})
            elif kind == "ready":
                await self.send({"type": "ready", "seq": item, "server_time": self.service.clock()})
            elif kind == "closed":
                self.account_refusal = (CLOSE_NOT_FOUND, "no such assignment")
                return
