"""A student's device on the live socket: requests matched to their answers by id, events acknowledged."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from typing import Any

import websockets

from examsync.bench.students import Student, live_url

# Acknowledge pushed events in batches (the server's flow-control window is 512 by default),
# so acks stay far below the per-socket message limit.
ACK_EVERY_EVENTS = 64


class DeviceClosed(Exception):
    """The live socket closed while requests were waiting for their answers."""


class LiveDevice:
    def __init__(self, student: Student, base_url: str) -> None:
        self.student, self.base_url = student, base_url
        self.socket: Any = None
        self.reader: asyncio.Task[None] | None = None
        self.ids = itertools.count(1)
        self.waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.ready = asyncio.Event()
        self.last_seq = 0
        self.acked_seq = 0
        self.event_listeners: list[Any] = []
        self.closed_reason: str | None = None

    async def connect(self) -> "LiveDevice":
        self.socket = await websockets.connect(
            live_url(self.base_url, self.student.session_id), additional_headers=self.student.account.headers,
            open_timeout=60, max_queue=None,
        )
        self.reader = asyncio.create_task(self._read())
        ready = asyncio.create_task(self.ready.wait())
        await asyncio.wait({ready, self.reader}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
        if not self.ready.is_set():
            ready.cancel()
            raise DeviceClosed(f"the live socket did not become ready: {self.closed_reason or 'timed out'}")
        return self

    def on_event(self, listener: Any) -> None:
        """Call listener(message) for every pushed event."""
        self.event_listeners.append(listener)

    async def request(self, message: dict[str, Any]) -> dict[str, Any]:
        """Send a message with a fresh id and wait for the answer that carries it."""
        request_id = f"r{next(self.ids)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiting[request_id] = future
        try:
            if self.closed_reason is not None:
                raise DeviceClosed(self.closed_reason)
            await self.socket.send(json.dumps({**message, "id": request_id}))
            return await future
        finally:
            self.waiting.pop(request_id, None)

    async def _read(self) -> None:
        try:
            async for raw in self.socket:
                message = json.loads(raw)
                kind = message.get("type")
                if kind == "event":
                    self.last_seq = max(self.last_seq, message["seq"])
                    for listener in self.event_listeners:
                        listener(message)
                    if self.last_seq - self.acked_seq >= ACK_EVERY_EVENTS:
                        self.acked_seq = self.last_seq
                        await self.socket.send(json.dumps({"type": "ack", "seq": self.last_seq}))
                elif kind == "ready":
                    self.ready.set()
                elif message.get("id") in self.waiting:
                    future = self.waiting[message["id"]]
                    if not future.done():
                        future.set_result(message)
        except websockets.ConnectionClosed:
            pass
        finally:
            code = getattr(self.socket, "close_code", None)
            self.closed_reason = f"live socket closed (code {code})"
            for future in self.waiting.values():
                if not future.done():
                    future.set_exception(DeviceClosed(self.closed_reason))

    async def close(self) -> None:
        if self.socket is not None:
            with contextlib.suppress(Exception):
                await self.socket.close()
        if self.reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self.reader
