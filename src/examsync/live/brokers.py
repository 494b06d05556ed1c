"""Fan-out between app instances: one small interface, three implementations.

A broker carries only *notices* ("session S has changed up to seq N", "this
instance now has K devices on session S"), never the events themselves: every
instance reads events from the database, which stays the one source of truth.
Notices are published after the write has committed and outside its
transaction, batched, so the answer path never waits on the broker (a
`pg_notify` inside the answer transaction takes a cluster-wide lock until
commit and cut our pgbench throughput by more than half).

- `MemoryBroker`: within one process (a single instance needs no broker; tests
  use it to stand for several instances).
- `PostgresBroker`: LISTEN/NOTIFY on the application's own PostgreSQL.
- `RedisBroker`: Redis pub/sub.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg
import redis.asyncio as aioredis
log = logging.getLogger("examsync.live")

CHANNEL = "examsync_live"
# NOTIFY payloads are limited to 8000 bytes; stay well under it.
MAX_PAYLOAD_BYTES = 7_000
# After a broken connection, wait this long before opening it again (and again, while the broker is down).
RECONNECT_PAUSE_S = 0.5


@dataclass(frozen=True)
class Notice:
    instance: str
    kind: str  # "change" | "presence" | "queue" | "account" (an account was disabled or its role changed: user_id)
    session_id: str
    test_id: str
    user_id: str
    last_seq: int = 0
    connected: int = 0
    queued: int = 0  # "queue": how many ops a device of the session reported it holds unsent
    # When it was published (seconds since the epoch): the receiver measures the broker's lag from it.
    sent_at: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Notice":
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


NoticeHandler = Callable[[Notice], Awaitable[None] | None]


class Broker(ABC):
    """Publish notices to every instance, and hand this instance the notices of the others."""

    def __init__(self) -> None:
        self._outbox: asyncio.Queue[Notice] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._handler: NoticeHandler | None = None

    async def start(self, handler: NoticeHandler) -> None:
        self._handler = handler
        self._outbox = asyncio.Queue()
        await self._connect_listener()
        await self._connect_publisher()
        self._tasks = [asyncio.create_task(self._publish_forever()), asyncio.create_task(self._receive_forever())]

    def publish(self, notice: Notice) -> None:
        """Queue a notice; never blocks and never raises into the caller."""
        if self._outbox is not None:
            self._outbox.put_nowait(notice)

    @property
    def pending(self) -> int:
        """Notices queued and not yet published."""
        return self._outbox.qsize() if self._outbox is not None else 0

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._disconnect_listener()
        await self._disconnect_publisher()

    async def _deliver(self, notice: Notice) -> None:
        assert self._handler is not None
        result = self._handler(notice)
        if asyncio.iscoroutine(result):
            await result

    async def _publish_forever(self) -> None:
        assert self._outbox is not None
        while True:
            batch = [await self._outbox.get()]
            while not self._outbox.empty() and len(batch) < 500:
                batch.append(self._outbox.get_nowait())
            try:
                await self._send([json.dumps(p) for p in _payloads(batch)])
            except asyncio.CancelledError:
                raise
            except Exception:  # clients recover by seq; the next notice carries the latest seq anyway
                log.exception("publishing %d live notices failed; reconnecting", len(batch))
                await self._reopen(self._disconnect_publisher, self._connect_publisher)

    async def _receive_forever(self) -> None:
        while True:
            try:
                async for payload in self._listen():
                    for item in json.loads(payload):
                        await self._deliver(Notice.from_json(item))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("listening for live notices failed; reconnecting")
            await self._reopen(self._disconnect_listener, self._connect_listener)

    async def _reopen(self, disconnect: Callable[[], Awaitable[None]], connect: Callable[[], Awaitable[None]]) -> None:
        """Open one direction's connection again, trying until the broker is back; the other direction's
        connection is left alone, so neither loop breaks the connection the other has just opened."""
        while True:
            await asyncio.sleep(RECONNECT_PAUSE_S)
            with contextlib.suppress(Exception):
                await disconnect()
            try:
                await connect()
            except Exception as error:
                log.warning("the live broker is not reachable yet: %s", error)
            else:
                return

    @abstractmethod
    async def _connect_listener(self) -> None: ...

    @abstractmethod
    async def _disconnect_listener(self) -> None: ...

    @abstractmethod
    async def _connect_publisher(self) -> None: ...

    @abstractmethod
    async def _disconnect_publisher(self) -> None: ...

    @abstractmethod
    async def _send(self, payloads: list[str]) -> None: ...

    @abstractmethod
    def _listen(self) -> Any: ...


def _payloads(batch: list[Notice]) -> list[list[dict[str, Any]]]:
    """Coalesce a batch (latest change per session wins) into payloads under the size limit."""
    latest: dict[tuple[str, str, str], Notice] = {}
    for notice in batch:
        key = (notice.kind, notice.session_id, notice.user_id)
        previous = latest.get(key)
        if previous is None or notice.kind == "presence" or notice.last_seq >= previous.last_seq:
            latest[key] = notice
    payloads: list[list[dict[str, Any]]] = [[]]
    size = 2
    for notice in latest.values():
        item = notice.to_json()
        item_size = len(json.dumps(item)) + 1
        if size + item_size > MAX_PAYLOAD_BYTES and payloads[-1]:
            payloads.append([])
            size = 2
        payloads[-1].append(item)
        size += item_size
    return payloads


class MemoryBroker(Broker):
    """Connects the brokers of one process that share a bus name."""

    _buses: dict[str, list["MemoryBroker"]] = {}

    def __init__(self, bus: str = "default") -> None:
        super().__init__()
        self.bus = bus
        self._inbox: asyncio.Queue[str] = asyncio.Queue()

    async def _connect_listener(self) -> None:
        members = self._buses.setdefault(self.bus, [])
        if self not in members:
            members.append(self)

    async def _disconnect_listener(self) -> None:
        members = self._buses.get(self.bus, [])
        if self in members:
            members.remove(self)

    async def _connect_publisher(self) -> None:
        pass  # the bus is in memory: nothing to open

    async def _disconnect_publisher(self) -> None:
        pass

    async def _send(self, payloads: list[str]) -> None:
        for member in list(self._buses.get(self.bus, [])):
            for payload in payloads:
                member._inbox.put_nowait(payload)

    async def _listen(self) -> Any:
        while True:
            yield await self._inbox.get()


class PostgresBroker(Broker):
    """LISTEN/NOTIFY: one listening connection and one publishing connection per instance."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url.replace("postgresql+psycopg://", "postgresql://")
        self._listener: Any = None
        self._publisher: Any = None

    async def _connect_listener(self) -> None:
        self._listener = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
        await self._listener.execute(f"LISTEN {CHANNEL}")

    async def _disconnect_listener(self) -> None:
        await _quietly(self._listener and self._listener.close)

    async def _connect_publisher(self) -> None:
        self._publisher = await psycopg.AsyncConnection.connect(self.url, autocommit=False)

    async def _disconnect_publisher(self) -> None:
        await _quietly(self._publisher and self._publisher.close)

    async def _send(self, payloads: list[str]) -> None:
        # One transaction for the whole batch: the notify lock is taken once per batch.
        async with self._publisher.transaction():
            for payload in payloads:
                await self._publisher.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))

    async def _listen(self) -> Any:
        async for notify in self._listener.notifies():
            yield notify.payload


