"""A student's device on the session socket (`/api/v1/sessions/{id}/live`): the backlog after `after_seq`, then live
events in `seq` order with flow control by acks; ops and heartbeats sent over the socket, answered in order."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable
from typing import Any

from fastapi import WebSocket
from fastapi.concurrency import run_in_threadpool

from examsync.domain.errors import DomainError
from examsync.domain.events import SessionChange
from examsync.domain.staff_ops import student_entry
from examsync.live.hub import Device, Live
from examsync.services import SessionService
from examsync.store.database import Actor
from examsync.web.live_connection import _Connection, log
from examsync.web.protocol import (
    CLOSE_INTERNAL_ERROR,
    CLOSE_NOT_FOUND,
    CLOSE_UNAUTHORIZED,
    domain_error_frame,
    error_frame,
    validate_batch,
)

MAX_QUEUE_REPORT = 1_000_000
HISTORY_PAGE = 500


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
