"""The hub: who is listening to which session on this instance, and their mailboxes.

Everything here runs on the event loop. Committed changes arrive from the
service's worker threads through `Live.on_change` (push after commit); notices
from other instances arrive through the broker. Each connection has a bounded
mailbox: a client that stops reading overflows it and is disconnected, and
resumes later from its last `seq` (nothing is lost: the log is in the
database).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from examsync.live.brokers import Broker, Notice
from examsync.metrics import AppMetrics
from examsync.domain.events import ChangeListener, SessionChange

log = logging.getLogger("examsync.live")

PRESENCE_REFRESH_SECONDS = 10.0


@dataclass(frozen=True)
class Signal:
    """Something happened to a session, here or on another instance: told to observers (the proctor roster).

    kind: "change" (committed), "presence" (its connected devices changed, or were counted again) or "queue"
    (a device reported how many ops it holds unsent: `queued`).
    """

    kind: str
    session_id: str
    test_id: str
    user_id: str
    queued: int = 0
    at: float = 0.0  # when it happened, seconds since the epoch


Observer = Callable[[Signal], None]


@dataclass
class Mailbox:
    """A connection's bounded queue of things to send."""

    limit: int
    on_overflow: Callable[[], None]
    items: deque[tuple[str, Any]] = field(default_factory=deque)
    overflowed: bool = False
    _ready: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, kind: str, item: Any) -> None:
        if self.overflowed:
            return
        if len(self.items) >= self.limit:
            self.overflowed = True
            self.items.clear()
            self.on_overflow()
            return
        self.items.append((kind, item))
        self._ready.set()

    async def next(self) -> tuple[str, Any]:
        while not self.items:
            self._ready.clear()
            await self._ready.wait()
        return self.items.popleft()


@dataclass(eq=False)  # each connection is its own: compared and hashed by identity
class Device:
    """A student's device listening to one session."""

    session_id: str
    test_id: str
    user_id: str
    mailbox: Mailbox


@dataclass(eq=False)
class Watcher:
    """A teacher or admin listening to every session of one test."""

    test_id: str
    mailbox: Mailbox