class RedisBroker(Broker):
    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self._client: Any = None
        self._subscriber: Any = None
        self._pubsub: Any = None

    async def _connect_listener(self) -> None:
        self._subscriber = aioredis.from_url(self.url)
        self._pubsub = self._subscriber.pubsub(ignore_subscribe_messages=True)
        await self._pubsub.subscribe(CHANNEL)

    async def _disconnect_listener(self) -> None:
        await _quietly(self._pubsub and self._pubsub.aclose)
        await _quietly(self._subscriber and self._subscriber.aclose)

    async def _connect_publisher(self) -> None:
        self._client = aioredis.from_url(self.url)

    async def _disconnect_publisher(self) -> None:
        await _quietly(self._client and self._client.aclose)

    async def _send(self, payloads: list[str]) -> None:
        async with self._client.pipeline(transaction=False) as pipe:
            for payload in payloads:
                pipe.publish(CHANNEL, payload)
            await pipe.execute()

    async def _listen(self) -> Any:
        async for message in self._pubsub.listen():
            if message.get("type") == "message":
                data = message["data"]
                yield data.decode() if isinstance(data, bytes) else data


async def _quietly(close: Callable[[], Awaitable[Any]] | None) -> None:
    """Close a connection that may be broken already (or was never opened): failing to is no news."""
    if close is not None:
        with contextlib.suppress(Exception):
            await close()


def broker_for(url: str) -> Broker | None:
    """The broker an `EXAMSYNC_BROKER_URL` names; None (single instance) when empty."""
    if not url:
        return None
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisBroker(url)
    if url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        return PostgresBroker(url.replace("postgres://", "postgresql://", 1))
    if url.startswith("memory://"):
        return MemoryBroker(url[len("memory://"):] or "default")
    raise ValueError(f"EXAMSYNC_BROKER_URL must start with redis:// or postgresql://, got {url!r}")