class Live:
    def __init__(self, listeners: list[ChangeListener], broker: Broker | None, *, metrics: AppMetrics | None = None,
                 mailbox_limit: int = 256, window: int = 512) -> None:
        # Where committed changes are announced (the service's listeners): joined on start, left on stop.
        self.listeners = listeners
        self.broker = broker
        self.metrics = metrics or AppMetrics()
        self.mailbox_limit = mailbox_limit
        self.window = window
        self.instance = uuid.uuid4().hex[:12]
        self.devices: dict[str, set[Device]] = {}
        self.watchers: dict[str, set[Watcher]] = {}
        # user_id -> what each of the account's open sockets on this instance wants called when it changes.
        self.accounts: dict[str, set[Callable[[], None]]] = {}
        # session_id -> instance -> (connected devices, when last heard), for the staff feed.
        self.presence: dict[str, dict[str, tuple[int, float]]] = {}
        # Told of every signal, on the event loop (the proctor roster watches through this).
        self.observers: list[Observer] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._refresher: asyncio.Task[None] | None = None
        # Read when /metrics is scraped, on the event loop like every change to these registries.
        self.metrics.live_connections.labels("session").set_function(lambda: _count(self.devices))
        self.metrics.live_connections.labels("test").set_function(lambda: _count(self.watchers))
        if broker is not None:
            self.metrics.broker_outbox.set_function(lambda: broker.pending)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.listeners.append(self.on_change)
        if self.broker is not None:
            await self.broker.start(self.on_notice)
            self._refresher = asyncio.create_task(self._refresh_presence_forever())

    async def stop(self) -> None:
        if self.on_change in self.listeners:
            self.listeners.remove(self.on_change)
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
        if self.broker is not None:
            await self.broker.stop()

    async def _refresh_presence_forever(self) -> None:
        # An instance that dies cannot say goodbye: its counts fade unless refreshed.
        while True:
            await asyncio.sleep(PRESENCE_REFRESH_SECONDS)
            for devices in list(self.devices.values()):
                self._presence_changed(next(iter(devices)))

    def mailbox(self, on_overflow: Callable[[], None]) -> Mailbox:
        return Mailbox(self.mailbox_limit, on_overflow)

    # ----- connections ---------------------------------------------------

    def attach(self, device: Device) -> None:
        self.devices.setdefault(device.session_id, set()).add(device)
        self._presence_changed(device)

    def detach(self, device: Device) -> None:
        _discard(self.devices, device.session_id, device)
        self._presence_changed(device)

    def watch(self, watcher: Watcher) -> None:
        self.watchers.setdefault(watcher.test_id, set()).add(watcher)

    def unwatch(self, watcher: Watcher) -> None:
        _discard(self.watchers, watcher.test_id, watcher)

    def follow_account(self, user_id: str, on_change: Callable[[], None]) -> None:
        self.accounts.setdefault(user_id, set()).add(on_change)

    def unfollow_account(self, user_id: str, on_change: Callable[[], None]) -> None:
        _discard(self.accounts, user_id, on_change)

    def account_changed(self, user_id: str) -> None:
        """An account was disabled, or its role changed (after commit): its sockets here and on every instance read
        it again now rather than at their next periodic check."""
        self._account_changed(user_id)
        if self.broker is not None:
            self.broker.publish(Notice(self.instance, "account", "", "", user_id))

    def _account_changed(self, user_id: str) -> None:
        for on_change in list(self.accounts.get(user_id, ())):
            on_change()

    def connected(self, session_id: str) -> int:
        fresh_since = time.monotonic() - 3 * PRESENCE_REFRESH_SECONDS
        return sum(count for count, seen in self.presence.get(session_id, {}).values()
                   if seen >= fresh_since)

    def _presence_changed(self, device: Device) -> None:
        count = len(self.devices.get(device.session_id, ()))
        self._set_presence(device.session_id, self.instance, count)
        for watcher in self.watchers.get(device.test_id, ()):
            watcher.mailbox.offer("presence", device.session_id)
        if self.broker is not None:
            self.broker.publish(Notice(self.instance, "presence", device.session_id, device.test_id,
                                       device.user_id, connected=count))
        self._observe(Signal("presence", device.session_id, device.test_id, device.user_id, at=time.time()))

    def report_queue(self, device: Device, queued: int) -> None:
        """A device says how many ops it holds unsent."""
        if self.broker is not None:
            self.broker.publish(Notice(self.instance, "queue", device.session_id, device.test_id, device.user_id,
                                       queued=queued))
        self._observe(Signal("queue", device.session_id, device.test_id, device.user_id, queued, time.time()))

    def _observe(self, signal: Signal) -> None:
        for observer in self.observers:
            try:
                observer(signal)
            except Exception:  # an observer's failure never breaks the feed of the others
                log.exception("a live observer failed on a %s signal", signal.kind)

    def _set_presence(self, session_id: str, instance: str, count: int) -> None:
        instances = self.presence.setdefault(session_id, {})
        if count:
            instances[instance] = (count, time.monotonic())
        else:
            instances.pop(instance, None)
            if not instances:
                del self.presence[session_id]

    # ----- changes -------------------------------------------------------

    def on_change(self, change: SessionChange) -> None:
        """Called after commit, from whichever thread committed."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._deliver, change)

    def _deliver(self, change: SessionChange) -> None:
        for device in self.devices.get(change.session_id, ()):
            device.mailbox.offer("change", change)
        for watcher in self.watchers.get(change.test_id, ()):
            watcher.mailbox.offer("change", change)
        if self.broker is not None:
            self.broker.publish(Notice(self.instance, "change", change.session_id, change.test_id,
                                       change.user_id, last_seq=change.state["last_seq"]))
        self._observe(Signal("change", change.session_id, change.test_id, change.user_id, at=time.time()))

    def on_notice(self, notice: Notice) -> None:
        """A notice through the broker: timed, then, if another instance sent it, acted on (what changed is read
        from the database)."""
        source = "self" if notice.instance == self.instance else "peer"
        self.metrics.broker_lag.labels(source).observe(max(0.0, time.time() - notice.sent_at))
        if source == "self":
            return
        if notice.kind == "account":
            self._account_changed(notice.user_id)
            return
        if notice.kind == "queue":
            self._observe(Signal("queue", notice.session_id, notice.test_id, notice.user_id, notice.queued,
                                 notice.sent_at))
            return
        if notice.kind == "presence":
            self._set_presence(notice.session_id, notice.instance, notice.connected)
        self._observe(Signal(notice.kind, notice.session_id, notice.test_id, notice.user_id, at=notice.sent_at))
        if notice.kind == "presence":
            for watcher in self.watchers.get(notice.test_id, ()):
                watcher.mailbox.offer("presence", notice.session_id)
            return
        for device in self.devices.get(notice.session_id, ()):
            device.mailbox.offer("poke", notice.last_seq)
        for watcher in self.watchers.get(notice.test_id, ()):
            watcher.mailbox.offer("poke", notice.session_id)


def _count(registry: dict[str, set[Any]]) -> int:
    return sum(len(listeners) for listeners in registry.values())


def _discard(registry: dict[str, set[Any]], key: str, item: Any) -> None:
    """Remove one listener, and its key once nobody listens there."""
    listeners = registry.get(key)
    if listeners is not None:
        listeners.discard(item)
        if not listeners:
            del registry[key]
